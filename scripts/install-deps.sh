#!/usr/bin/env bash
# Installs the Debian packages hostcompute needs to build, test and run. Idempotent: when everything is
# present it only checks and returns (no apt-get update). Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libfuse3-dev fuse3 libicu-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  qemu-system-x86 qemu-utils ovmf
  busybox-static cpio gzip socat ccache
  runc
  libgit2-dev
  go-md2man acl systemd bash-completion
  autoconf automake perl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# FUSE needs the device; a missing one fails loudly here rather than as mysterious test failures.
if [ ! -c /dev/fuse ]; then
  echo "install-deps: /dev/fuse is missing: ProjFS needs FUSE" >&2
  exit 1
fi
