# The install test (issue #2): `cmake --install` into a temporary prefix, then use the result the way an
# outside project would -- find_package(hostcompute) from CMake (C++ and C programs), and pkg-config
# from a one-file C build -- and run the programs. Driven by add_test in CMakeLists.txt:
#   cmake -DSOURCE_DIR=... -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_DIR=... -DGENERATOR=... -DMAKE_PROGRAM=...
#         -DC_COMPILER=... -DCXX_COMPILER=... -DLIBDIR=... -DVERSION=... -DLIBRARIES=a;b
#         [-DMISSING=...] [-DSANITIZE_FLAGS=...] -DPKG_CONFIG=... -DNM=... -P run_install_test.cmake
# Needs no network. Every failure stops the test with the step, the command and its output.
cmake_minimum_required(VERSION 3.25)

foreach(var SOURCE_DIR BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR C_COMPILER CXX_COMPILER LIBDIR VERSION LIBRARIES PKG_CONFIG NM)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "install test: -D${var}=... is required")
  endif()
endforeach()
if(MISSING)
  message(FATAL_ERROR "install test: cannot run, libraries not built: ${MISSING}")
endif()

string(TIMESTAMP started "%s")
set(prefix "${WORK_DIR}/prefix")
set(libdir "${prefix}/${LIBDIR}")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# run_step(<what> COMMAND ... [ENV var=value ...]): runs a command, fails the test on non-zero exit.
# The output is left in step_output.
function(run_step what)
  cmake_parse_arguments(ARG "" "" "COMMAND;ENV" ${ARGN})
  set(command ${ARG_COMMAND})
  if(ARG_ENV)
    set(command ${CMAKE_COMMAND} -E env ${ARG_ENV} ${ARG_COMMAND})
  endif()
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(JOIN " " shown ${command})
    message(FATAL_ERROR "install test: ${what} FAILED (exit ${rc})\n  command: ${shown}\n${out}\n${err}")
  endif()
  set(step_output "${out}${err}" PARENT_SCOPE)
endfunction()

function(expect_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "install test: expected installed file is missing: ${path}")
  endif()
endfunction()

