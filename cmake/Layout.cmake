# What every target needs to know about the installed layout, set before any target exists.

# Installed programs find the project's shared libraries relative to themselves, so an install into
# any prefix (`cmake --install --prefix ~/.local`) runs without LD_LIBRARY_PATH.
if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CMAKE_INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()

# hc_version: `#include "hostcompute_version.h"` gives HOSTCOMPUTE_VERSION to tools and benches.
configure_file(${PROJECT_SOURCE_DIR}/cmake/version.h.in ${PROJECT_BINARY_DIR}/generated/hostcompute_version.h @ONLY)
add_library(hc_version INTERFACE)
target_include_directories(hc_version INTERFACE ${PROJECT_BINARY_DIR}/generated)
