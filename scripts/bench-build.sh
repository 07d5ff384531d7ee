#!/bin/sh
# Build speed: kiste vs podman vs docker on (1) the seed's Dockerfile (testdata/apache2sample)
# without cache and (2) with cache, and (3) a Dockerfile with three RUN steps plus ENV and
# WORKDIR (no cache). Uses hyperfine when installed, else a date +%s%N loop. A missing
# tool is skipped with a note. Targets: seed ≤ 30 ms cold, ≤ 10 ms cached; 3×RUN ≤ 120 ms.
# Usage: scripts/bench-build.sh [KISTE_BINARY]   (default: the static build, made if missing)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
KISTE=${1:-$here/$(bash "$here/scripts/build-static.sh")}
RUNS=${RUNS:-10}
work=$(mktemp -d /tmp/kiste-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
K="$KISTE --root $work/kroot --runroot $work/krun"

# The busybox base, built the same way for each tool.
mkdir -p "$work/bb" "$work/three"
cp /bin/busybox "$work/bb/"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' > "$work/bb/Dockerfile"
printf 'FROM busybox\nENV GREETING=hi\nWORKDIR /app\nRUN echo $GREETING > a\nRUN cat a > b\nRUN ls > c\n' > "$work/three/Dockerfile"
seed="$here/testdata/apache2sample"

have() { command -v "$1" >/dev/null 2>&1; }

# median_ms NAME CMD: prints and records the median wall time in ms.
median_ms() {
  name=$1; shift
  if have hyperfine; then
    hyperfine -N -w 2 -r "$RUNS" --export-json "$work/h.json" "$*" >/dev/null 2>&1 || { echo "  $name: FAILED"; echo NA; return; }
    python3 -c "import json;print('%.1f'%(json.load(open('$work/h.json'))['results'][0]['median']*1000))"
  else
    i=0; : > "$work/t"
    while [ $i -lt "$RUNS" ]; do
      s=$(date +%s%N); sh -c "$*" >/dev/null 2>&1; e=$(date +%s%N)
      echo $(( (e - s) / 1000 )) >> "$work/t"; i=$((i + 1))
    done
    sort -n "$work/t" | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
  fi
}

results=""
bench_tool() {
  tool=$1; build=$2
  cold=$(median_ms "$tool seed cold" "$build --no-cache -q $seed")
  warm=$(median_ms "$tool seed cached" "$build -q $seed")
  three=$(median_ms "$tool three-RUN" "$build --no-cache -q $work/three")
  printf '%-8s seed cold %8s ms   seed cached %8s ms   three-RUN %8s ms\n' "$tool" "$cold" "$warm" "$three"
  results="$results$tool $cold $warm $three
"
}

if [ -x "$KISTE" ]; then
  $K build -q -t busybox "$work/bb" >/dev/null
  bench_tool kiste "$K build"
else
  echo "note: $KISTE not found; kiste skipped"
fi
if have podman && [ -f /etc/containers/containers.conf ]; then
  P="podman --root $work/proot --runroot $work/prun"
  $P build -q -t busybox "$work/bb" >/dev/null
  bench_tool podman "$P build"
else
  echo "note: podman missing or /etc/containers/containers.conf absent (see RECIPES.md); podman skipped"
fi
if have docker && docker info >/dev/null 2>&1; then
  DOCKER_BUILDKIT=0 docker build -q -t busybox "$work/bb" >/dev/null
  bench_tool docker "env DOCKER_BUILDKIT=0 docker build"
else
  echo "note: docker missing or dockerd not running; docker skipped"
fi

# Ratios against kiste (tool time / kiste time: > 1 means kiste is faster).
echo "$results" | awk '
  $1 == "kiste" { kc = $2; kw = $3; kt = $4 }
  { row[NR] = $0 }
  END {
    if (kc == "") exit
    for (i = 1; i <= NR; i++) { split(row[i], f, " "); if (f[1] == "" || f[1] == "kiste") continue
      printf "%-8s / kiste: seed cold %.1fx   seed cached %.1fx   three-RUN %.1fx\n", f[1], f[2]/kc, f[3]/kw, f[4]/kt }
    printf "targets: seed cold %s (<= 30 ms), seed cached %s (<= 10 ms), three-RUN %s (<= 120 ms)\n",
      (kc <= 30 ? "met" : "MISSED"), (kw <= 10 ? "met" : "MISSED"), (kt <= 120 ? "met" : "MISSED") }'
