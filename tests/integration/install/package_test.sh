#!/usr/bin/env bash
# package_test BUILD_DIR WORK_DIR: builds the Debian packages (cpack -G DEB) and installs them with
# `apt install ./*.deb` into a fresh root, then runs the installed tools there: `prjfs --help`, and
# `hcsctl service` against the installed hcsd. The root is the host's /usr, /etc and /var under
# overlays (the host's installed packages satisfy the dependencies offline; nothing the install writes
# reaches the host), inside a private mount namespace. Needs root (unshare -m, chroot).
set -euo pipefail
build=$1
work=$2
[ "$(id -u)" -eq 0 ] || { echo "package_test: needs root (mount namespace, chroot)" >&2; exit 1; }
for tool in cpack unshare chroot dpkg-deb apt; do
  command -v "$tool" >/dev/null || { echo "package_test: $tool is missing" >&2; exit 1; }
done
rm -rf "$work"
mkdir -p "$work/debs"
echo "package_test: cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
debs=("$work"/debs/*.deb)
[ ${#debs[@]} -eq 2 ] || { echo "package_test: expected 2 packages, got: ${debs[*]}" >&2; exit 1; }
for deb in "${debs[@]}"; do
  echo "package_test: $(dpkg-deb -f "$deb" Package) depends on: $(dpkg-deb -f "$deb" Depends)"
done

# Inside the namespace: every mount disappears with it, whatever happens.
exec unshare -m --propagation private bash -euo pipefail -c '
work=$1
root=$work/root
mkdir -p "$root"
mount -t tmpfs tmpfs "$root"
for dir in usr etc var; do
  mkdir -p "$work/overlay/$dir-upper" "$work/overlay/$dir-work" "$root/$dir"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$work/overlay/$dir-upper,workdir=$work/overlay/$dir-work" "$root/$dir"
done
for link in bin sbin lib lib64; do
  [ -L "/$link" ] && ln -s "$(readlink "/$link")" "$root/$link"
done
mkdir -p "$root/proc" "$root/dev" "$root/tmp" "$root/run" "$root/debs"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"
cp "$work"/debs/*.deb "$root/debs/"
# A root of its own: none of the host tree project files are visible in it.
for gone in hcsctl prjfs hcsd; do
  if chroot "$root" sh -c "command -v $gone" >/dev/null; then
    echo "package_test: $gone is already on the fresh root PATH" >&2; exit 1
  fi
done
echo "package_test: apt-get install /debs/*.deb in the fresh root"
chroot "$root" sh -c "cd / && DEBIAN_FRONTEND=noninteractive apt-get install -y /debs/*.deb" </dev/null >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
chroot "$root" dpkg -s hostcompute hostcompute-dev | grep -E "^(Package|Status)"
chroot "$root" getent group hostcompute >/dev/null || { echo "package_test: postinst made no hostcompute group" >&2; exit 1; }
echo "package_test: prjfs --help"
chroot "$root" prjfs --help | head -1
chroot "$root" sh -c "test -f /usr/share/man/man1/hcsctl.1 && test -f /usr/lib/systemd/system/hcsd.socket && test -f /usr/include/computecore.h"
echo "package_test: hcsctl service against the installed hcsd"
chroot "$root" env HCSD_ACCEL=tcg /usr/bin/hcsd --foreground --socket /tmp/hcs/hcsd.sock >"$work/hcsd.log" 2>&1 &
hcsd=$!
trap "kill $hcsd 2>/dev/null || true; wait $hcsd 2>/dev/null || true" EXIT
for _ in $(seq 1 300); do
  [ -S "$root/tmp/hcs/hcsd.sock" ] && break
  kill -0 $hcsd 2>/dev/null || { cat "$work/hcsd.log"; echo "package_test: hcsd exited" >&2; exit 1; }
  sleep 0.1
done
chroot "$root" env HCS_SOCKET=/tmp/hcs/hcsd.sock HCSD_PATH=/nonexistent hcsctl --compact service >"$work/service.json"
cat "$work/service.json"
grep -q "\"Version\"\|hostcompute" "$work/service.json" || { echo "package_test: unexpected service answer" >&2; exit 1; }
echo "package_test: passed"
' package_test "$work"
