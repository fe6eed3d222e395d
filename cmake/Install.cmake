# cmake --install: headers, the two shared libraries, tools (each tool folder installs itself),
# a pkg-config file per library and a CMake package so that find_package(hostcompute) works.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

# The .pc files find the prefix relative to their own location, so `cmake --install --prefix <dir>`
# (which does not re-run configure) and moved install trees still give correct flags.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(HC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH HC_PC_UP "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" HC_PC_UP "${HC_PC_UP}")
  set(HC_PC_PREFIX "\${pcfiledir}/${HC_PC_UP}")
endif()

set(HC_EXPORTED_LIBRARIES "")
foreach(lib computecore projectedfslib)
  if(TARGET ${lib})
    list(APPEND HC_EXPORTED_LIBRARIES ${lib})
    set(HC_PC_NAME ${lib})
    configure_file(${PROJECT_SOURCE_DIR}/cmake/library.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${lib}.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${lib}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
  endif()
endforeach()

if(HC_EXPORTED_LIBRARIES)
  install(TARGETS ${HC_EXPORTED_LIBRARIES} EXPORT hostcomputeTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT hostcomputeTargets NAMESPACE hostcompute::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hostcompute COMPONENT dev)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hostcomputeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hostcomputeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hostcompute)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hostcomputeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hostcomputeConfig.cmake ${PROJECT_BINARY_DIR}/hostcomputeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hostcompute COMPONENT dev)

include(${PROJECT_SOURCE_DIR}/cmake/Package.cmake)
