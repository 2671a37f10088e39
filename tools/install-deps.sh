#!/usr/bin/env bash
# Installs everything varscope needs on Debian 12, from apt and npm only.
# Idempotent: packages already present are skipped; npm ci runs only when the
# lockfile changed; the emscripten repair is stamped (wasm/setup-toolchain.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

packages=(
  clang-19 lld-19 clang-tools-19 libclang-rt-19-dev   # compiler, module scanner, sanitizers
  llvm-19                                             # llvm-symbolizer: file:line in sanitizer and fuzzer reports
  libeigen3-dev nlohmann-json3-dev libopenblas-dev    # math (Eigen, large products via OpenBLAS), JSON
  libomp-19-dev                                       # threads: LLVM OpenMP (set_num_threads, docs/threads.md)
  libboost-test-dev libcli11-dev libfmt-dev libbenchmark-dev
  emscripten binaryen node-acorn                      # WebAssembly (repaired by wasm/setup-toolchain.sh)
  chromium                                            # browser test of the web demo (tests/browser)
  fonts-ipafont-gothic                                # Japanese glyphs (the article's titles) in the demo screenshots
  python3 python3-torch                               # python3-torch: the live PyTorch round trip test (torch_live_roundtrip)
  git ca-certificates
)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "== apt: all ${#packages[@]} packages present"
fi

# npm: CMake 4 and ninja (CMake >= 3.28 is needed for C++20 modules; Debian has 3.25).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
else
  echo "== npm: node_modules up to date"
fi

bash wasm/setup-toolchain.sh
