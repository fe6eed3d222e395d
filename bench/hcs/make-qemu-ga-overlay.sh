#!/usr/bin/env bash
# bench/hcs/make-qemu-ga-overlay.sh OUT.cpio.gz — an initramfs overlay holding QEMU's own guest agent
# (qemu-ga from Debian's qemu-guest-agent, downloaded with `apt-get download`, never installed) and the
# shared libraries it needs (taken from this host, which runs the same Debian release), plus
# /etc/hcs-guest/start.d/qemu-ga, which the agent test guest's init runs at boot. Appended to the agent
# guest's initrd (the kernel unpacks concatenated cpio archives in order), it gives hcs_bench the
# reference it compares hcs-guest with. Benchmarks only: nothing in CI uses it.
set -euo pipefail

out=${1:?usage: make-qemu-ga-overlay.sh OUT.cpio.gz}
die() {
  echo "make-qemu-ga-overlay: $*" >&2
  exit 1
}
command -v cpio >/dev/null || die "cpio is missing (scripts/install-deps.sh)"

work=$(mktemp -d /tmp/qemu-ga-overlay.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work" # apt-get download drops privileges to _apt and must write here

(cd "$work" && apt-get download -qq qemu-guest-agent </dev/null) || die "apt-get download qemu-guest-agent failed"
deb=$(ls "$work"/qemu-guest-agent_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download produced no qemu-guest-agent .deb"
dpkg-deb -x "$deb" "$work/deb" || die "dpkg-deb -x $deb failed"
binary="$work/deb/usr/sbin/qemu-ga"
[ -x "$binary" ] || die "$deb has no usr/sbin/qemu-ga"

tree="$work/tree"
mkdir -p "$tree/usr/sbin" "$tree/etc/hcs-guest/start.d" "$tree/var/run"
cp "$binary" "$tree/usr/sbin/qemu-ga"
# The loader and every library ldd resolves, at the same paths as on this host.
libraries=$(ldd "$binary" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }')
[ -n "$libraries" ] || die "ldd found no libraries for qemu-ga"
for lib in $libraries; do
  [ -e "$lib" ] || die "qemu-ga needs $lib, which this host does not have"
  mkdir -p "$tree$(dirname "$lib")"
  cp -L "$lib" "$tree$lib"
done
# Debian's /lib and /lib64 are symlinks into /usr on merged-/usr systems; the guest's busybox tree has
# real directories, so the files were copied to the paths ldd printed and the loader path exists as is.

# QEMU's default port name for its agent; the bench adds the matching virtserialport.
cat >"$tree/etc/hcs-guest/start.d/qemu-ga" <<'SCRIPT'
#!/bin/sh
# Without udev there is no /dev/virtio-ports/<name> link: find the port's vportNpM by its sysfs name.
port=
for name in /sys/class/virtio-ports/*/name; do
  [ -r "$name" ] && [ "$(cat "$name")" = org.qemu.guest_agent.0 ] || continue
  port=/dev/$(basename "$(dirname "$name")")
done
[ -n "$port" ] && [ -e "$port" ] || exit 0
/usr/sbin/qemu-ga --method=virtio-serial --path="$port" --daemonize --pidfile=/var/run/qemu-ga.pid
SCRIPT
chmod 0755 "$tree/etc/hcs-guest/start.d/qemu-ga"

(cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) | gzip -9n >"$out.tmp"
mv -f "$out.tmp" "$out"
echo "make-qemu-ga-overlay: $out ($(du -h "$out" | cut -f1))" >&2
