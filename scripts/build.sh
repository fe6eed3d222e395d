#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [extra cmake args...] — configure (once) and build with Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
. scripts/ccache-env.sh
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja -DHOSTCOMPUTE_WERROR=ON $HC_CMAKE_LAUNCHER "$@"
fi
cmake --build "$dir"
