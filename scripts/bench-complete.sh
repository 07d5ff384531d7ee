#!/usr/bin/env bash
# Tab-completion latency against a store of 1,000 containers: creates the records with
# `kiste create` (none started), then times with hyperfine the call the bash script makes
# at tab time (`COMPLETE=bash kiste -- kiste rm ''`), for all containers (rm), stopped
# ones (start), running ones (stop) and image references (run). Target: under 100 ms.
# Usage: scripts/bench-complete.sh [COUNT]   (default 1000)
# KISTE_BIN=path uses that binary instead of building the static one.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
export DEBIAN_FRONTEND=noninteractive
need=()
for p in hyperfine busybox-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if ((${#need[@]})); then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
bin=${KISTE_BIN:-$PWD/$(bash scripts/build-static.sh)}
work=$(mktemp -d /tmp/kiste-bench-complete.XXXXXX)
trap 'rm -rf "$work"' EXIT

rootfs=$work/rootfs
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
chroot "$rootfs" /bin/busybox --install -s /bin
tar -C "$rootfs" -cf "$work/rootfs.tar" .
export KISTE_ROOT=$work/root KISTE_RUNROOT=$work/run
"$bin" import "$work/rootfs.tar" bench-busybox >/dev/null
echo "creating $count containers…" >&2
start=$(date +%s)
for i in $(seq 1 "$count"); do
  "$bin" create --name "c$i" bench-busybox true >/dev/null
done
echo "created in $(($(date +%s) - start)) s" >&2

# What the bash script runs at tab time (see `kiste completion bash`).
tab() { printf '%s' "env COMPLETE=bash _CLAP_IFS=, _CLAP_COMPLETE_INDEX=2 $bin -- kiste $1 ''"; }
n=$("$bin" ps -aq | wc -l)
got=$(eval "$(tab rm)" | tr ',' '\n' | grep -c '^c[0-9]')
echo "store: $n containers; 'kiste rm <TAB>' offers $got of them" >&2
[ "$got" -eq "$count" ] || { echo "error: expected $count candidates" >&2; exit 1; }
hyperfine -N -w 3 -r 30 --export-json "$work/complete.json" \
  -n "rm <TAB> (all)" "$(tab rm)" \
  -n "start <TAB> (stopped)" "$(tab start)" \
  -n "stop <TAB> (running)" "$(tab stop)" \
  -n "run <TAB> (images)" "$(tab run)"
python3 - "$work/complete.json" <<'EOF'
import json, sys
worst = 0
for r in json.load(open(sys.argv[1]))["results"]:
    ms = r["median"] * 1000
    worst = max(worst, ms)
    print(f"{r['command']:<24} median {ms:6.1f} ms")
print(("PASS" if worst < 100 else "FAIL") + f": slowest median {worst:.1f} ms (target < 100 ms)")
sys.exit(0 if worst < 100 else 1)
EOF
