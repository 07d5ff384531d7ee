#!/usr/bin/env bash
# Pull time from a local registry, side by side in one run: a ~130 MB image of 4 layers
# (busybox, 48 MB random, 40 MB compressible text, 40 MB random) pulled into an empty
# store by kiste, podman and docker. Prints each median and its ratio to kiste's.
# Needs root; installs what is missing; starts its own docker-registry on a free port.
# Usage: scripts/bench-pull.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
export DEBIAN_FRONTEND=noninteractive
need=()
for p in hyperfine podman runc docker.io docker-registry busybox-static python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if ((${#need[@]})); then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
source scripts/lib/podman-conf.sh
bin=$PWD/$(bash scripts/build-static.sh)
work=$(mktemp -d /tmp/kiste-bench-pull.XXXXXX)
registry_pid=""
image=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  [ -n "$image" ] && docker rmi -f "$image" >/dev/null 2>&1 || true
  podman --root "$work/podman" --runroot "$work/podman-run" rmi -af >/dev/null 2>&1 || true
  umount -R "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
CONF
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
image=127.0.0.1:$port/bench/pull:1

# The image, built and pushed by kiste.
ctx=$work/ctx
mkdir -p "$ctx"
cp /bin/busybox "$ctx/busybox"
head -c 48M /dev/urandom >"$ctx/random1"
seq 1 6000000 | head -c 40M >"$ctx/text" || true  # seq ends on SIGPIPE
head -c 40M /dev/urandom >"$ctx/random2"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
COPY random1 /data/random1
COPY text /data/text
COPY random2 /data/random2
CMD ["/bin/busybox", "sh"]
DF
k=("$bin" --root "$work/kiste" --runroot "$work/kiste-run")
"${k[@]}" build -q -t "$image" "$ctx" >/dev/null
"${k[@]}" push -q "$image" >/dev/null
rm -rf "$work/kiste" "$work/kiste-run"

cmds=("kiste|${k[*]} pull -q $image")
prepare=("rm -rf $work/kiste $work/kiste-run")
p=(podman --root "$work/podman" --runroot "$work/podman-run")
if "${p[@]}" info >/dev/null 2>&1; then
  cmds+=("podman|${p[*]} pull -q --tls-verify=false $image")
  prepare+=("${p[*]} rmi -af")
fi
if docker info >/dev/null 2>&1; then
  cmds+=("docker|docker pull -q $image")
  prepare+=("docker rmi -f $image")
fi

args=()
for i in "${!cmds[@]}"; do
  c=${cmds[$i]}
  args+=(--prepare "${prepare[$i]} >/dev/null 2>&1 || true" -n "${c%%|*}" "${c#*|}")
done
hyperfine -w 1 -r "$runs" --export-json "$work/result.json" "${args[@]}" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = next(x for x in r if x["command"] == "kiste")["median"]
print(f"{'tool':10} {'median':>9} {'min':>9}   ratio to kiste")
for x in r:
    print(f"{x['command']:10} {x['median']:8.2f}s {x['min']:8.2f}s   {x['median']/base:6.2f}x")
PY
