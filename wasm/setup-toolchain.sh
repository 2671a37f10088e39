#!/usr/bin/env bash
# wasm/setup-toolchain.sh -- prepare an Emscripten toolchain driven by LLVM 19
# for building varscope (C++20 named modules) to WebAssembly.
#
# Debian 12's emscripten (3.1.6, /usr/share/emscripten) runs on clang-14, which
# CMake cannot use for C++20 module scanning.  This script makes a patched COPY
# of it that runs on clang-19 / wasm-ld-19, plus the small helpers the CMake
# toolchain file (wasm/toolchain.cmake) needs.  Everything comes from Debian
# packages; nothing is downloaded.  See wasm/README.md for what each patch does.
#
# Output (default root $HOME/.cache/varscope, override with VARSCOPE_CACHE):
#   $ROOT/emscripten-llvm19/      patched emscripten copy (+ .emscripten config,
#                                 em++/emcc/... launchers, em-clang-scan-deps)
#   $ROOT/emscripten-llvm19/llvm-bin/  LLVM tool dir given to emscripten
#   $ROOT/emcache/                writable emscripten cache (system libraries)
#   $ROOT/include/                header-only include dir: Eigen, unsupported,
#                                 nlohmann, boost, fmt (symlinks into /usr/include)
#
# Usage: wasm/setup-toolchain.sh [--prebuild | --prebuild-all] [--force] [--quiet]
#   --prebuild      also warm the emscripten cache for optimized (-O1..-O3) links
#                   with -fexceptions: libc, libc++/libc++abi (exceptions),
#                   compiler-rt, dlmalloc, embind, stubs...; the first time this
#                   takes ~7 min on 2 cores, afterwards ~20 s.
#   --prebuild-all  also the -O0 (ASSERTIONS: libc-debug, ~3 min more) and
#                   no-exceptions (libc++-noexcept, ~1 min more) variants.
#   --force     redo the copy even if the stamp is up to date.
#   --quiet     print nothing on success when already up to date.
# Idempotent: a stamp holding the hash of this script (and Debian's emscripten
# version) short-circuits reruns (< 1 s).  Changing this script redoes the copy;
# if the library sources/config changed too, the emscripten cache is wiped.
set -euo pipefail

die() { echo "setup-toolchain: ERROR: $*" >&2; exit 1; }
note() { echo "setup-toolchain: $*" >&2; }

PREBUILD=0 FORCE=0 QUIET=0
for a in "$@"; do
  case "$a" in
    --prebuild) PREBUILD=1 ;;
    --prebuild-all) PREBUILD=2 ;;
    --force) FORCE=1 ;;
    --quiet|-q) QUIET=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$a' (try --help)" ;;
  esac
done

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
if [[ -n "${VARSCOPE_CACHE:-}" ]]; then
  ROOT=$VARSCOPE_CACHE
else
  [[ -n "${HOME:-}" ]] || die "neither VARSCOPE_CACHE nor HOME is set"
  ROOT=$HOME/.cache/varscope
fi
mkdir -p "$ROOT" || die "cannot create cache root $ROOT"
ROOT=$(readlink -f "$ROOT")

EMSRC=/usr/share/emscripten
LLVM19=/usr/lib/llvm-19/bin
EMDIR=$ROOT/emscripten-llvm19
EMCACHE=$ROOT/emcache
INCDIR=$ROOT/include
STAMP=$EMDIR/.varscope-stamp

[[ -f $EMSRC/emcc.py ]] || die "$EMSRC/emcc.py not found: apt-get install emscripten"
EXPECTED_STAMP="script=$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1) emscripten=$(cat "$EMSRC/emscripten-version.txt")"

summary() {
  [[ $QUIET == 1 ]] && return 0
  cat >&2 <<EOF
setup-toolchain: ready (cache root: $ROOT)
  emscripten copy : $EMDIR   (em++: $EMDIR/em++)
  em config       : $EMDIR/.emscripten
  emscripten cache: $EMCACHE
  scan-deps       : $EMDIR/em-clang-scan-deps
  header includes : $INCDIR  ($(cd "$INCDIR" && echo *))
  toolchain file  : $(dirname "$SCRIPT_PATH")/toolchain.cmake
EOF
}

