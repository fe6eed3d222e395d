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

# The opt-in Win32 compatibility component (issue 11): its headers are installed above, under
# include/compat/ so that <windows.h> is only found by those who ask for it, through
# find_package(hostcompute COMPONENTS win32) (targets hostcompute::win32, hostcompute::win32_wmain) or
# pkg-config hostcompute-win32 / hostcompute-win32-wmain.
if(TARGET hostcompute_win32 AND TARGET hostcompute_win32_wmain)
  install(TARGETS hostcompute_win32 hostcompute_win32_wmain EXPORT hostcomputeWin32Targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} ${CMAKE_INSTALL_INCLUDEDIR}/compat)
  install(EXPORT hostcomputeWin32Targets NAMESPACE hostcompute::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hostcompute COMPONENT dev)
  foreach(pc IN ITEMS hostcompute-win32 hostcompute-win32-wmain)
    if(pc STREQUAL "hostcompute-win32")
      set(HC_PC_WIN32_DESCRIPTION "Win32 compatibility headers (windows.h, wil/) and functions for HCS and ProjFS programs")
      set(HC_PC_WIN32_REQUIRES "")
      set(HC_PC_WIN32_LIBS "-L\${libdir} -lhostcompute-win32")
    else()
      set(HC_PC_WIN32_DESCRIPTION "main() for programs that start at wmain (UTF-8 arguments as wchar_t)")
      set(HC_PC_WIN32_REQUIRES "Requires: hostcompute-win32")
      set(HC_PC_WIN32_LIBS "-L\${libdir} -lhostcompute-win32-wmain -lstdc++")
    endif()
    file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc @ONLY CONTENT [[
prefix=@HC_PC_PREFIX@
exec_prefix=${prefix}
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@

Name: @pc@
Description: hostcompute @HC_PC_WIN32_DESCRIPTION@
Version: @PROJECT_VERSION@
@HC_PC_WIN32_REQUIRES@
Libs: @HC_PC_WIN32_LIBS@
Cflags: -I${includedir}/compat -I${includedir}
]])
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
  endforeach()
endif()

include(${PROJECT_SOURCE_DIR}/cmake/Package.cmake)
