# run_consumer.cmake - run with cmake -P by the consumer_find_package test.
#
# 1. wipes PREFIX and BINARY_DIR (a stale cache would hide a broken package),
# 2. `cmake --install GENPT_BUILD_DIR --prefix PREFIX`,
# 3. `ctest --build-and-test SOURCE_DIR BINARY_DIR` with CMAKE_PREFIX_PATH=PREFIX,
#    which configures, builds and runs the consumer executable.
cmake_minimum_required(VERSION 3.20)

foreach(var GENPT_BUILD_DIR PREFIX SOURCE_DIR BINARY_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}" "${BINARY_DIR}")

set(config_args)
if(DEFINED GENPT_CONFIG AND NOT "${GENPT_CONFIG}" STREQUAL "")
  set(config_args --config "${GENPT_CONFIG}")
endif()

message(STATUS "genpt consumer: installing ${GENPT_BUILD_DIR} into ${PREFIX}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${GENPT_BUILD_DIR}" --prefix "${PREFIX}" ${config_args}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "genpt consumer: cmake --install failed (${rc})")
endif()
if(NOT EXISTS "${PREFIX}/lib/cmake/genpt/genptConfig.cmake")
  message(FATAL_ERROR "genpt consumer: ${PREFIX}/lib/cmake/genpt/genptConfig.cmake was not installed")
endif()

set(make_args)
if(DEFINED MAKE_PROGRAM AND NOT "${MAKE_PROGRAM}" STREQUAL "")
  set(make_args --build-makeprogram "${MAKE_PROGRAM}")
endif()

# The consumer must not see the source tree: only the installed prefix.
# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF keeps a build-tree export from being found instead.
message(STATUS "genpt consumer: building ${SOURCE_DIR} against ${PREFIX}")
execute_process(
  COMMAND "${CMAKE_CTEST_COMMAND}"
    --build-and-test "${SOURCE_DIR}" "${BINARY_DIR}"
    --build-generator "${GENERATOR}"
    ${make_args}
    --build-options
      "-DCMAKE_PREFIX_PATH=${PREFIX}"
      "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
      "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"
      "-DGENPT_EXPECTED_PREFIX=${PREFIX}"
    --test-command genpt_consumer
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "genpt consumer: build-and-test failed (${rc})")
endif()
message(STATUS "genpt consumer: ok")