prebuild() {
  local t0=$SECONDS d
  note "warming the emscripten cache in $EMCACHE (first time ~5-6 min on 2 cores) ..."
  d=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$d'" RETURN
  cat > "$d/warm.cpp" <<'EOF'
#include <stdexcept>
#include <string>
#include <vector>
#include <cstdio>
int main(int argc, char**) {
  std::vector<std::string> v{"a", "b"};
  try { if (argc > 0) throw std::runtime_error("x"); } catch (const std::exception& e) { v.push_back(e.what()); }
  std::printf("%zu\n", v.size());
  return 0;
}
EOF
  cat > "$d/bind.cpp" <<'EOF'
#include <emscripten/bind.h>
int add(int a, int b) { return a + b; }
EMSCRIPTEN_BINDINGS(m) { emscripten::function("add", &add); }
EOF
  local opt opts=(-O2)
  [[ $PREBUILD == 2 ]] && opts=(-O2 -O0)
  for opt in "${opts[@]}"; do
    "$EMDIR/em++" -std=c++20 "$opt" -fexceptions -msimd128 "$d/warm.cpp" -o "$d/w_ex$opt.js" || die "prebuild ($opt, exceptions) failed"
    "$EMDIR/em++" -std=c++20 "$opt" -fexceptions "$d/bind.cpp" -lembind -sMODULARIZE=1 -sEXPORT_ES6=1 -o "$d/b$opt.mjs" || die "prebuild ($opt, embind) failed"
    if [[ $PREBUILD == 2 ]]; then
      "$EMDIR/em++" -std=c++20 "$opt" -msimd128 "$d/warm.cpp" -o "$d/w_noex$opt.js" || die "prebuild ($opt, no exceptions) failed"
    fi
  done
  "$NODE" "$d/w_ex-O2.js" >/dev/null || die "prebuild: warm-up program does not run under node"
  note "cache warm ($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- fast path
if [[ $FORCE == 0 && -f $STAMP && "$(cat "$STAMP")" == "$EXPECTED_STAMP" \
      && -x $EMDIR/em++ && -d $INCDIR ]]; then
  NODE=$(sed -n "s/^NODE_JS = '\(.*\)'$/\1/p" "$EMDIR/.emscripten")
  (( PREBUILD )) && prebuild
  summary
  exit 0
fi

# ---------------------------------------------------------------- prerequisites
t_start=$SECONDS
command -v python3 >/dev/null || die "python3 not found (needed by emscripten)"
for t in clang clang++ wasm-ld; do
  [[ -x $LLVM19/$t ]] || die "$LLVM19/$t missing: apt-get install clang-19 lld-19"
done
SCAN_DEPS=$(command -v clang-scan-deps-19 || true)
[[ -n $SCAN_DEPS ]] || SCAN_DEPS=$LLVM19/clang-scan-deps
[[ -x $SCAN_DEPS ]] || die "clang-scan-deps-19 missing: apt-get install clang-tools-19"
[[ -x /usr/bin/wasm-opt && -x /usr/bin/wasm-emscripten-finalize ]] \
  || die "binaryen (wasm-opt, wasm-emscripten-finalize) missing in /usr/bin: apt-get install binaryen"
NODE=$(command -v node || command -v nodejs || true)
[[ -n $NODE ]] || die "node not found: apt-get install nodejs"
NODE=$(readlink -f "$NODE")
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
(( node_major >= 16 )) || die "node >= 16 required (found $("$NODE" --version))"
if [[ ! -f /usr/share/nodejs/acorn/package.json ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    note "NOTE: /usr/share/nodejs/acorn missing; installing Debian package node-acorn"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q node-acorn >&2 \
      || die "apt-get install node-acorn failed"
  else
    die "/usr/share/nodejs/acorn missing: apt-get install node-acorn"
  fi
fi
missing_hdr=()
[[ -f /usr/include/eigen3/Eigen/Dense ]] || missing_hdr+=(libeigen3-dev)
[[ -f /usr/include/nlohmann/json.hpp ]] || missing_hdr+=(nlohmann-json3-dev)
[[ -f /usr/include/boost/test/included/unit_test.hpp ]] || missing_hdr+=(libboost-test-dev)
[[ -f /usr/include/fmt/format.h ]] || missing_hdr+=(libfmt-dev)
((${#missing_hdr[@]} == 0)) || note "WARNING: header packages missing (links skipped): ${missing_hdr[*]}"

# ---------------------------------------------------------------- (re)build copy
exec 9>"$ROOT/.setup.lock"
flock 9
note "creating patched emscripten copy in $EMDIR ..."
TMP=$EMDIR.tmp.$$
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP"
# Debian's prebuilt cache (750 MB, built by clang-14) and its config are not copied.
tar -C "$EMSRC" --exclude=./cache --exclude=./.emscripten --exclude='__pycache__' -cf - . \
  | tar -C "$TMP" -xf - || die "copying $EMSRC failed"

# LLVM tool dir: clang/wasm-ld from LLVM 19; binutils-like tools from llvm-19
# when installed, else LLVM 14's (they only read/write archives and objects).
mkdir -p "$TMP/llvm-bin"
for t in clang clang++ wasm-ld llvm-ar llvm-ranlib llvm-nm llvm-objcopy llvm-dwarfdump \
         llvm-dwp llvm-strip llc opt llvm-link llvm-mc lli llvm-dis; do
  src=""
  if [[ -x $LLVM19/$t ]]; then src=$LLVM19/$t
  elif [[ -x /usr/bin/$t-14 ]]; then src=/usr/bin/$t-14
  fi
  [[ -n $src ]] && ln -s "$src" "$TMP/llvm-bin/$t"
done
for t in clang clang++ wasm-ld llvm-ar llvm-ranlib llvm-nm llc; do
  [[ -e $TMP/llvm-bin/$t ]] || die "no usable $t for $TMP/llvm-bin"
done

cat > "$TMP/.emscripten" <<EOF
# Generated by varscope wasm/setup-toolchain.sh -- emscripten 3.1.6 on LLVM 19.
import os
EMSCRIPTEN_ROOT = '$EMDIR'
LLVM_ROOT = '$EMDIR/llvm-bin'
BINARYEN_ROOT = '/usr'
NODE_JS = '$NODE'
CACHE = '$EMCACHE'
FROZEN_CACHE = False
JAVA = 'java'
CLOSURE_COMPILER = 'closure-compiler'
EOF

# Launchers (Debian's /usr/bin/em* wrappers hard-code /usr/share/emscripten).
for t in emcc em++ emar emranlib em-config embuilder emcmake emconfigure emmake emsize emrun emprofile; do
  [[ -f $TMP/$t.py ]] || continue
  cat > "$TMP/$t" <<EOF
#!/bin/sh
# varscope: run the patched emscripten copy with its own config.
EM_CONFIG='$EMDIR/.emscripten'; export EM_CONFIG
unset EM_CACHE EM_FROZEN_CACHE EM_LLVM_ROOT EM_BINARYEN_ROOT EM_NODE_JS
exec "\${EMSDK_PYTHON:-python3}" '$EMDIR/$t.py' "\$@"
EOF
  chmod +x "$TMP/$t"
done

# acorn for tools/acorn-optimizer.js (Debian's node does not search /usr/share/nodejs).
mkdir -p "$TMP/node_modules"
ln -s /usr/share/nodejs/acorn "$TMP/node_modules/acorn"

# Source patches (each must apply exactly once, else fail loudly).
python3 - "$TMP" <<'PYEOF' || die "patching the emscripten copy failed"
import re, subprocess, sys, pathlib
root = pathlib.Path(sys.argv[1])

def patch(rel, old, new, count=1):
    p = root / rel
    s = p.read_text()
    n = s.count(old)
    if n != count:
        sys.exit(f"patch target not found {n}x (expected {count}) in {rel}: {old[:70]!r}")
    p.write_text(s.replace(old, new))

# 1. libc pthread stub: K&R-style definitions are an error with clang >= 15.
patch('system/lib/pthread/library_pthread_stub.c',
      'int pthread_setcancelstate() {', 'int pthread_setcancelstate(int state, int *old) {')
patch('system/lib/pthread/library_pthread_stub.c',
      'int pthread_setcanceltype() {', 'int pthread_setcanceltype(int type, int *old) {')
# 2. libc++ sources trip -Wunqualified-std-cast-call (clang >= 15) under -Werror.
patch('tools/system_libs.py',
      "cflags = ['-DLIBCXX_BUILDING_LIBCXXABI=1', '-D_LIBCPP_BUILDING_LIBRARY', '-Oz',",
      "cflags = ['-DLIBCXX_BUILDING_LIBCXXABI=1', '-D_LIBCPP_BUILDING_LIBRARY', '-Oz',\n"
      "            '-Wno-unqualified-std-cast-call',")
# 3. libc++abi defines std::unexpected & co, removed in C++17 (clang >= 16 default).
patch('tools/system_libs.py',
      "      '-D_LIBCXXABI_BUILDING_LIBRARY',\n",
      "      '-D_LIBCXXABI_BUILDING_LIBRARY',\n"
      "      '-D_LIBCPP_ENABLE_CXX17_REMOVED_UNEXPECTED_FUNCTIONS',\n"
      "      '-Wno-unqualified-std-cast-call',\n")
# 5. node >= 18 has a global fetch() that cannot load a file path: never use
#    streaming fetch under node (upstream fix: emscripten 3.1.2x).
patch('src/preamble.js',
      "        !isFileURI(wasmBinaryFile) &&\n#endif\n        typeof fetch == 'function') {",
      "        !isFileURI(wasmBinaryFile) &&\n#endif\n"
      "#if ENVIRONMENT_MAY_BE_NODE\n        !ENVIRONMENT_IS_NODE &&\n#endif\n"
      "        typeof fetch == 'function') {")
# 6. -sEXPORT_ES6 output under node: ES modules have no require/__dirname.
#    Define require via module.createRequire (top-level await, only under node)
#    and derive scriptDirectory from import.meta.url (_scriptDir).
patch('src/shell.js',
      "  } else {\n    scriptDirectory = __dirname + '/';\n  }",
      "  } else {\n#if EXPORT_ES6\n"
      "    scriptDirectory = require('path').dirname(require('url').fileURLToPath(_scriptDir)) + '/';\n"
      "#else\n    scriptDirectory = __dirname + '/';\n#endif\n  }")
patch('emcc.py',
      "  with open(final_js, 'w') as f:\n    f.write(src)\n\n    # Export using a UMD",
      "  with open(final_js, 'w') as f:\n"
      "    if settings.EXPORT_ES6 and shared.target_environment_may_be('node'):\n"
      "      f.write(NODE_ES6_REQUIRE_SHIM)\n"
      "    f.write(src)\n\n    # Export using a UMD")
patch('emcc.py',
      "def modularize():\n",
      "NODE_ES6_REQUIRE_SHIM = '''\\\n"
      "// varscope patch: an ES module has no require(); create one when running under node.\n"
      "var require = (typeof process == 'object' && typeof process.versions == 'object' &&\n"
      "               typeof process.versions.node == 'string')\n"
      "  ? (await import('module')).createRequire(import.meta.url) : undefined;\n"
      "'''\n\n\ndef modularize():\n")
#    With EXPORT_ES6 the wasm path is a file:// URL (new URL(.., import.meta.url)):
#    node's fs needs a URL object for it, not a normalized string.
patch('src/node_shell_read.js',
      "  filename = nodePath['normalize'](filename);",
      "  filename = filename.startsWith('file://') ? new URL(filename) : nodePath['normalize'](filename);",
      count=2)
# 8. C++20 modules: accept module-unit suffixes as C++ sources, and treat
#    --precompile (CMake's BMI-only rule) as a compile-only step.
patch('emcc.py',
      "CXX_ENDINGS = ('.cpp', '.cxx', '.cc', '.c++', '.CPP', '.CXX', '.C', '.CC', '.C++', '.ii')",
      "CXX_ENDINGS = ('.cpp', '.cxx', '.cc', '.c++', '.CPP', '.CXX', '.C', '.CC', '.C++', '.ii',\n"
      "               '.cppm', '.ccm', '.cxxm', '.c++m', '.ixx', '.mpp', '.mxx')")
patch('emcc.py',
      "  state.has_dash_c = '-c' in newargs\n",
      "  state.has_dash_c = '-c' in newargs or '--precompile' in newargs\n")
# 10. clang >= 16 mangles main(int, char**) as __main_argc_argv for emscripten
#     too (3.1.6 predates that): keep it exported; binaryen's finalize renames it
#     back to main (upstream emscripten PR #17099).
patch('emcc.py',
      "      settings.EXPORTED_FUNCTIONS = ['_main']\n\n  if settings.STANDALONE_WASM:\n",
      "      settings.EXPORTED_FUNCTIONS = ['_main']\n\n"
      "  if '_main' in settings.EXPORTED_FUNCTIONS:\n"
      "    settings.EXPORT_IF_DEFINED.append('__main_argc_argv')\n\n"
      "  if settings.STANDALONE_WASM:\n")
# 11. LLVM >= 19 lowers setjmp (Emscripten SjLj) to __wasm_setjmp /
#     __wasm_setjmp_test instead of saveSetjmp/testSetjmp: add them to
#     compiler-rt (same implementation as upstream emscripten 3.1.57+).
patch('system/lib/compiler-rt/emscripten_setjmp.c',
      "#ifndef __USING_WASM_SJLJ__\n",
      "// varscope patch: setjmp ABI of LLVM >= 19 (upstream emscripten 3.1.57+).\n"
      "struct __varscope_jmp_buf_impl {\n"
      "  void* func_invocation_id;\n"
      "  uint32_t label;\n"
      "};\n\n"
      "void __wasm_setjmp(void* env, uint32_t label, void* func_invocation_id) {\n"
      "  struct __varscope_jmp_buf_impl* jb = env;\n"
      "  jb->func_invocation_id = func_invocation_id;\n"
      "  jb->label = label;\n"
      "}\n\n"
      "uint32_t __wasm_setjmp_test(void* env, void* func_invocation_id) {\n"
      "  struct __varscope_jmp_buf_impl* jb = env;\n"
      "  return jb->func_invocation_id == func_invocation_id ? jb->label : 0;\n"
      "}\n\n"
      "#ifndef __USING_WASM_SJLJ__\n")
# 9. version checks: this copy deliberately runs on LLVM 19 / Debian's binaryen.
patch('tools/shared.py', "EXPECTED_LLVM_VERSION = '14.0'", "EXPECTED_LLVM_VERSION = '19.1'")
patch('tools/building.py',
      "  if version not in (EXPECTED_BINARYEN_VERSION, EXPECTED_BINARYEN_VERSION + 1):",
      "  if version < EXPECTED_BINARYEN_VERSION:")
# 7. CMake platform/toolchain file: use this copy's tools, not em* from PATH.
cm = 'cmake/Modules/Platform/Emscripten.cmake'
for tool in ('emcc', 'em++', 'emar', 'emranlib'):
    patch(cm, f'"{tool}${{EMCC_SUFFIX}}" CACHE', f'"${{EMSCRIPTEN_ROOT_PATH}}/{tool}${{EMCC_SUFFIX}}" CACHE')
patch(cm, 'execute_process(COMMAND "em-config${EMCC_SUFFIX}" "CACHE"',
      'execute_process(COMMAND "${EMSCRIPTEN_ROOT_PATH}/em-config${EMCC_SUFFIX}" "CACHE"')
PYEOF

# 7b. Dependency scanner for CMake's C++ module support.  CMake runs
#   <this> -format=p1689 -- <em++> <defines/includes/flags> -x c++ src -c -o obj -MT .. -MD -MF ..
# clang-scan-deps must see em++'s real clang flags (target, --sysroot, defines),
# so prepend the output of `em++ --cflags` (cached) and drop emscripten-only flags.
cat > "$TMP/em-clang-scan-deps" <<EOF
#!/usr/bin/env bash
# varscope: clang-scan-deps-19 with em++'s clang flags (generated by setup-toolchain.sh)
set -euo pipefail
EMDIR='$EMDIR'
SCAN='$SCAN_DEPS'
CLANGXX='$LLVM19/clang++'
SYSROOT='$EMCACHE/sysroot'
EOF
cat >> "$TMP/em-clang-scan-deps" <<'EOF'
CF=$EMDIR/.scan-cflags
if [[ ! -s $CF || ! -d $SYSROOT/include ]]; then
  exec 8>"$EMDIR/.scan-cflags.lock"; flock 8
  if [[ ! -s $CF || ! -d $SYSROOT/include ]]; then
    "$EMDIR/em++" --cflags > "$CF.tmp.$$" || { echo "em-clang-scan-deps: 'em++ --cflags' failed" >&2; exit 1; }
    mv "$CF.tmp.$$" "$CF"
  fi
  exec 8>&-
fi
raw=()
eval "raw=( $(<"$CF") )"
base=()
for ((i = 0; i < ${#raw[@]}; i++)); do
  [[ ${raw[i]} == -mllvm ]] && { i=$((i + 1)); continue; }   # backend options: irrelevant to scanning
  base+=("${raw[i]}")
done
opts=()
while (($#)) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
(($#)) && shift       # --
(($#)) && shift       # the compiler (em++)
args=()
while (($#)); do
  case "$1" in
    -s) shift 2 || shift ;;                                   # -s SETTING=VALUE
    -s[A-Z]*|--bind|--profiling|--emrun|--cpuprofiler|--memoryprofiler|--threadprofiler) shift ;;
    --pre-js|--post-js|--extern-pre-js|--extern-post-js|--js-library|--embed-file|--preload-file|\
    --exclude-file|--shell-file|--closure|--closure-args|--memory-init-file|--em-config|--cache|\
    --js-transform|--source-map-base|--use-preload-plugins|-gseparate-dwarf=*) shift 2 || shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$SCAN" "${opts[@]}" -- "$CLANGXX" "${base[@]}" "${args[@]}"
EOF
chmod +x "$TMP/em-clang-scan-deps"

# Swap in the new copy.
rm -rf "$EMDIR"
mv "$TMP" "$EMDIR"
trap - EXIT

# Wipe the emscripten cache when anything that goes into the system libraries changed.
libs_hash=$( { cd "$EMDIR" && find system tools/system_libs.py src/struct_info*.json -type f -print0 \
               | sort -z | xargs -0 sha256sum; cat .emscripten; "$LLVM19/clang" --version; } \
             | sha256sum | cut -d' ' -f1)
if [[ ! -f $EMCACHE/.varscope-libs-hash || "$(cat "$EMCACHE/.varscope-libs-hash")" != "$libs_hash" ]]; then
  [[ -d $EMCACHE ]] && note "library sources/config changed: clearing $EMCACHE"
  rm -rf "$EMCACHE"
  mkdir -p "$EMCACHE"
  echo "$libs_hash" > "$EMCACHE/.varscope-libs-hash"
fi

# Header-only include dir for the wasm build (never hand /usr/include itself to
# emscripten: glibc headers would shadow emscripten's libc).
rm -rf "$INCDIR.tmp.$$"
mkdir -p "$INCDIR.tmp.$$"
[[ -d /usr/include/eigen3/Eigen ]] && ln -s /usr/include/eigen3/Eigen "$INCDIR.tmp.$$/Eigen" \
  && ln -s /usr/include/eigen3/unsupported "$INCDIR.tmp.$$/unsupported"
[[ -d /usr/include/nlohmann ]] && ln -s /usr/include/nlohmann "$INCDIR.tmp.$$/nlohmann"
[[ -d /usr/include/boost ]] && ln -s /usr/include/boost "$INCDIR.tmp.$$/boost"
[[ -d /usr/include/fmt ]] && ln -s /usr/include/fmt "$INCDIR.tmp.$$/fmt"
rm -rf "$INCDIR"
mv "$INCDIR.tmp.$$" "$INCDIR"

# Smoke test: the copy runs on clang 19 and installs its sysroot headers.
ver=$("$EMDIR/em++" --version 2>&1 | head -1) || die "patched em++ does not run: $ver"
"$EMDIR/em++" --cflags > "$EMDIR/.scan-cflags" 2>"$EMDIR/.scan-cflags.err" \
  || die "'em++ --cflags' failed: $(cat "$EMDIR/.scan-cflags.err")"
rm -f "$EMDIR/.scan-cflags.err"
"$LLVM19/clang" --version | grep -q 'version 19' || die "$LLVM19/clang is not LLVM 19"

echo "$EXPECTED_STAMP" > "$STAMP"
flock -u 9
note "copy ready in $((SECONDS - t_start)) s ($ver)"
(( PREBUILD )) && prebuild
summary
