# Sourced by the third-party suites (pjdfstest.sh, fsx.sh): a temporary folder $work, a `prjfs mirror`
# of $work/source on $work/root, and the cleanup that stops it and detaches the mount on every exit.
# The sourcing script sets `harness_name` (for messages) first, and may define `harness_keep` (called
# before $work is removed) to save logs.
#
#   fail MESSAGE...                  prints "<name>: FAIL: ..." and exits 1
#   third_party_tarball FILE WHAT    the tarball's path in ${HC_THIRD_PARTY:-<source>/../shared/third_party}; fails loudly when absent
#   start_mirror PRJFS               starts `prjfs mirror $work/source $work/root`, waits until it serves

fail() {
  echo "$harness_name: FAIL: $*" >&2
  exit 1
}

third_party_tarball() {
  local source_dir third_party
  source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
  third_party=${HC_THIRD_PARTY:-$source_dir/../shared/third_party}
  [ -f "$third_party/$1" ] || fail "$third_party/$1 is missing: set HC_THIRD_PARTY to the folder holding $2's tarball"
  echo "$third_party/$1"
}

work=$(mktemp -d "/tmp/hc-$harness_name.XXXXXX")
mirror_pid=
cleanup() {
  if [ -n "$mirror_pid" ] && kill -0 "$mirror_pid" 2> /dev/null; then
    kill -TERM "$mirror_pid" 2> /dev/null || true
    for _ in $(seq 100); do kill -0 "$mirror_pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$mirror_pid" 2> /dev/null || true
  fi
  if mountpoint -q "$work/root" 2> /dev/null; then fusermount3 -u -z "$work/root" || umount -l "$work/root" || true; fi
  if declare -F harness_keep > /dev/null; then harness_keep; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_mirror() {
  mkdir -p "$work/source" "$work/root"
  "$1" mirror "$work/source" "$work/root" > "$work/mirror.log" 2>&1 &
  mirror_pid=$!
  for _ in $(seq 200); do
    grep -q "^prjfs: mirroring" "$work/mirror.log" && return 0
    kill -0 "$mirror_pid" 2> /dev/null || { cat "$work/mirror.log" >&2; fail "prjfs mirror exited"; }
    sleep 0.1
  done
  fail "prjfs mirror did not start within 20 s"
}
