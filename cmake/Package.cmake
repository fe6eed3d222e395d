# Debian packages with CPack (`cpack -G DEB` in the build directory, after building):
#   hostcompute      runtime: the shared libraries, hcsd, hcsctl, prjfs, man pages, bash completion,
#                    hcsd's systemd units and the hostcompute group (postinst)
#   hostcompute-dev  headers, pkg-config files, the CMake package (find_package(hostcompute))
# Library dependencies come from dpkg-shlibdeps; what hcsd runs (QEMU, OVMF, fusermount3) is declared.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hostcompute)
set(CPACK_PACKAGE_VENDOR "hostcompute")
set(CPACK_PACKAGE_CONTACT "hostcompute maintainers <hostcompute@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME hostcompute)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "qemu-system-x86, qemu-utils, ovmf, fuse3")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "Windows HCS and ProjFS APIs, native on Linux (runtime)\n The computecore (Host Compute Service) and projectedfslib (Projected File System) libraries,\n the hcsd daemon that runs compute systems on QEMU, and the hcsctl and prjfs tools.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/postinst)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME hostcompute-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "hostcompute (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "Windows HCS and ProjFS APIs, native on Linux (development files)\n computecore.h, computedefs.h, projectedfslib.h and hostcompute's C++ headers, pkg-config files\n and the CMake package of the computecore and projectedfslib libraries.")
include(CPack)
