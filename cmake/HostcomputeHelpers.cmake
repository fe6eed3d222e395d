# Small helpers shared by every folder's CMakeLists.txt.

# add_subdirectory for each folder that has a CMakeLists.txt (folders land one at a time).
function(hc_add_subdirectories)
  foreach(dir IN LISTS ARGN)
    if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt")
      add_subdirectory(${dir})
    endif()
  endforeach()
endfunction()

# hc_internal_library(NAME SOURCES ... [LIBS ...]): a static, position-independent library of
# internal code. Include paths: src/ (for "base/...", "hcs/...") and include/ (public headers).
function(hc_internal_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
  target_link_libraries(${name} PUBLIC Threads::Threads ${ARG_LIBS})
endfunction()

# hc_gtest_program(NAME LABEL DEFAULT_TIMEOUT ...): the shared body of hc_unit_test / hc_integration_test.
function(hc_gtest_program name label default_timeout)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT ${default_timeout})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT ${ARG_TIMEOUT})
endfunction()

# hc_unit_test(NAME SOURCES ... [LIBS ...] [TIMEOUT s]): a GoogleTest program labelled "unit".
# Unit tests also run under AddressSanitizer and ThreadSanitizer (scripts/test.sh).
function(hc_unit_test name)
  hc_gtest_program(${name} unit 300 ${ARGN})
  add_dependencies(hc_unit_tests ${name})
endfunction()

# hc_integration_test(NAME SOURCES ... [LIBS ...] [TIMEOUT s]): a GoogleTest program labelled
# "integration": real FUSE mounts, real QEMU processes, hcsd as a separate process.
function(hc_integration_test name)
  hc_gtest_program(${name} integration 600 ${ARGN})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "HOSTCOMPUTE_BUILD_DIR=${PROJECT_BINARY_DIR};HOSTCOMPUTE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