# 1. Install.
run_step("cmake --install ${BUILD_DIR} --prefix ${prefix}"
  ENV --unset=DESTDIR COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

foreach(header computecore.h computedefs.h projectedfslib.h hostcompute/win.h compat/windows.h compat/Windows.h
               compat/winerror.h compat/objbase.h compat/wil/resource.h compat/wil/result.h)
  expect_file("${prefix}/include/${header}")
endforeach()
# hc_api_functions(<out> <header>): the HOSTCOMPUTE_API functions a header declares (the same parser
# hc_shared_library uses to make sure the libraries contain them).
include("${SOURCE_DIR}/cmake/SharedLibrary.cmake")
function(declared_functions header out)
  hc_api_functions(names "${header}")
  if(names_UNPARSED)
    message(FATAL_ERROR "install test: ${names_UNPARSED} HOSTCOMPUTE_API lines in ${header} were not understood")
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

declared_functions("${prefix}/include/hostcompute/win.h" win_functions)
foreach(lib IN LISTS LIBRARIES)
  expect_file("${libdir}/lib${lib}.so")
  expect_file("${libdir}/pkgconfig/${lib}.pc")
  run_step("exported symbols of lib${lib}.so" COMMAND ${NM} -D --defined-only "${libdir}/lib${lib}.so")
  set(exported "${step_output}")
  set(header "${prefix}/include/${lib}.h")
  declared_functions("${header}" functions)
  list(LENGTH functions count)
  if(count LESS 3)
    message(FATAL_ERROR "install test: found only ${count} HOSTCOMPUTE_API declarations in ${header}")
  endif()
  # Only the C API leaves the library: every exported symbol is a declared function (or the version string).
  string(REGEX MATCHALL "[0-9a-fA-F]+ [A-Za-z] [^\n]+" symbol_lines "${exported}")
  set(unexpected "")
  foreach(line IN LISTS symbol_lines)
    string(REGEX REPLACE "^[0-9a-fA-F]+ [A-Za-z] " "" symbol "${line}")
    if(NOT symbol IN_LIST functions AND NOT symbol IN_LIST win_functions AND NOT symbol STREQUAL "hostcompute_version")
      list(APPEND unexpected "${symbol}")
    endif()
  endforeach()
  if(unexpected)
    string(JOIN "\n  " unexpected ${unexpected})
    message(FATAL_ERROR "install test: lib${lib}.so exports symbols that are not its C API:\n  ${unexpected}")
  endif()
  # Every function its header (and win.h) declares must be exported, or callers get link errors.
  set(missing_symbols "")
  foreach(function IN LISTS functions win_functions)
    if(NOT exported MATCHES " [TW] ${function}\n")
      list(APPEND missing_symbols ${function})
    endif()
  endforeach()
  if(missing_symbols)
    string(JOIN ", " missing_symbols ${missing_symbols})
    message(FATAL_ERROR "install test: lib${lib}.so does not export functions its headers declare: ${missing_symbols}")
  endif()
  message(STATUS "install test: lib${lib}.so exports all ${count} functions of ${lib}.h and those of win.h")
endforeach()
# The tools run from the prefix without LD_LIBRARY_PATH (their RPATH is $ORIGIN/../<libdir>), and the
# man pages, completion and systemd units are in place.
foreach(tool hcsctl prjfs hcsd)
  run_step("${tool} --version from the prefix" ENV --unset=LD_LIBRARY_PATH COMMAND "${prefix}/bin/${tool}" --version)
  if(NOT step_output MATCHES "${VERSION}")
    message(FATAL_ERROR "install test: ${tool} --version does not say ${VERSION}: ${step_output}")
  endif()
endforeach()
run_step("prjfs --help from the prefix" ENV --unset=LD_LIBRARY_PATH COMMAND "${prefix}/bin/prjfs" --help)
foreach(file share/man/man1/hcsctl.1 share/man/man1/prjfs.1 share/man/man8/hcsd.8
             share/bash-completion/completions/hcsctl share/bash-completion/completions/prjfs
             lib/systemd/system/hcsd.socket lib/systemd/system/hcsd.service lib/sysusers.d/hostcompute.conf)
  expect_file("${prefix}/${file}")
endforeach()
file(READ "${prefix}/lib/systemd/system/hcsd.service" unit)
if(NOT unit MATCHES "ExecStart=[^\n]*/bin/hcsd --system")
  message(FATAL_ERROR "install test: hcsd.service does not start hcsd --system:\n${unit}")
endif()

expect_file("${libdir}/cmake/hostcompute/hostcomputeConfig.cmake")
expect_file("${libdir}/cmake/hostcompute/hostcomputeConfigVersion.cmake")

# 2. An outside CMake project: find_package(hostcompute) and both imported targets, from C++ and C.
set(consumer_build "${WORK_DIR}/consumer-build")
set(configure_args -S "${CONSUMER_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Debug)
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(SANITIZE_FLAGS)
  list(APPEND configure_args "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}")
endif()
run_step("configure the consumer project (find_package(hostcompute))" COMMAND ${CMAKE_COMMAND} ${configure_args})
file(STRINGS "${consumer_build}/CMakeCache.txt" found_dir REGEX "^hostcompute_DIR:")
string(FIND "${found_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "install test: find_package found hostcompute outside the test prefix: ${found_dir}")
endif()
run_step("build the consumer project" COMMAND ${CMAKE_COMMAND} --build "${consumer_build}")
# No LD_LIBRARY_PATH: CMake's imported targets must give the programs a working run path.
run_step("run consumer_cxx (C++17, both imported targets)" COMMAND "${consumer_build}/consumer_cxx")
run_step("run consumer_c (headers as C11)" COMMAND "${consumer_build}/consumer_c")
run_step("run consumer_win32 (component win32: windows.h, WIL, wmain)" COMMAND "${consumer_build}/consumer_win32" "hé")

# 3. pkg-config: flags for both libraries, a one-file C program built with them.
set(pc_env "PKG_CONFIG_PATH=${libdir}/pkgconfig")
run_step("pkg-config --modversion computecore projectedfslib"
  ENV ${pc_env} COMMAND ${PKG_CONFIG} --modversion computecore projectedfslib)
string(REGEX MATCHALL "[^\n]+" versions "${step_output}")
foreach(v IN LISTS versions)
  if(NOT v STREQUAL VERSION)
    message(FATAL_ERROR "install test: pkg-config reports version '${v}', the project is ${VERSION}")
  endif()
endforeach()
run_step("pkg-config --cflags --libs computecore projectedfslib"
  ENV ${pc_env} COMMAND ${PKG_CONFIG} --cflags --libs computecore projectedfslib)
string(STRIP "${step_output}" pc_flags)
separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
# The .pc files locate the prefix relative to themselves (${pcfiledir}/../..), so compare real paths.
file(REAL_PATH "${prefix}/include" want_include)
file(REAL_PATH "${libdir}" want_libdir)
set(include_ok FALSE)
set(libdir_ok FALSE)
foreach(arg IN LISTS pc_args)
  if(arg MATCHES "^-I(.+)$")
    file(REAL_PATH "${CMAKE_MATCH_1}" got)
    if(got STREQUAL want_include)
      set(include_ok TRUE)
    endif()
  elseif(arg MATCHES "^-L(.+)$")
    file(REAL_PATH "${CMAKE_MATCH_1}" got)
    if(got STREQUAL want_libdir)
      set(libdir_ok TRUE)
    endif()
  endif()
endforeach()
if(NOT include_ok OR NOT libdir_ok)
  message(FATAL_ERROR "install test: pkg-config flags do not point into the install prefix ${prefix}: ${pc_flags}")
endif()
foreach(lib IN LISTS LIBRARIES)
  if(NOT pc_flags MATCHES "-l${lib}")
    message(FATAL_ERROR "install test: pkg-config flags lack -l${lib}: ${pc_flags}")
  endif()
endforeach()
separate_arguments(sanitize_args UNIX_COMMAND "${SANITIZE_FLAGS}")
run_step("build a one-file C program with the pkg-config flags"
  COMMAND ${C_COMPILER} -std=c11 -Wall -Wextra -Werror ${sanitize_args} "${CONSUMER_DIR}/main.c"
          -o "${WORK_DIR}/pkg_config_consumer" ${pc_args})
run_step("run the pkg-config program"
  ENV "LD_LIBRARY_PATH=${libdir}" COMMAND "${WORK_DIR}/pkg_config_consumer")

# The win32 component through pkg-config: a wmain program built from the flags alone.
run_step("pkg-config --cflags --libs hostcompute-win32-wmain computecore"
  ENV ${pc_env} COMMAND ${PKG_CONFIG} --cflags --libs hostcompute-win32-wmain computecore)
string(STRIP "${step_output}" pc_win32_flags)
separate_arguments(pc_win32_args UNIX_COMMAND "${pc_win32_flags}")
run_step("build the win32 consumer with the pkg-config flags"
  COMMAND ${CXX_COMPILER} -std=c++17 -Wall -Wextra -Werror ${sanitize_args} "${CONSUMER_DIR}/main_win32.cpp"
          -o "${WORK_DIR}/pkg_config_win32_consumer" ${pc_win32_args})
run_step("run the pkg-config win32 program"
  ENV "LD_LIBRARY_PATH=${libdir}" COMMAND "${WORK_DIR}/pkg_config_win32_consumer" "hé")

string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "install test: passed in ${seconds} s")
