#!/usr/bin/env bash
# scripts/make-test-guest.sh [OUT_DIR] — builds the small Linux guest that HCS tests and examples boot
# under QEMU (TCG) with a LinuxKernelDirect chipset. Default OUT_DIR: <repo>/.cache/test-guest.
#
# Produces:
#   vmlinuz             Debian's cloud kernel (newest linux-image-6.1.0-*-cloud-amd64 apt knows; downloaded
#                       with `apt-get download` and unpacked with `dpkg-deb -x`, never installed)
#   initrd-poweroff.gz  busybox-static initramfs; /init prints "HCS-TEST-GUEST: poweroff" on the console
#                       and powers the VM off at once (`poweroff -f`) -> a GracefulExit initiated by the guest
#   initrd-idle.gz      busybox-static initramfs; /init loads the ACPI button + evdev modules, prints
#                       "HCS-TEST-GUEST: idle", then waits for the ACPI power button (QMP system_powerdown,
#                       i.e. HcsShutDownComputeSystem) and prints "HCS-TEST-GUEST: power button" before
#                       `poweroff -f` -> a GracefulExit initiated by the host
#   virtio-serial-modules.cpio.gz
#                       an initramfs overlay (no /init) with the modules a guest needs for virtio-serial
#                       (this kernel builds them as modules): /lib/modules/virtio-serial/*.ko and
#                       /lib/modules/virtio-serial/load-order, the insmod order. The agent guest
#                       (guest/image) appends it to initrd-poweroff.gz; the kernel unpacks cpio archives
#                       concatenated in one initrd in order.
#   crash-modules.cpio.gz
#                       an overlay like the virtio-serial one with pvpanic (Devices.GuestCrashReporting: a
#                       panicking guest tells QEMU, which reports GUEST_PANICKED): /lib/modules/crash/
#   virtio-devices-modules.cpio.gz
#                       the same kind of overlay for the devices HcsModifyComputeSystem hot-plugs and the
#                       Create documents' devices: virtio-scsi + sd (disks), virtio-net (adapters) and
#                       virtio-balloon (memory), in /lib/modules/virtio-devices/ with its load-order. This
#                       cloud kernel has no 9p file system at all (CONFIG_NET_9P is not set): Plan9 shares
#                       cannot be mounted in this guest.
#   kernel-version      the kernel release the images were made for
#
# Use with: -kernel vmlinuz -initrd initrd-*.gz -append "console=ttyS0" (add "quiet" to boot faster).
# Measured here (QEMU 7.2, TCG, q35, 256 MB, 2 cores shared with other builds): spawn -> poweroff 3.5 s
# with "console=ttyS0 quiet" (4.0 s without quiet; ~3 s on an idle machine); idle guest: spawn -> "idle"
# marker 4.0 s, QMP system_powerdown -> QEMU exit 80 ms. A power button pressed before the marker is lost
# (the button driver is not loaded yet): wait for the marker before shutting the idle guest down.
#
# Idempotent: when every file exists for this recipe version it only checks and exits. Runs as root with
# no stdin; any failed step (download, unpack, missing busybox-static) fails the script loudly.
set -euo pipefail

recipe_version=7 # bump when the images' contents change, so caches rebuild
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/test-guest}
files=(vmlinuz initrd-poweroff.gz initrd-idle.gz virtio-serial-modules.cpio.gz crash-modules.cpio.gz
  virtio-devices-modules.cpio.gz kernel-version)

up_to_date() {
  [ "$(cat "$out/recipe-version" 2>/dev/null)" = "$recipe_version" ] || return 1
  local f
  for f in "${files[@]}"; do [ -s "$out/$f" ] || return 1; done
}

if up_to_date; then
  exit 0
fi

mkdir -p "$out"
# Several builds may ask at once: one builds, the others wait and then find the files.
exec 9>"$out/.lock"
flock 9
if up_to_date; then
  exit 0
fi

die() {
  echo "make-test-guest: $*" >&2
  exit 1
}

busybox=/bin/busybox
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing"
file_type=$(LC_ALL=C file -b "$busybox" 2>/dev/null || true)
[ -x "$busybox" ] && [[ "$file_type" != *dynamically* ]] ||
  die "$busybox is missing or not static: install busybox-static (scripts/install-deps.sh)"
command -v cpio >/dev/null || die "cpio is missing (scripts/install-deps.sh)"

work=$(mktemp -d /tmp/make-test-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work" # apt-get download drops privileges to _apt and must write here

# The newest cloud kernel: the metapackage depends on exactly one versioned image package.
newest_kernel_package() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-cloud-amd64\)$/\1/p' | head -n1
}
package=$(newest_kernel_package)
if [ -z "$package" ]; then
  echo "make-test-guest: no cloud kernel in apt's lists; running apt-get update" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null || die "apt-get update failed"
  package=$(newest_kernel_package)
fi
[ -n "$package" ] || die "apt-cache knows no linux-image-6.1.0-*-cloud-amd64 package"

