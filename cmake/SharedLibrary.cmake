# hc_shared_library(NAME STATIC_LIB [MORE_STATIC_LIBS...]): the installable shared library `NAME` made of
# every object of the given internal static libraries and of hc_base (whole archive), exporting only the
# HOSTCOMPUTE_API functions.
#
# Whole archive matters for objects that nothing else in the link refers to: without it the linker drops
# them and their public functions silently vanish from the library (base's LocalFree / CoTaskMemFree /
# CoTaskMemAlloc, declared in win.h for every caller; names' PrjFileNameMatch and friends). The libraries
# usually also arrive as ordinary dependencies of STATIC_LIB; LINK_LIBRARY_OVERRIDE makes every occurrence
# whole-archive so CMake does not reject the mix of features. tests/integration/install checks that each
# library exports every function its header declares.
function(hc_shared_library name static_lib)
  add_library(${name} SHARED ${PROJECT_SOURCE_DIR}/cmake/library_info.cpp)
  foreach(lib IN ITEMS ${static_lib} ${ARGN} hc_base)
    target_link_libraries(${name} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${lib}>")
    set_property(TARGET ${name} PROPERTY LINK_LIBRARY_OVERRIDE_${lib} WHOLE_ARCHIVE)
  endforeach()
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
endfunction()
