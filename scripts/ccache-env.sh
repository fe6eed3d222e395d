# Sourced by build.sh and test.sh: compile through ccache when it is installed, keyed on paths relative to
# the checkout, so a fresh clone in another directory reuses what an earlier build of the same sources made.
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
  export CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
  HC_CMAKE_LAUNCHER="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
else
  HC_CMAKE_LAUNCHER=""
fi
