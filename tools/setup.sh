#!/usr/bin/env bash
# The two set-up commands of README.md:
#   bash tools/setup.sh tour   install everything, build (native), run `varscope tour` and decode a
#                              few dates with the trained model (models/dates.json), then build
#                              the browser demo (wasm) and serve it on 127.0.0.1 (prints the URL)
#   bash tools/setup.sh test   install everything, build and run every test suite
#                              (native, asan, tsan, wasm under node, 60 s each of checkpoint and decode fuzzing);
#                              exits non-zero on any failure
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in tour|test) ;; *) echo "usage: bash tools/setup.sh tour|test" >&2; exit 2 ;; esac

bash tools/install-deps.sh
cmake=node_modules/.bin/cmake

if [ "$mode" = tour ]; then
  $cmake --preset native >/dev/null
  $cmake --build --preset native --target varscope_cli
  ./build/native/varscope tour
  echo "== beyond the article: the trained date model (models/dates.json, built into the binary) decoding with beam search"
  ./build/native/varscope decode --beam 4 --n-best 2 \
    "Tuesday, December 1, 2026" "令和元年5月1日" "01.12.2026" "dec 1st,   2026"
  echo "== building the browser demo (WebAssembly; the first build also compiles emscripten's libraries)"
  $cmake --preset wasm >/dev/null
  $cmake --build --preset wasm --target varscope_web
  echo "== serving the demo; open the URL below, Ctrl-C to stop"
  exec node tools/serve-web.mjs --port "${VARSCOPE_DEMO_PORT:-8765}"
fi

failed=()
for preset in native asan tsan wasm fuzz; do
  echo
  echo "================ $preset: configure, build, test ================"
  if [ "$preset" = wasm ]; then
    # The browser test compares the page's numbers with the native build of the same bindings.
    $cmake --preset wasm -DVARSCOPE_NATIVE_WEB_EXE="$PWD/build/native/varscope_web_native" >/dev/null || true
  fi
  if ! $cmake --workflow --preset "$preset"; then failed+=("$preset"); fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED presets: ${failed[*]}"
  exit 1
fi
echo "All test presets passed: native asan tsan wasm fuzz"
