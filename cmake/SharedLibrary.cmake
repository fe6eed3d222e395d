# hc_shared_library(NAME STATIC_LIB): the installable shared library `NAME` made of every object of the
# internal static library (whole archive), exporting only the HOSTCOMPUTE_API functions.
function(hc_shared_library name static_lib)
  add_library(${name} SHARED ${PROJECT_SOURCE_DIR}/cmake/library_info.cpp)
  target_link_libraries(${name} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${static_lib}>")
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
endfunction()
