#!/usr/bin/env bash
# scripts/test.sh — installs what is missing, builds, and runs every test:
#   1. the whole build (warnings as errors): unit + integration tests (real FUSE mounts, real QEMU, hcsd)
#   2. unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   3. unit tests again under ThreadSanitizer (build-tsan/)
# Any failure, including a sanitizer finding, fails the run. Idempotent: a second run only rebuilds
# what changed. Set HC_TEST_SKIP_SANITIZERS=1 for a quicker local loop (CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)

scripts/install-deps.sh
scripts/make-test-guest.sh
. scripts/ccache-env.sh

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

status=0
run_ctest() {  # run_ctest DIR [ctest args...]
  local dir=$1
  shift
  # ASLR off: GCC 12's ThreadSanitizer cannot map its shadow with this kernel's mmap randomisation.
  if ! setarch "$(uname -m)" -R ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@"; then
    status=1
  fi
}

echo "=== build (all targets, -Werror) ==="
scripts/build.sh build
echo "=== unit + integration tests ==="
run_ctest build -j2 -L unit
run_ctest build -L integration

if [ "${HC_TEST_SKIP_SANITIZERS:-0}" != "1" ]; then
  for san in address thread; do
    dir=build-${san/address/asan}
    dir=${dir/build-thread/build-tsan}
    echo "=== unit tests under ${san} sanitizer (${dir}) ==="
    if [ ! -f "$dir/build.ninja" ]; then
      cmake -S . -B "$dir" -G Ninja -DHOSTCOMPUTE_WERROR=ON $HC_CMAKE_LAUNCHER -DHOSTCOMPUTE_SANITIZE=$san \
        -DHOSTCOMPUTE_UNIT_TESTS_ONLY=ON -DCMAKE_BUILD_TYPE=Debug
    fi
    cmake --build "$dir" --target hc_unit_tests
    run_ctest "$dir" -j2 -L unit
  done
fi

echo "=== test.sh finished in $(( $(date +%s) - start )) s: $([ $status -eq 0 ] && echo PASS || echo FAIL) ==="
exit $status
