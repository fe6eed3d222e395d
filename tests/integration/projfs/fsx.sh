#!/usr/bin/env bash
# tests/integration/projfs/fsx.sh PRJFS [OPERATIONS]
#
# fsx (xfstests' file-system exerciser: random reads, writes, mmap, truncates, checked against a model of
# the expected content) inside a virtualization root served by `prjfs mirror`, on three files: a new file
# created in the root, a hydrated placeholder (read once before) and a never-hydrated placeholder (fsx's
# first access hydrates it; `-k` makes fsx take the projected content as the starting model). fsx is
# built from its tarball in ${HC_THIRD_PARTY:-<source>/../shared/third_party} in a temporary folder, never
# copied into the project. `-E` turns off fsx's copy_file_range check, which fails on plain ext4 too.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 PRJFS [OPERATIONS]" >&2
  exit 2
fi
prjfs=$(realpath "$1")
operations=${2:-3000}
source_dir=$(cd "$(dirname "$0")/../../.." && pwd)
third_party=${HC_THIRD_PARTY:-$source_dir/../shared/third_party}
tarball=$third_party/fsx-xfstests-63a29724.tar.gz

fail() {
  echo "fsx.sh: FAIL: $*" >&2
  exit 1
}
[ -f "$tarball" ] || fail "$tarball is missing: set HC_THIRD_PARTY to the folder holding fsx's tarball"
command -v cc > /dev/null || fail "'cc' is needed to build fsx"

work=$(mktemp -d /tmp/hc-fsx.XXXXXX)
mirror_pid=
cleanup() {
  if [ -n "$mirror_pid" ] && kill -0 "$mirror_pid" 2> /dev/null; then
    kill -TERM "$mirror_pid" 2> /dev/null || true
    for _ in $(seq 100); do kill -0 "$mirror_pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$mirror_pid" 2> /dev/null || true
  fi
  if mountpoint -q "$work/root" 2> /dev/null; then fusermount3 -u -z "$work/root" || umount -l "$work/root" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

tar xzf "$tarball" -C "$work"
(cd "$work/fsx-src" && cc -O2 -D_GNU_SOURCE -DHAVE_CONFIG_H -include getopt.h -I. -o fsx fsx.c) > "$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "building fsx failed"; }
fsx=$work/fsx-src/fsx

mkdir -p "$work/source" "$work/root" "$work/logs"
head -c 200000 /dev/urandom > "$work/source/hydrated.bin"
head -c 250001 /dev/urandom > "$work/source/never-hydrated.bin"

"$prjfs" mirror "$work/source" "$work/root" > "$work/mirror.log" 2>&1 &
mirror_pid=$!
for _ in $(seq 200); do
  grep -q "^prjfs: mirroring" "$work/mirror.log" && break
  kill -0 "$mirror_pid" 2> /dev/null || { cat "$work/mirror.log" >&2; fail "prjfs mirror exited"; }
  sleep 0.1
done
grep -q "^prjfs: mirroring" "$work/mirror.log" || fail "prjfs mirror did not start within 20 s"

cmp "$work/root/hydrated.bin" "$work/source/hydrated.bin" || fail "hydrated.bin differs from its source"
status=0
run() {  # run NAME FSX-ARGS...
  local name=$1
  shift
  local start=$(date +%s)
  if "$fsx" -q -E -N "$operations" -S 7 -P "$work/logs" "$@" > "$work/logs/$name.out" 2>&1; then
    echo "fsx.sh: $name: $operations operations clean ($(( $(date +%s) - start )) s)"
  else
    echo "fsx.sh: $name: FAILED" >&2
    tail -40 "$work/logs/$name.out" >&2
    status=1
  fi
}
run new "$work/root/new.bin"
run hydrated -k "$work/root/hydrated.bin"
run never-hydrated -k "$work/root/never-hydrated.bin"
[ $status -eq 0 ] && echo "fsx.sh: PASS"
exit $status
