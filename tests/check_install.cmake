# tests/check_install.cmake — the install_consumer test (cmake -P): installs the build tree
# into a fresh prefix, then configures, builds and runs examples/consumer against that prefix
# only (no package registry, no build tree), and runs the installed CLI. Any failing step
# fails the test with the step's output. Variables come from tests/CMakeLists.txt.
foreach(var BUILD_DIR PREFIX CONSUMER_SOURCE CONSUMER_BUILD GENERATOR CXX_COMPILER EXPECTED_VERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_install.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${what} failed (exit ${rc})\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# A fresh prefix and consumer build every run.
file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BUILD}")

set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})
message(STATUS "installed into ${PREFIX}")

# The consumer sees only the prefix: the package registries (which could point at a build
# tree) are off, and CMAKE_PREFIX_PATH is the prefix alone.
set(configure ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${CONSUMER_BUILD}" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${PREFIX}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
if(MAKE_PROGRAM)
  list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_SCAN_DEPS)
  list(APPEND configure "-DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=${CXX_SCAN_DEPS}")
endif()
if(BUILD_TYPE)
  list(APPEND configure "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
run("configuring examples/consumer" ${configure})
string(REGEX MATCH "varscope ([0-9.]+) from ([^\n]*)" found "${last_output}")
if(NOT found)
  message(FATAL_ERROR "install_consumer: the consumer's configure did not report the varscope it found:\n${last_output}")
endif()
set(found_version "${CMAKE_MATCH_1}")
set(found_dir "${CMAKE_MATCH_2}")
file(REAL_PATH "${PREFIX}" real_prefix)
file(REAL_PATH "${found_dir}" real_found)
string(FIND "${real_found}/" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "install_consumer: the consumer found varscope in ${found_dir}, not in the prefix ${PREFIX}")
endif()
if(NOT found_version STREQUAL EXPECTED_VERSION)
  message(FATAL_ERROR "install_consumer: installed version ${found_version}, the build says ${EXPECTED_VERSION}")
endif()

run("building examples/consumer" ${CMAKE_COMMAND} --build "${CONSUMER_BUILD}")
run("running the consumer" "${CONSUMER_BUILD}/consumer")
message(STATUS "consumer output:\n${last_output}")

# The installed CLI and data.
run("installed varscope tour --list" "${PREFIX}/bin/varscope" tour --list)
foreach(f lib/cmake/varscope/varscopeConfigVersion.cmake share/varscope/models/dates.json
          share/doc/varscope/README.md share/doc/varscope/CHANGELOG.md)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "install_consumer: ${PREFIX}/${f} was not installed")
  endif()
endforeach()
message(STATUS "install_consumer: ok (varscope ${found_version} from ${found_dir})")
