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
harness_name=fsx
. "$(dirname "$0")/mirror_harness.sh"
tarball=$(third_party_tarball fsx-xfstests-63a29724.tar.gz fsx)
command -v cc > /dev/null || fail "'cc' is needed to build fsx"

tar xzf "$tarball" -C "$work"
(cd "$work/fsx-src" && cc -O2 -D_GNU_SOURCE -DHAVE_CONFIG_H -include getopt.h -I. -o fsx fsx.c) > "$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "building fsx failed"; }
fsx=$work/fsx-src/fsx

mkdir -p "$work/source" "$work/root" "$work/logs"
head -c 200000 /dev/urandom > "$work/source/hydrated.bin"
head -c 250001 /dev/urandom > "$work/source/never-hydrated.bin"

start_mirror "$prjfs"

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
