"""Errors that say what went wrong, what was expected, and how to fix it."""


class ChainruleError(ValueError):
    """A user mistake: names the operation, what was expected, what was given, and the fix.

    Subclasses ValueError so ``except ValueError`` code keeps working.
    """

    def __init__(self, op, expected=None, actual=None, fix=None, message=None):
        self.op, self.expected, self.actual, self.fix = op, expected, actual, fix
        lines = [f"{op}: {message}" if message else f"invalid input to {op}"]
        if expected is not None:
            lines.append(f"  Expected: {expected}")
        if actual is not None:
            lines.append(f"  Actual:   {actual}")
        if fix is not None:
            lines.append(f"  Fix:      {fix}")
        super().__init__("\n".join(lines))


class ChainruleTypeError(ChainruleError, TypeError):
    """The same, for wrong kinds of value (non-scalar loss, integer inputs...)."""


def describe(x):
    """Short 'shape (2, 3) float32' text for error messages."""
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return f"{type(x).__name__} {x!r}"[:80]
    return f"shape {tuple(shape)} {dtype}"
