#!/usr/bin/env bash
# scripts/demo.sh — installs what is missing, builds, and runs the main demo:
#   1. HCS: the seed's three operation-completion patterns against a real QEMU virtual machine, through a
#      private hcsd started on demand (examples/hcs/seed_completion_patterns).
#   2. ProjFS: `prjfs mirror` projects /usr/share/doc into a fresh virtualization root; the demo lists it,
#      reads a file through it, and shows the on-disk state of items before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
scripts/build.sh build
bin=$root/build

work=$(mktemp -d /tmp/hostcompute-demo.XXXXXX)
mirror_pid=""
cleanup() {
  [ -n "$mirror_pid" ] && kill -INT "$mirror_pid" 2>/dev/null && wait "$mirror_pid" 2>/dev/null || true
  mountpoint -q "$work/root" 2>/dev/null && fusermount3 -u "$work/root" 2>/dev/null || true
  [ -S "$work/hcsd.sock" ] && pkill -f "hcsd.*$work/hcsd.sock" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== HCS: the seed's three completion patterns on a QEMU VM ==="
export HCS_SOCKET=$work/hcsd.sock
export HCSD_PATH=$bin/tools/hcsd/hcsd
"$bin/examples/hcs/seed_completion_patterns"
"$bin/tools/hcsctl/hcsctl" service

echo
echo "=== ProjFS: projecting /usr/share/doc into $work/root ==="
mkdir -p "$work/root"
"$bin/tools/prjfs/prjfs" mirror /usr/share/doc "$work/root" &
mirror_pid=$!
for _ in $(seq 50); do mountpoint -q "$work/root" && break; sleep 0.1; done
mountpoint -q "$work/root" || { echo "demo: the projection did not mount" >&2; exit 1; }
echo "first entries of the projected root:"
entries=$(ls "$work/root")  # captured whole: a pipe into head would end ls with SIGPIPE under pipefail
sed -n 1,5p <<<"$entries"
first=$(sed -n 1p <<<"$entries")
"$bin/tools/prjfs/prjfs" state "$work/root/$first" || true
copyrights=$(cd "$work/root" && find . -maxdepth 2 -type f -name 'copyright')
file=$(sed -n 1p <<<"$copyrights")
if [ -n "$file" ]; then
  echo "reading $file through the projection ($(wc -c < "$work/root/$file") bytes)"
  "$bin/tools/prjfs/prjfs" state "$work/root/$file"
fi
kill -INT "$mirror_pid"; wait "$mirror_pid" || true; mirror_pid=""
echo "after the provider stopped, what was hydrated is still a plain file:"
[ -n "$file" ] && ls -l "$work/root/$file"
echo "demo finished"
