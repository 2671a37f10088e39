#!/bin/sh
# tests/playground/run.sh — the playground checks without CMake: the same commands CTest runs for
# playground_numpy_mini and playground_runner (tests/CMakeLists.txt). Run from anywhere.
set -e
here=$(dirname "$0")
python3 "$here/check_playground.py" numpy --node "${NODE:-node}" --numpy-python "${NUMPY_PYTHON:-/usr/bin/python3}"
python3 "$here/check_playground.py" runner --node "${NODE:-node}"
