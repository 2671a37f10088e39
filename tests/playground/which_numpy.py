# tests/playground/which_numpy.py — which numpy a run imported: check_playground.py requires real
# numpy under python3 and numpy-mini (web/python, mounted at /varscope/python) under the runner.
import numpy

print(numpy.__file__)
