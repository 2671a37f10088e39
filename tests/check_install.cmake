# tests/check_install.cmake — the install_consumer test (cmake -P): installs the build tree
# into a fresh prefix, then configures, builds and runs examples/consumer against that prefix
# only (no package registry, no build tree) three times — CMake's default GNU extensions,
# CMAKE_CXX_EXTENSIONS OFF and CMAKE_CXX_STANDARD 23 — checks that importers disagreeing on
# extensions or on the standard, and a g++ consumer, stop the configure with varscope's
# message, and runs the installed CLI. Any failing step fails the test with the step's
# output. Variables come from tests/CMakeLists.txt.
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

# A fresh prefix and consumer builds every run.
file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BUILD}")

set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})
message(STATUS "installed into ${PREFIX}")

# The consumer sees only the prefix: the package registries (which could point at a build
# tree) are off, and CMAKE_PREFIX_PATH is the prefix alone. It is built three times (below):
# with CMake's default GNU extensions (-std=gnu++20, what `set(CMAKE_CXX_STANDARD 20)` alone
# gives), with CMAKE_CXX_EXTENSIONS OFF (-std=c++20, as varscope itself is built) and as C++23:
# the package config makes the module interfaces' BMI follow the importer
# (cmake/varscopeConfig.cmake.in).
function(consumer_configure source build)
  set(configure ${CMAKE_COMMAND} -S "${source}" -B "${build}" -G "${GENERATOR}"
      "-DCMAKE_PREFIX_PATH=${PREFIX}"
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
      "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
      "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}" ${ARGN})
  if(MAKE_PROGRAM)
    list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(CXX_SCAN_DEPS)
    list(APPEND configure "-DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=${CXX_SCAN_DEPS}")
  endif()
  if(BUILD_TYPE)
    list(APPEND configure "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
  endif()
  execute_process(COMMAND ${configure} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(configure_rc "${rc}" PARENT_SCOPE)
  set(configure_output "${out}\n${err}" PARENT_SCOPE)
endfunction()

# The configure-only checks come first (seconds), the three consumer builds after.
# Two importers that disagree on extensions cannot share the module interfaces: the
# configure stops with varscope's message naming the fix (configure only, nothing built).
set(mixed "${CONSUMER_BUILD}/mixed-source")
file(MAKE_DIRECTORY "${mixed}")
file(WRITE "${mixed}/CMakeLists.txt" [=[
cmake_minimum_required(VERSION 3.28...4.3)
project(mixed LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(varscope REQUIRED)
add_executable(gnu main.cpp)
target_link_libraries(gnu PRIVATE varscope::varscope)
add_executable(strict main.cpp)
set_target_properties(strict PROPERTIES CXX_EXTENSIONS OFF)
target_link_libraries(strict PRIVATE varscope::varscope)
]=])
file(WRITE "${mixed}/main.cpp" "import varscope;\nint main() {}\n")
consumer_configure("${mixed}" "${CONSUMER_BUILD}/mixed")
if(configure_rc EQUAL 0 OR NOT configure_output MATCHES "disagree on GNU[ \n]+extensions")
  message(FATAL_ERROR "install_consumer: importers with different CXX_EXTENSIONS should stop the configure "
                      "with varscope's message; got exit ${configure_rc}:\n${configure_output}")
endif()
message(STATUS "mixed extensions stop the configure, as they should")

# Importers that disagree on the standard stop the configure the same way.
set(mixed_std "${CONSUMER_BUILD}/mixed-std-source")
file(MAKE_DIRECTORY "${mixed_std}")
file(WRITE "${mixed_std}/CMakeLists.txt" [=[
cmake_minimum_required(VERSION 3.28...4.3)
project(mixed_std LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(varscope REQUIRED)
add_executable(app20 main.cpp)
target_link_libraries(app20 PRIVATE varscope::varscope)
add_executable(app23 main.cpp)
target_compile_features(app23 PRIVATE cxx_std_23)
target_link_libraries(app23 PRIVATE varscope::varscope)
]=])
file(WRITE "${mixed_std}/main.cpp" "import varscope;\nint main() {}\n")
consumer_configure("${mixed_std}" "${CONSUMER_BUILD}/mixed-std")
string(REGEX REPLACE "[ \n]+" " " flat "${configure_output}")  # CMake wraps long messages
if(configure_rc EQUAL 0 OR NOT flat MATCHES "disagree on the C\\+\\+ standard: app20 \\(CXX_EXTENSIONS ON, C\\+\\+20\\), app23")
  message(FATAL_ERROR "install_consumer: importers with different C++ standards should stop the configure "
                      "with varscope's message; got exit ${configure_rc}:\n${configure_output}")
endif()
message(STATUS "mixed standards stop the configure, as they should")

# A compiler that cannot import varscope's modules (g++ 12: no module scanning in CMake) is
# refused by find_package with varscope's message naming clang, not at generate time.
find_program(GXX NAMES g++-12 g++)
if(GXX)
  set(saved_compiler "${CXX_COMPILER}")
  set(CXX_COMPILER "${GXX}")
  set(saved_scan "${CXX_SCAN_DEPS}")
  set(CXX_SCAN_DEPS "")
  set(saved_flags "${CXX_FLAGS}")
  set(CXX_FLAGS "")
  consumer_configure("${CONSUMER_SOURCE}" "${CONSUMER_BUILD}/gxx")
  set(CXX_COMPILER "${saved_compiler}")
  set(CXX_SCAN_DEPS "${saved_scan}")
  set(CXX_FLAGS "${saved_flags}")
  string(REGEX REPLACE "[ \n]+" " " flat "${configure_output}")
  if(configure_rc EQUAL 0 OR NOT flat MATCHES "Fix: configure a fresh build directory with -DCMAKE_CXX_COMPILER=clang")
    message(FATAL_ERROR "install_consumer: a g++ consumer should stop at find_package with varscope's message "
                        "naming clang; got exit ${configure_rc}:\n${configure_output}")
  endif()
  message(STATUS "a g++ consumer stops at find_package(varscope) with varscope's message, as it should")
else()
  message(STATUS "NOTE g++ not found: the non-clang consumer check NOT RUN")
endif()

# A third build is the same project with set(CMAKE_CXX_STANDARD 23): the BMI follows the
# importers' standard too (without that, clang stops with "C++23 was disabled in PCH file").
# It is also configured as a plain project would be: no -march (the library's is
# x86-64-v3; README says the consumer's need not match) and no CMAKE_BUILD_TYPE.
set(std23_source "${CONSUMER_BUILD}/std23-source")
file(MAKE_DIRECTORY "${std23_source}")
file(READ "${CONSUMER_SOURCE}/CMakeLists.txt" consumer_lists)
string(REPLACE "set(CMAKE_CXX_STANDARD 20)" "set(CMAKE_CXX_STANDARD 23)" std23_lists "${consumer_lists}")
if(std23_lists STREQUAL consumer_lists)
  message(FATAL_ERROR "install_consumer: examples/consumer/CMakeLists.txt has no set(CMAKE_CXX_STANDARD 20) to turn into 23")
endif()
file(WRITE "${std23_source}/CMakeLists.txt" "${std23_lists}")
file(COPY "${CONSUMER_SOURCE}/main.cpp" DESTINATION "${std23_source}")

foreach(extensions DEFAULT OFF STD23)
  set(build "${CONSUMER_BUILD}/extensions-${extensions}")
  set(source "${CONSUMER_SOURCE}")
  set(extra)
  set(std "-std=gnu\\+\\+20")
  if(extensions STREQUAL "OFF")
    set(extra -DCMAKE_CXX_EXTENSIONS=OFF)
    set(std "-std=c\\+\\+20")
  elseif(extensions STREQUAL "STD23")
    set(source "${std23_source}")
    set(std "-std=gnu\\+\\+23")
  endif()
  set(saved_flags "${CXX_FLAGS}")
  set(saved_type "${BUILD_TYPE}")
  if(extensions STREQUAL "STD23")
    string(REGEX REPLACE "-march=[^ ]+" "" CXX_FLAGS "${CXX_FLAGS}")
    string(STRIP "${CXX_FLAGS}" CXX_FLAGS)
    set(BUILD_TYPE "")
  endif()
  consumer_configure("${source}" "${build}" ${extra})
  set(CXX_FLAGS "${saved_flags}")
  set(BUILD_TYPE "${saved_type}")
  if(NOT configure_rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: configuring examples/consumer (extensions ${extensions}) failed "
                        "(exit ${configure_rc})\n${configure_output}")
  endif()
  string(REGEX MATCH "varscope ([0-9.]+) from ([^\n]*)" found "${configure_output}")
  if(NOT found)
    message(FATAL_ERROR "install_consumer: the consumer's configure did not report the varscope it found:\n${configure_output}")
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
  # Proof the variant is what it says: every compile line (the consumer's and the synthesized
  # BMI's) uses the same -std.
  set(stds "(not checked: no build.ninja)")
  if(EXISTS "${build}/build.ninja")
    file(READ "${build}/build.ninja" ninja)
    string(REGEX MATCHALL "-std=[a-z+0-9]+" stds "${ninja}")
    list(REMOVE_DUPLICATES stds)
  endif()
  if(EXISTS "${build}/build.ninja" AND NOT stds MATCHES "^${std}$")
    message(FATAL_ERROR "install_consumer: extensions ${extensions}: expected every compile with ${std}, got ${stds}")
  endif()
  if(extensions STREQUAL "STD23" AND EXISTS "${build}/build.ninja" AND ninja MATCHES "-march=")
    message(FATAL_ERROR "install_consumer: the C++23 consumer should compile without -march")
  endif()
  run("building examples/consumer (extensions ${extensions})" ${CMAKE_COMMAND} --build "${build}")
  run("running the consumer (extensions ${extensions})" "${build}/consumer")
  message(STATUS "consumer output (extensions ${extensions}, ${stds}):\n${last_output}")
endforeach()

# The installed CLI and data.
run("installed varscope tour --list" "${PREFIX}/bin/varscope" tour --list)
foreach(f lib/cmake/varscope/varscopeConfigVersion.cmake share/varscope/models/dates.json
          share/doc/varscope/README.md share/doc/varscope/CHANGELOG.md)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "install_consumer: ${PREFIX}/${f} was not installed")
  endif()
endforeach()
message(STATUS "install_consumer: ok (varscope ${found_version} from ${found_dir})")
