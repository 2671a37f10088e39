#!/usr/bin/env bash
# The two set-up commands of README.md:
#   bash tools/setup.sh tour   install everything, build (native), run `varscope tour`
#   bash tools/setup.sh test   install everything, build and run every test suite
#                              (native, asan, wasm under node, 60 s of checkpoint fuzzing);
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
  exec ./build/native/varscope tour
fi

failed=()
for preset in native asan wasm fuzz; do
  echo
  echo "================ $preset: configure, build, test ================"
  if ! $cmake --workflow --preset "$preset"; then failed+=("$preset"); fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED presets: ${failed[*]}"
  exit 1
fi
echo "All test presets passed: native asan wasm fuzz"
