#!/usr/bin/env bash
# Runs every documented shell session as written: each fenced block preceded by the line
# `<!-- doc-test -->` in the given markdown files is run by bash (-e -u -o pipefail) in the source
# directory, against a private hcsd, with
#   PATH        the build's hcsctl, hcsd and prjfs first
#   HCS_SOCKET  the private hcsd's socket (so a block never talks to a user's hcsd)
#   TMPDIR      a scratch directory (blocks make their directories with mktemp -d)
#   TEST_GUEST  the test guest (scripts/make-test-guest.sh; default .cache/test-guest)
#   AGENT_INITRD the test guest with the guest agent (default <build>/guest/initrd-agent.gz)
# A failing block fails the test with its file, its line and its output. Blocks run in file order; one
# file's blocks share nothing but the hcsd. Every process a block leaves behind is killed at the end.
#
# usage: run_doc_sessions.sh SOURCE_DIR BUILD_DIR FILE.md...
set -euo pipefail

source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/hc-doc-sessions.XXXXXX")
hcsd_pid=""
# Processes whose command line names the scratch directory (QEMU of systems a block left running, hcsd),
# found by pid: other users' processes are never touched.
kill_mentioning_work() {
    local pid
    for pid in $(grep -l -F "$work" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        [ "$pid" != $$ ] && kill "-$1" "$pid" 2>/dev/null || true
    done
}
cleanup() {
    # The run's status is the script's, not the cleanup's: nothing here may fail it (set -e would make a
    # grep that finds no leftover mount the exit status).
    local status=$?
    set +e
    if [ -n "$hcsd_pid" ]; then
        kill -TERM "$hcsd_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$hcsd_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    kill_mentioning_work KILL
    grep -o " $work/[^ ]*" /proc/self/mountinfo 2>/dev/null | while read -r mnt; do fusermount3 -u -z "$mnt" || true; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

for tool in hcsctl/hcsctl hcsd/hcsd prjfs/prjfs; do
    [ -x "$build_dir/tools/$tool" ] || { echo "doc sessions: $build_dir/tools/$tool is not built" >&2; exit 1; }
done
export PATH="$build_dir/tools/hcsctl:$build_dir/tools/hcsd:$build_dir/tools/prjfs:$PATH"
export TEST_GUEST="${TEST_GUEST:-$source_dir/.cache/test-guest}"
export AGENT_INITRD="${AGENT_INITRD:-$build_dir/guest/initrd-agent.gz}"
for file in "$TEST_GUEST/vmlinuz" "$TEST_GUEST/initrd-idle.gz" "$TEST_GUEST/initrd-poweroff.gz" "$AGENT_INITRD"; do
    [ -f "$file" ] || { echo "doc sessions: $file is missing (scripts/make-test-guest.sh, the guest/image build)" >&2; exit 1; }
done
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"

export HCS_SOCKET="$work/hcsd.sock"
hcsd --socket "$HCS_SOCKET" --state-dir "$work/hcsd-state" --foreground > "$work/hcsd.log" 2>&1 &
hcsd_pid=$!
for _ in $(seq 1 300); do [ -S "$HCS_SOCKET" ] && break; sleep 0.1; done
[ -S "$HCS_SOCKET" ] || { echo "doc sessions: hcsd did not listen:" >&2; cat "$work/hcsd.log" >&2; exit 1; }

# extract FILE PREFIX: writes every marked block to PREFIX-<line>.sh and prints its starting line.
extract() {
    awk -v prefix="$2" '
        /^<!-- doc-test -->[ \t]*$/ { marked = 1; next }
        marked && /^```/ && !inside { inside = 1; start = NR + 1; out = prefix "-" start ".sh"; printf "" > out; next }
        inside && /^```[ \t]*$/ { close(out); print start; inside = 0; marked = 0; next }
        inside { print > out; next }
        marked && !/^[ \t]*$/ { marked = 0 }
    ' "$1"
}

blocks=0
failures=0
for doc in "$@"; do
    path="$source_dir/$doc"
    [ -f "$path" ] || { echo "doc sessions: no such file $doc" >&2; exit 1; }
    found=0
    while read -r line; do
        found=$((found + 1))
        blocks=$((blocks + 1))
        script="$work/$(basename "$doc" .md)-$line.sh"
        echo "== $doc:$line"
        # timeout puts the block in its own process group (pgid = its pid), killed afterwards: background
        # jobs a block forgot do not outlive it.
        (cd "$source_dir" && exec timeout 600 bash -euo pipefail "$script") > "$work/out" 2>&1 &
        block_pid=$!
        status=0
        wait "$block_pid" || status=$?
        kill -KILL -- "-$block_pid" 2>/dev/null || true
        if [ "$status" -eq 0 ]; then
            sed 's/^/   /' "$work/out"
        else
            failures=$((failures + 1))
            echo "FAILED (exit $status): $doc:$line" >&2
            sed 's/^/   /' "$script" >&2
            echo "-- output:" >&2
            sed 's/^/   /' "$work/out" >&2
        fi
    done < <(extract "$path" "$work/$(basename "$doc" .md)")
    [ "$found" -gt 0 ] || { echo "doc sessions: $doc has no <!-- doc-test --> block" >&2; exit 1; }
done
echo "doc sessions: $blocks blocks, $failures failed"
[ "$failures" -eq 0 ]
