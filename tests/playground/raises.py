# tests/playground/raises.py — an uncaught exception: the runner prints what came before, then
# the traceback on stderr, and exits 1.
print("before the error")


def make_variable(name):
    raise ValueError(f"Variable {name} already exists, disallowed.")


make_variable("decoder/kernel")
print("never printed")
