#!/usr/bin/env bash
# tests/integration/projfs/pjdfstest.sh PRJFS EXPECTED_FAILURES LAYOUT [TEST_DIR...]
#
# pjdfstest (POSIX file-system conformance) inside a virtualization root served by `prjfs mirror`.
# pjdfstest is built from its tarball in ${HC_THIRD_PARTY:-<source>/../shared/third_party} in a temporary
# folder (never copied into the project; CI has no network), the suite runs as root with `prove -r`, and
# every failing assertion ("chmod/12.t:3") must be listed in EXPECTED_FAILURES (each explained in
# docs/api-coverage.md) — and every listed one must still fail, so the list stays true.
#
# LAYOUT, where the suite runs:
#   root       the root of a projection of an empty directory
#   local      a directory created (mkdir) inside a projection of a small tree
#   projected  a projected directory of a small tree, after it was listed and its files read
# TEST_DIRS: pjdfstest's test directories (chmod, link, ...); all of them when none is given.
# HC_PJDFSTEST_LOG=FILE keeps prove's verbose output (with timings) there.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 PRJFS EXPECTED_FAILURES LAYOUT [TEST_DIR...]" >&2
  exit 2
fi
prjfs=$(realpath "$1")
expected=$(realpath "$2")
layout=$3
shift 3
harness_name=pjdfstest
harness_keep() {
  if [ -n "${HC_PJDFSTEST_LOG:-}" ] && [ -f "$work/prove.log" ]; then cp "$work/prove.log" "$HC_PJDFSTEST_LOG"; fi
}
. "$(dirname "$0")/mirror_harness.sh"
[ "$(id -u)" = 0 ] || fail "pjdfstest must run as root (it changes owners and uses other users' ids)"
tarball=$(third_party_tarball pjdfstest-85a8aea.tar.gz pjdfstest)
for tool in autoreconf make cc prove fusermount3 perl; do
  command -v "$tool" > /dev/null || fail "'$tool' is needed to build or run pjdfstest"
done


start=$(date +%s)
echo "pjdfstest.sh: building pjdfstest in $work"
tar xzf "$tarball" -C "$work"
if ! (cd "$work/pjdfstest" && autoreconf -ifs && ./configure && make pjdfstest) > "$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  fail "building pjdfstest failed"
fi
built=$(date +%s)

# The projected tree: a few directories and files, some executable, one large enough to hydrate in pieces.
mkdir -p "$work/source/tree/sub" "$work/root"
for i in $(seq 20); do printf 'file %s\n' "$i" > "$work/source/tree/f$i.txt"; done
head -c 300000 /dev/urandom > "$work/source/tree/sub/big.bin"
printf '#!/bin/sh\necho hi\n' > "$work/source/tree/run.sh"
chmod 0755 "$work/source/tree/run.sh"

start_mirror "$prjfs"

case $layout in
  root) here=$work/root ;;
  local)
    here=$work/root/tree/made-here
    mkdir "$here"
    ;;
  projected)
    here=$work/root/tree
    ls -lR "$here" > /dev/null
    cat "$here"/*.txt "$here"/sub/big.bin > /dev/null
    ;;
  *) fail "unknown layout '$layout' (root, local or projected)" ;;
esac

tests=()
if [ $# -eq 0 ]; then
  tests=("$work/pjdfstest/tests")
else
  for dir in "$@"; do
    [ -d "$work/pjdfstest/tests/$dir" ] || fail "pjdfstest has no test directory '$dir'"
    tests+=("$work/pjdfstest/tests/$dir")
  done
fi

echo "pjdfstest.sh: running ${*:-all tests} in the '$layout' layout ($here)"
(cd "$here" && prove -r -v --timer "${tests[@]}") > "$work/prove.log" 2>&1 || true
finished=$(date +%s)

# Failing assertions as "dir/NN.t:N": "not ok N", numbers the plan promised but never ran, and a script
# that died ("dir/NN.t:died").
perl -ne '
  sub flush { return unless defined $file;
    for my $n (1 .. $plan) { print "$file:$n\n" unless $seen{$n}; }
    %seen = (); $plan = 0; }
  if (m{/tests/(\S+\.t) \.+ ?}) { flush(); $file = $1; next; }
  next unless defined $file;
  if (/^1\.\.(\d+)/) { $plan = $1; next; }
  if (/^ok (\d+)/) { $seen{$1} = 1; next; }
  if (/^not ok (\d+).*#\s*TODO/i) { $seen{$1} = 1; next; }  # a known failure pjdfstest itself tolerates
  if (/^not ok (\d+)/) { next; }
  if (/^Dubious, test returned/) { print "$file:died\n"; }
  END { flush(); }
' "$work/prove.log" | sort -u > "$work/failed.txt"

{ grep -v -e '^\s*#' -e '^\s*$' "$expected" || true; } | sed 's/\s*#.*//' | sort -u > "$work/expected.txt"
if [ $# -gt 0 ]; then  # only the expectations of the directories that ran
  pattern=$(printf '^%s/\\|' "$@")
  grep "${pattern%\\|}" "$work/expected.txt" > "$work/expected.sel" || true
  mv "$work/expected.sel" "$work/expected.txt"
fi

assertions=$(grep -c '^\(not \)\?ok [0-9]' "$work/prove.log" || true)
failed=$(wc -l < "$work/failed.txt")
unexpected=$(comm -23 "$work/failed.txt" "$work/expected.txt")
fixed=$(comm -13 "$work/failed.txt" "$work/expected.txt")
echo "pjdfstest.sh: $assertions assertions, $failed failed ($(wc -l < "$work/expected.txt") expected);" \
  "build $((built - start)) s, run $((finished - built)) s"
status=0
if [ -n "$unexpected" ]; then
  echo "pjdfstest.sh: unexpected failures:" >&2
  echo "$unexpected" >&2
  for f in $(echo "$unexpected" | cut -d: -f1 | sort -u); do
    echo "--- $f" >&2
    perl -ne "print if m{/tests/\Q$f\E \\.} .. m{^(ok$|Failed|Dubious)}" "$work/prove.log" | grep -v '^ok ' | head -40 >&2
  done
  status=1
fi
if [ -n "$fixed" ]; then
  echo "pjdfstest.sh: listed as expected failures but passed now (remove them from $expected):" >&2
  echo "$fixed" >&2
  status=1
fi
[ $status -eq 0 ] && echo "pjdfstest.sh: PASS"
exit $status
