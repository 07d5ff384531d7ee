#!/usr/bin/env bash
# The start ratio against runc on cgroup v2 (issue 17): this host is cgroup v1, so both
# run inside the qemu VM the tests already boot (Debian's kernel, TCG: no KVM, which
# slows kiste and runc alike). In the VM: `kiste run --rm --network none IMG true` and
# `runc run` of a bundle with the same busybox tree, in alternating rounds of N starts
# each; a round's time is read from /proc/uptime (10 ms ticks, so a round is N starts).
# Prints one tab-separated line per tool (row, tool, median, min, max of the per-start
# mean of each round, unit), as scripts/bench records them: `scripts/bench --only 8`
# prints them in its table with runc's median divided by kiste's. Alone:
# Usage: scripts/bench-v2-qemu.sh KISTE_STATIC_BINARY [ROUNDS [STARTS_PER_ROUND]]
# Needs root, qemu-system-x86, linux-image-amd64, runc, busybox-static, cpio, python3.
set -euo pipefail
kiste=$(readlink -f "$1")
rounds=${2:-5} per=${3:-10}
kernel=$(ls /boot/vmlinuz-* | sort | tail -1)
release=${kernel##*/vmlinuz-}
runc=$(command -v runc)
work=$(mktemp -d /tmp/kiste-bench-v2.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/initrd
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,usr/bin,bundle/rootfs/bin,bundle/rootfs/tmp}

# The initramfs: busybox, kiste, runc with the libraries it loads, overlayfs' module,
# the busybox tree as a runc bundle and as a tar for `kiste import`.
cp /bin/busybox "$root/bin/busybox"
cp "$kiste" "$root/kiste"
cp "$runc" "$root/usr/bin/runc"
for lib in $(ldd "$runc" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "/lib/modules/$release/kernel/fs/overlayfs/overlay.ko" "$root/overlay.ko"
cp /bin/busybox "$root/bundle/rootfs/bin/busybox"
chroot "$root/bundle/rootfs" /bin/busybox --install -s /bin
tar -C "$root/bundle/rootfs" -cf "$root/rootfs.tar" .
(cd "$root/bundle" && "$runc" spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
c["root"]["readonly"] = False
json.dump(c, open("config.json", "w"))
PY
)
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# pivot_root cannot leave the initramfs itself: move onto a tmpfs first.
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=400m tmpfs /newroot
/bin/busybox cp -a /bin /etc /usr /lib /lib64 /bundle /kiste /overlay.ko /rootfs.tar /stage2 /newroot/ 2>/dev/null
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
exec /bin/busybox switch_root /newroot /stage2
EOF
cat >"$root/stage2" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
insmod /overlay.ko
touch /etc/resolv.conf /etc/hosts
K="/kiste --root /run/k --runroot /run/k-run"
$K import /rootfs.tar bb >/dev/null || echo "KISTE-BENCH-ERROR import"
# One warm-up start each; a failure is reported instead of timed.
$K run --rm --network none bb true || echo "KISTE-BENCH-ERROR kiste"
runc --root /run/runc run -b /bundle warm || echo "KISTE-BENCH-ERROR runc"
ticks() { read up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
r=0
while [ $r -lt ROUNDS ]; do
  t0=$(ticks); i=0
  while [ $i -lt PER ]; do $K run --rm --network none bb true; i=$((i + 1)); done
  t1=$(ticks); i=0
  while [ $i -lt PER ]; do runc --root /run/runc run -b /bundle b$i; i=$((i + 1)); done
  t2=$(ticks)
  echo "KISTE-BENCH kiste $(((t1 - t0) * 10)) runc $(((t2 - t1) * 10))"
  r=$((r + 1))
done
echo "KISTE-BENCH-DONE"
poweroff -f
EOF
sed -i "s/ROUNDS/$rounds/; s/PER\b/$per/" "$root/stage2"
chmod 755 "$root/init" "$root/stage2"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initrd.cpio"

timeout 1200 qemu-system-x86_64 -m 1024 -smp 2 -nographic -no-reboot -nodefaults \
  -serial stdio -kernel "$kernel" -initrd "$work/initrd.cpio" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1" </dev/null >"$work/console" 2>&1 || true
grep -a "KISTE-BENCH-ERROR" "$work/console" >&2 || true
grep -aq "KISTE-BENCH-DONE" "$work/console" || {
  echo "scripts/bench-v2-qemu.sh: the VM did not finish; its console:" >&2
  tail -30 "$work/console" >&2
  exit 1
}
grep -ao "KISTE-BENCH kiste [0-9]* runc [0-9]*" "$work/console" | python3 -c "
import statistics, sys
per = $per
rows = {'kiste': [], 'runc': []}
for line in sys.stdin:
    w = line.split()
    rows['kiste'].append(int(w[2]) / per)
    rows['runc'].append(int(w[4]) / per)
for tool, t in rows.items():
    m = statistics.median(t)
    print(f'8 run --rm --network none, cgroup v2 VM (TCG)\t{tool}\t{m:.2f}\t{min(t):.2f}\t{max(t):.2f}\tms')
"
