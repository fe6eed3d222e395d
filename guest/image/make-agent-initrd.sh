#!/usr/bin/env bash
# guest/image/make-agent-initrd.sh TEST_GUEST_DIR HCS_GUEST HCS_GUEST_HOSTILE OUT — the agent test guest's
# initrd: the test guest's busybox initramfs (initrd-poweroff.gz from scripts/make-test-guest.sh), its
# virtio-serial modules overlay, and an overlay with the agent, the hostile test agent, /etc/passwd and
# an /init that replaces the poweroff one (later archives in one initrd overwrite earlier files).
#
# /init: mounts proc, sys, devtmpfs, devpts, tmpfs /tmp; loads virtio-serial and pvpanic, then the disk,
# network and balloon modules (virtio-devices-modules.cpio.gz); brings up lo; links /dev/virtio-ports/<name>
# (no udev here); prints "HCS-TEST-GUEST: agent"; runs every executable in /etc/hcs-guest/start.d/ (the
# benchmark's qemu-ga overlay puts one there); then runs the agent in a loop, so an agent that dies is
# started again within 0.2 s. With "hcs.hostile=MODE" on the kernel command line it runs
# `hcs-guest-hostile MODE` (in the same loop) instead.
set -euo pipefail

guest=${1:?usage: make-agent-initrd.sh TEST_GUEST_DIR HCS_GUEST HCS_GUEST_HOSTILE OUT}
agent=${2:?}
hostile=${3:?}
out=${4:?}
die() {
  echo "make-agent-initrd: $*" >&2
  exit 1
}
for f in initrd-poweroff.gz virtio-serial-modules.cpio.gz crash-modules.cpio.gz virtio-devices-modules.cpio.gz; do
  [ -s "$guest/$f" ] || die "$guest/$f is missing: run scripts/make-test-guest.sh"
done
command -v cpio >/dev/null || die "cpio is missing (scripts/install-deps.sh)"

work=$(mktemp -d /tmp/make-agent-initrd.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree="$work/tree"
mkdir -p "$tree"/{bin,etc/hcs-guest/start.d,tmp,root,home/hcsuser,usr/share/udhcpc}
# busybox udhcpc's hook: configures the address and default route it leased (`udhcpc -i eth0`).
cat >"$tree/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done ;;
esac
exit 0
DHCP
chmod 0755 "$tree/usr/share/udhcpc/default.script"
strip -o "$tree/bin/hcs-guest" "$agent"
strip -o "$tree/bin/hcs-guest-hostile" "$hostile"
cat >"$tree/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
hcsuser:x:1000:1000:hostcompute test user:/home/hcsuser:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$tree/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
hcsuser:x:1000:
nogroup:x:65534:
GROUP
cat >"$tree/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /var/run
mount -t devpts devpts /dev/pts -o gid=5,mode=620,ptmxmode=666
mount -t tmpfs tmpfs /tmp
hostname hcs-guest
while read -r m; do
  insmod "/lib/modules/virtio-serial/$m.ko" || echo "HCS-TEST-GUEST: insmod $m failed" >/dev/console
done </lib/modules/virtio-serial/load-order
while read -r m; do
  insmod "/lib/modules/crash/$m.ko" || echo "HCS-TEST-GUEST: insmod $m failed" >/dev/console
done </lib/modules/crash/load-order
while read -r m; do
  insmod "/lib/modules/virtio-devices/$m.ko" || echo "HCS-TEST-GUEST: insmod $m failed" >/dev/console
done </lib/modules/virtio-devices/load-order
ip link set lo up
# The ports appear once virtio_console has probed; link them by name like udev does.
tries=0
while [ ! -e /sys/class/virtio-ports ] && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] && ln -sf "../${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done
echo "HCS-TEST-GUEST: agent" >/dev/console
for s in /etc/hcs-guest/start.d/*; do
  [ -x "$s" ] && "$s" </dev/null >/dev/console 2>&1
done
mode=$(sed -n 's/.*hcs\.hostile=\([a-z]*\).*/\1/p' /proc/cmdline)
while true; do
  if [ -n "$mode" ]; then
    /bin/hcs-guest-hostile "$mode" </dev/null >/dev/console 2>&1
  else
    /bin/hcs-guest </dev/null >/dev/console 2>&1
  fi
  echo "HCS-TEST-GUEST: agent exited ($?), restarting" >/dev/console
  sleep 0.2
done
INIT
chmod 0755 "$tree/init"
(cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
  gzip -9n >"$work/agent.cpio.gz"
cat "$guest/initrd-poweroff.gz" "$guest/virtio-serial-modules.cpio.gz" "$guest/crash-modules.cpio.gz" \
  "$guest/virtio-devices-modules.cpio.gz" \
  "$work/agent.cpio.gz" >"$out.tmp"
mv -f "$out.tmp" "$out"
