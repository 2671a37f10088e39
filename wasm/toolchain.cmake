# wasm/toolchain.cmake -- CMake toolchain file: Emscripten 3.1.6 (Debian) driven
# by LLVM 19, with C++20 named-module scanning and node as test emulator.
#
# Use from a preset:  "toolchainFile": "${sourceDir}/wasm/toolchain.cmake"
# The patched emscripten copy is made by wasm/setup-toolchain.sh; this file runs
# that script itself when the copy is missing or out of date (set
# -DVARSCOPE_WASM_AUTO_SETUP=OFF to forbid that).  Cache root: $VARSCOPE_CACHE,
# default $HOME/.cache/varscope -- the same logic as the script.
#
# Provides:
#   VARSCOPE_WASM_SYSROOT_INCLUDE  header-only include dir holding Eigen/,
#                                  unsupported/, nlohmann/, boost/, fmt/ (symlinks)
#   VARSCOPE_EMSCRIPTEN_ROOT       the patched emscripten copy
#   VARSCOPE_WASM_NODE             node used to run the outputs (also the
#                                  CMAKE_CROSSCOMPILING_EMULATOR, so add_test on
#                                  an executable target runs `node <target>.js`)
#   EMSCRIPTEN (=1), CMAKE_EXECUTABLE_SUFFIX .js, CMAKE_SYSTEM_NAME Emscripten

if(DEFINED ENV{VARSCOPE_CACHE} AND NOT "$ENV{VARSCOPE_CACHE}" STREQUAL "")
  set(_vs_root "$ENV{VARSCOPE_CACHE}")
elseif(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
  set(_vs_root "$ENV{HOME}/.cache/varscope")
else()
  message(FATAL_ERROR "varscope wasm toolchain: neither VARSCOPE_CACHE nor HOME is set")
endif()
get_filename_component(_vs_root "${_vs_root}" ABSOLUTE)
set(_vs_em "${_vs_root}/emscripten-llvm19")
set(_vs_setup "${CMAKE_CURRENT_LIST_DIR}/setup-toolchain.sh")

# (Re)create the patched copy when its stamp does not match the setup script.
option(VARSCOPE_WASM_AUTO_SETUP "Run wasm/setup-toolchain.sh from the toolchain file when needed" ON)
set(_vs_ok FALSE)
if(EXISTS "${_vs_em}/.varscope-stamp" AND EXISTS "${_vs_em}/em++" AND EXISTS "${_vs_root}/include")
  file(SHA256 "${_vs_setup}" _vs_hash)
  file(READ "/usr/share/emscripten/emscripten-version.txt" _vs_emver)
  string(STRIP "${_vs_emver}" _vs_emver)
  file(READ "${_vs_em}/.varscope-stamp" _vs_stamp)
  string(STRIP "${_vs_stamp}" _vs_stamp)
  if(_vs_stamp STREQUAL "script=${_vs_hash} emscripten=${_vs_emver}")
    set(_vs_ok TRUE)
  endif()
endif()
if(NOT _vs_ok)
  if(NOT VARSCOPE_WASM_AUTO_SETUP)
    message(FATAL_ERROR "varscope wasm toolchain: ${_vs_em} missing or stale; run ${_vs_setup}")
  endif()
  message(STATUS "varscope wasm toolchain: running ${_vs_setup}")
  execute_process(COMMAND bash "${_vs_setup}" RESULT_VARIABLE _vs_rc)
  if(NOT _vs_rc EQUAL 0)
    message(FATAL_ERROR "varscope wasm toolchain: ${_vs_setup} failed (exit ${_vs_rc})")
  endif()
endif()

set(VARSCOPE_EMSCRIPTEN_ROOT "${_vs_em}" CACHE PATH "Patched emscripten copy (LLVM 19)" FORCE)
set(VARSCOPE_WASM_SYSROOT_INCLUDE "${_vs_root}/include" CACHE PATH
    "Header-only include dir for wasm builds: Eigen, nlohmann, boost, fmt" FORCE)

# node: the one the emscripten config uses.
file(STRINGS "${_vs_em}/.emscripten" _vs_node_line REGEX "^NODE_JS = ")
string(REGEX REPLACE "^NODE_JS = '(.*)'.*$" "\\1" _vs_node "${_vs_node_line}")
set(VARSCOPE_WASM_NODE "${_vs_node}" CACHE FILEPATH "node for running wasm outputs" FORCE)
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_vs_node}" CACHE FILEPATH "Run wasm targets under node")
endif()

# em* launchers in the copy export EM_CONFIG themselves; this covers direct
# python invocations from this CMake process too.
set(ENV{EM_CONFIG} "${_vs_em}/.emscripten")
unset(ENV{EM_CACHE})

# Emscripten's own toolchain/platform file (patched to call the copy's tools).
set(EMSCRIPTEN_ROOT_PATH "${_vs_em}")
include("${_vs_em}/cmake/Modules/Platform/Emscripten.cmake")

# C++20 modules: scanner that sees em++'s real clang flags.
set(CMAKE_CXX_COMPILER_CLANG_SCAN_DEPS "${_vs_em}/em-clang-scan-deps" CACHE FILEPATH
    "clang-scan-deps wrapper for em++" FORCE)

unset(_vs_ok)
unset(_vs_hash)
unset(_vs_stamp)
unset(_vs_emver)
unset(_vs_node_line)
