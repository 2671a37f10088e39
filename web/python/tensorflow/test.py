"""tf.test for the varscope playground: a small tf.test.TestCase stand-in (unittest.TestCase with a fresh
default graph per test method, as TF's harness gives; cached_session/test_session/session yielding a
tf.Session; evaluate; assertAllEqual/assertAllClose/assertRaisesRegexp/assertStartsWith) and tf.test.main."""
import unittest

from ._bridge import unsupported


class TestCase(unittest.TestCase):
    def setUp(self):
        from . import reset_default_graph
        reset_default_graph()

    def _session(self, graph=None):
        from . import Session
        return Session(graph=graph)

    def cached_session(self, graph=None, config=None, use_gpu=False, force_gpu=False):
        return self._session(graph)

    test_session = session = cached_session

    def evaluate(self, tensors):
        from ._session import _fetch
        return _fetch(tensors)

    @staticmethod
    def _flat(x):
        if hasattr(x, "tolist"):
            x = x.tolist()
        if hasattr(x, "numpy_value"):
            x = x.numpy_value().tolist()
        return x

    def assertAllEqual(self, a, b, msg=None):
        self.assertEqual(self._flat(a), self._flat(b), msg)

    def assertAllClose(self, a, b, rtol=1e-6, atol=1e-6, msg=None):
        a, b = self._flat(a), self._flat(b)

        def walk(x, y):
            if isinstance(x, list) or isinstance(y, list):
                self.assertEqual(len(x), len(y), msg)
                for p, q in zip(x, y):
                    walk(p, q)
            else:
                self.assertLessEqual(abs(x - y), atol + rtol * abs(y), msg)
        walk(a, b)

    def assertStartsWith(self, actual, expected_start, msg=None):
        self.assertTrue(actual.startswith(expected_start), msg or f"{actual!r} does not start with {expected_start!r}")

    assertRaisesRegexp = unittest.TestCase.assertRaisesRegex

    def assertItemsEqual(self, a, b, msg=None):
        self.assertCountEqual(a, b, msg)


def main(argv=None):
    """Runs the __main__ module's TestCase methods (unittest.main without sys.exit)."""
    loader = unittest.TestLoader()
    names = loader.getTestCaseNames
    # test_session is TestCase API (a session), not a test method
    loader.getTestCaseNames = lambda cls: [n for n in names(cls) if n != "test_session"]
    result = unittest.main(argv=argv or ["tf.test"], exit=False, verbosity=2, testLoader=loader).result
    if not result.wasSuccessful():
        raise SystemExit(1)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.test.{name}")