echo "make-test-guest: downloading $package" >&2
(cd "$work" && apt-get download -qq "$package" </dev/null) || die "apt-get download $package failed"
deb=$(ls "$work"/"$package"_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download produced no .deb for $package"
dpkg-deb -x "$deb" "$work/kernel" || die "dpkg-deb -x $deb failed"
release=${package#linux-image-}
vmlinuz="$work/kernel/boot/vmlinuz-$release"
moddir="$work/kernel/lib/modules/$release/kernel"
[ -s "$vmlinuz" ] || die "$deb has no boot/vmlinuz-$release"
for m in drivers/acpi/button.ko drivers/input/evdev.ko; do
  [ -s "$moddir/$m" ] || die "$deb has no $m (the idle guest needs it for the power button)"
done
# virtio-serial (the guest agent's port), in dependency order.
virtio_serial_modules=(virtio/virtio_ring virtio/virtio virtio/virtio_pci_modern_dev virtio/virtio_pci_legacy_dev
  virtio/virtio_pci char/virtio_console)
for m in "${virtio_serial_modules[@]}"; do
  [ -s "$moddir/drivers/$m.ko" ] || die "$deb has no drivers/$m.ko (the agent guest needs it for virtio-serial)"
done
# Disks, network adapters and the memory balloon (after virtio-serial's modules, which they need).
virtio_devices_modules=(scsi/scsi_common scsi/scsi_mod scsi/sd_mod scsi/virtio_scsi net/failover net/net_failover
  net/virtio_net virtio/virtio_balloon)
for m in "${virtio_devices_modules[@]}"; do
  f=drivers/$m.ko
  [ "$m" = net/failover ] && f=net/core/failover.ko
  [ -s "$moddir/$f" ] || die "$deb has no $f (the agent guest needs it for its devices)"
done

# make_initramfs NAME INIT_SCRIPT [MODULE...]: a newc cpio (gzip) with busybox, its applet links,
# the given kernel modules under /lib/modules and /init.
make_initramfs() {
  local name=$1 init=$2
  shift 2
  local tree="$work/tree-$name"
  mkdir -p "$tree"/{bin,dev,proc,sys,lib/modules}
  mknod -m 0600 "$tree/dev/console" c 5 1 # the kernel opens it as init's stdio
  cp "$busybox" "$tree/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$tree/bin/$applet"
  done
  local m
  for m in "$@"; do cp "$moddir/$m" "$tree/lib/modules/"; done
  printf '%s\n' "$init" >"$tree/init"
  chmod 0755 "$tree/init"
  (cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
    gzip -9n >"$work/$name" || die "building $name failed"
}

common_init='#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev'

make_initramfs initrd-poweroff.gz "$common_init
echo \"HCS-TEST-GUEST: poweroff\" >/dev/console
poweroff -f"

# The kernel reports the ACPI power button (QEMU system_powerdown) as KEY_POWER on the button's input
# device; reading one event from its evdev node is all the "acpid" this guest needs.
make_initramfs initrd-idle.gz "$common_init
insmod /lib/modules/evdev.ko
insmod /lib/modules/button.ko
button=
for dev in /sys/class/input/event*; do
  if [ \"\$(cat \$dev/device/name 2>/dev/null)\" = \"Power Button\" ]; then
    button=/dev/input/\${dev##*/}
    break
  fi
done
if [ -z \"\$button\" ]; then
  echo \"HCS-TEST-GUEST: no power button device\" >/dev/console
  poweroff -f
fi
# Open the device before saying \"idle\": a press is only queued for readers that already have it open.
exec 3<\$button
echo \"HCS-TEST-GUEST: idle\" >/dev/console
dd of=/dev/null bs=24 count=1 <&3 2>/dev/null
echo \"HCS-TEST-GUEST: power button\" >/dev/console
poweroff -f" drivers/acpi/button.ko drivers/input/evdev.ko

tree="$work/tree-virtio-serial"
mkdir -p "$tree/lib/modules/virtio-serial"
for m in "${virtio_serial_modules[@]}"; do
  cp "$moddir/drivers/$m.ko" "$tree/lib/modules/virtio-serial/"
  echo "${m##*/}" >>"$tree/lib/modules/virtio-serial/load-order"
done
(cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
  gzip -9n >"$work/virtio-serial-modules.cpio.gz" || die "building virtio-serial-modules.cpio.gz failed"

# pvpanic for GuestCrashReporting (the agent guest loads it; a guest crash then reaches hcsd).
crash_modules=(misc/pvpanic/pvpanic misc/pvpanic/pvpanic-mmio)
tree="$work/tree-crash"
mkdir -p "$tree/lib/modules/crash"
for m in "${crash_modules[@]}"; do
  [ -s "$moddir/drivers/$m.ko" ] || die "$deb has no drivers/$m.ko (the agent guest needs it for pvpanic)"
  cp "$moddir/drivers/$m.ko" "$tree/lib/modules/crash/"
  echo "${m##*/}" >>"$tree/lib/modules/crash/load-order"
done
(cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
  gzip -9n >"$work/crash-modules.cpio.gz" || die "building crash-modules.cpio.gz failed"

# The devices HcsModifyComputeSystem hot-plugs and Create's disks and adapters (virtio-devices overlay).
tree="$work/tree-virtio-devices"
mkdir -p "$tree/lib/modules/virtio-devices"
for m in "${virtio_devices_modules[@]}"; do
  f=drivers/$m.ko
  [ "$m" = net/failover ] && f=net/core/failover.ko
  cp "$moddir/$f" "$tree/lib/modules/virtio-devices/"
  echo "${m##*/}" >>"$tree/lib/modules/virtio-devices/load-order"
done
(cd "$tree" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) |
  gzip -9n >"$work/virtio-devices-modules.cpio.gz" || die "building virtio-devices-modules.cpio.gz failed"

cp "$vmlinuz" "$work/vmlinuz"
echo "$release" >"$work/kernel-version"
for f in "${files[@]}"; do
  mv -f "$work/$f" "$out/$f.tmp"
  mv -f "$out/$f.tmp" "$out/$f"
done
echo "$recipe_version" >"$out/recipe-version"
echo "make-test-guest: test guest ($release) ready in $out" >&2
