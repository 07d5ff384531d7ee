#!/usr/bin/env bash
# Container start time, side by side in one run: `run --rm --network none IMG true` with
# kiste, podman and docker, `runc run`, `crun run` and `kiste oci run` of one prepared
# bundle (the same tree), and the floor (`unshare … chroot`); kiste also on its default
# bridge network, with and without a published port. crun refuses cgroup v1/hybrid hosts:
# then its row is left out and the reason printed.
# Prints each median and its ratio to kiste's. Needs root; installs what is missing.
# Usage: scripts/bench-start.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
export DEBIAN_FRONTEND=noninteractive
need=()
for p in hyperfine podman runc crun docker.io busybox-static python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if ((${#need[@]})); then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi
source scripts/lib/podman-conf.sh
bin=$PWD/$(bash scripts/build-static.sh)
work=$(mktemp -d /tmp/kiste-bench.XXXXXX)
run=$(mktemp -d /run/kiste-bench.XXXXXX) # run roots on tmpfs, as the tools' defaults are
started_dockerd=""
cleanup() {
  [ -n "$started_dockerd" ] && kill "$started_dockerd" 2>/dev/null || true
  podman --root "$work/podman" --runroot "$run/podman" rmi -af >/dev/null 2>&1 || true
  umount -R "$work" "$run" 2>/dev/null || true
  rm -rf "$work" "$run"
}
trap cleanup EXIT

# One busybox tree for everybody.
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
chroot "$rootfs" /bin/busybox --install -s /bin
tar -C "$rootfs" -cf "$work/rootfs.tar" .

k=("$bin" --root "$work/kiste" --runroot "$run/kiste")
"${k[@]}" import "$work/rootfs.tar" bench-busybox >/dev/null
p=(podman --root "$work/podman" --runroot "$run/podman")
"${p[@]}" import "$work/rootfs.tar" bench-busybox >/dev/null 2>&1 || p=()
if ! docker info >/dev/null 2>&1; then
  (dockerd >"$work/dockerd.log" 2>&1 &) ; sleep 0.5
  started_dockerd=$(pgrep -n dockerd || true)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
fi
docker import "$work/rootfs.tar" bench-busybox >/dev/null 2>&1 || true

(cd "$work/bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
c["root"]["readonly"] = False
json.dump(c, open("config.json", "w"))
PY
)

cmds=(
  "kiste|${k[*]} run --rm --network none bench-busybox true"
  "kiste (default bridge)|${k[*]} run --rm bench-busybox true"
  "kiste (bridge, -p)|${k[*]} run --rm -p 127.0.0.1::80 bench-busybox true"
  "floor (unshare+chroot)|unshare --pid --fork --mount --uts --ipc --net chroot $rootfs /bin/true"
  "runc|runc --root $run/runc run -b $work/bundle bench"
  "kiste oci|$bin oci --root $run/kiste-oci run -b $work/bundle bench"
)
# crun in the same run when it can start the bundle on this host.
if crun_err=$(crun --root "$run/crun" run -b "$work/bundle" bench-probe 2>&1); then
  cmds+=("crun|crun --root $run/crun run -b $work/bundle bench")
else
  echo "crun: left out, it cannot run here: ${crun_err:-exit status $?}" >&2
fi
((${#p[@]})) && cmds+=("podman|${p[*]} run --rm --network none bench-busybox true")
docker image inspect bench-busybox >/dev/null 2>&1 && cmds+=("docker|docker run --rm --network none bench-busybox true")

args=()
for c in "${cmds[@]}"; do args+=(-n "${c%%|*}" "${c#*|}"); done
hyperfine -N -w 3 -r "$runs" --export-json "$work/result.json" "${args[@]}" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = next(x for x in r if x["command"] == "kiste")["median"]
print(f"{'tool':26} {'median':>10} {'min':>10}   ratio to kiste")
for x in r:
    print(f"{x['command']:26} {x['median']*1000:8.1f}ms {x['min']*1000:8.1f}ms   {x['median']/base:6.2f}x")
PY
