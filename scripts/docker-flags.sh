#!/bin/sh
# Writes testdata/docker-flags/flags.tsv: every long flag of every docker command outside
# swarm, as docker's own CLI (28.x, first on the PATH) lists it in `docker CMD --help` and
# `docker CMD SUB --help`. No daemon is needed. Columns: command, flag, takes-value
# ("value" when the help names a type after the flag, else "bool"). The first line records
# `docker --version`. tests/docker_flags.rs reads it next to coverage.tsv.
#
#   scripts/docker-flags.sh [DOCKER]     (default: docker)
set -eu
DOCKER=${1:-docker}
cd "$(dirname "$0")/.."
OUT=testdata/docker-flags/flags.tsv
mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT

# The names under a "HEADING:" block of a help text, up to the next blank line.
section() {
    awk -v h="$2" '$0 == h {on=1; next} on && /^$/ {on=0} on && /^  [a-z]/ {print $1}' "$1"
}

HELP=$(mktemp)
trap 'rm -f "$TMP" "$HELP"' EXIT

# One command path: its flags, then (for a management command) each subcommand's.
walk() {
    # shellcheck disable=SC2086
    $DOCKER $1 --help >"$HELP" 2>/dev/null || true
    awk -v cmd="$1" '
        /^Options:$/ {on=1; next}
        on && /^[A-Z]/ {on=0}
        on && /^  +(-[a-zA-Z], )?--[a-z0-9-]+/ {
            line=$0; sub(/^ +(-[a-zA-Z], )?--/, "", line)
            split(line, w, " ")
            flag=w[1]
            # A type word (string, list, int, duration…) follows a flag that takes a value;
            # two spaces or more start the description.
            rest=substr(line, length(flag)+1)
            kind = (rest ~ /^ [a-zA-Z0-9]/) ? "value" : "bool"
            if (flag != "help") print cmd "\t--" flag "\t" kind
        }' "$HELP" >>"$TMP"
    subs=$( (section "$HELP" "Commands:"; section "$HELP" "Management Commands:") | sort -u)
    for s in $subs; do
        walk "$1 $s"
    done
}

# Swarm's commands (docker --help's "Swarm Commands:") are left out, and so are the CLI
# plugins (buildx, compose), which have their own tables.
TOP=$($DOCKER --help >"$HELP"; for h in "Common Commands:" "Management Commands:" "Commands:"; do section "$HELP" "$h"; done | sort -u)
for c in $TOP; do
    case $c in buildx | compose) continue ;; esac
    walk "$c"
done

{
    printf '# %s\n' "$($DOCKER --version)"
    printf 'command\tflag\ttakes-value\n'
    sort -u "$TMP"
} >"$OUT"
echo "wrote $OUT: $(($(wc -l <"$OUT") - 2)) flags" >&2
