# tests/playground/exits.py — sys.exit(N) is the runner's exit code; argv is [FILE, ARGS...].
import sys

print("args", sys.argv[1:])
sys.exit(int(sys.argv[1]))
