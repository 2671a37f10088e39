"""Shared by the playground's Python test scripts (run by tools/tf1-python.mjs): a check list that prints
'ok' / 'FAIL' per check and exits 1 at the end if any failed, golden-data tensors (tests/data's
{"shape", "data"} layout) as tf.constant, golden weights loaded by variable name, flattening of results, and closeness within a tolerance."""
import json
import sys

import numpy as np
import tensorflow as tf

_failed = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        _failed.append(what)
    return ok


def raises(exc_type, fn, starts=None, contains=None, what=""):
    """fn() must raise exc_type whose message starts with / contains the given text."""
    try:
        fn()
    except exc_type as e:
        text = str(e)
        ok = (starts is None or text.startswith(starts)) and (contains is None or contains in text)
        return check(ok, f"{what}: {exc_type.__name__}: {text[:160]}")
    except Exception as e:  # noqa: BLE001 - reported as the failure
        return check(False, f"{what}: expected {exc_type.__name__}, got {type(e).__name__}: {e}")
    return check(False, f"{what}: expected {exc_type.__name__}, nothing raised")


def finish():
    print(f"{'FAILED' if _failed else 'passed'}: {len(_failed)} failed")
    sys.exit(1 if _failed else 0)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def golden(entry, dtype=tf.float32):
    """A golden {"shape", "data"} (or a list of ints) as a tf.constant."""
    if isinstance(entry, list):
        return tf.constant(entry, dtype=dtype)
    return tf.constant(entry["data"], dtype=dtype, shape=entry["shape"])


def load_golden_params(params, sess, label):
    """The default graph's variables must be the golden's, by TF's names in creation order; then each
    variable gets its golden value (Variable.load)."""
    variables = tf.global_variables()
    check([v.name for v in variables] == [n + ":0" for n in params],
          f"{label}TF's variable names in creation order: {[v.name for v in variables]}")
    for v in variables:
        v.load(golden(params[v.name[:-2]]), sess)


def flat(value):
    """Every number of a Tensor / numpy-mini array / nested list, in row-major order."""
    if isinstance(value, tf.Tensor):
        value = value.numpy_value()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return [x for v in value for x in flat(v)]
    return [value]


def max_error(got, want):
    """The largest |got - want| / max(1, |want|) (inf when the sizes differ)."""
    g, w = flat(got), flat(want)
    if len(g) != len(w):
        return float("inf")
    return max((abs(a - b) / max(1.0, abs(b)) for a, b in zip(g, w)), default=0.0)


def close(got, want, tol, what):
    err = max_error(got, want)
    return check(err <= tol, f"{what}: max error {err:.2e} <= {tol:.0e}")
