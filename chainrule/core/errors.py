"""Errors that say what went wrong, what was expected, and how to fix it."""
import numpy as np


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


class TensorConversionError(ChainruleTypeError):
    """A Tensor that needs gradients was about to become a plain ndarray (losing them)."""


class TraceError(ChainruleTypeError):
    """chainrule.compile met something a recorded program cannot replay (Python control flow on
    a traced value, a traced value turned into plain NumPy, an in-place write...)."""


class TracedConversionError(TraceError, TensorConversionError):
    """A Tensor or array that chainrule.compile is tracing was about to become a plain value."""


class ChainruleWarning(UserWarning):
    """Something legal that is probably not what was meant (e.g. a gradient that is zero
    because the output does not depend on the input)."""


class ChainruleRuntimeError(ChainruleError, RuntimeError):
    """The same for PyTorch's autograd errors (RuntimeError there): unused inputs, hooks on
    Tensors without gradients, a second backward through a freed graph."""


class ChainruleIndexError(ChainruleError, IndexError):
    """An index out of range or of the wrong kind."""


class ChainruleLinAlgError(ChainruleError, np.linalg.LinAlgError):
    """A singular or non-positive-definite matrix."""

_HINTS = (
    ("could not be broadcast", "make the shapes broadcast-compatible: trailing dimensions must be "
                               "equal or 1 (reshape, transpose, or add an axis with x[:, None])"),
    ("matmul", "the inner dimensions must agree: (..., n, k) @ (..., k, m); transpose one operand "
               "(x.T) if it is the wrong way round"),
    ("shapes", "check the operands' shapes (printed above)"),
    ("Singular", "the matrix is singular: use pinv or lstsq, or regularise it (A + εI)"),
    ("positive definite", "the matrix is not positive definite: symmetrise it and add εI"),
    ("out of bounds", "use an index within the shape printed above"),
    ("cannot reshape", "the new shape must have the same number of elements; use -1 for one "
                       "dimension to let it be inferred"),
)


def op_error(op, raw_args, exc):
    """Turn NumPy's complaint about a user's arguments into an Expected/Actual/Fix error.

    ``op.expects`` (what valid arguments look like, and the fix) is used when the
    primitive has one; otherwise the fix is guessed from NumPy's message.
    """
    if isinstance(exc, ChainruleError):
        return exc
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if text.startswith(f"{op.name}: "):          # NumPy's own messages often name the op
        text = text[len(op.name) + 2:]
    shown = [describe(a) for a in raw_args if hasattr(a, "shape")]
    actual = "arguments " + ", ".join(shown) if shown else None
    expected, fix = op.expects or (None, None)
    if fix is None:
        fix = next((hint for key, hint in _HINTS if key in text),
                   "check the arguments' shapes and dtypes")
    if isinstance(exc, np.linalg.LinAlgError):
        cls = ChainruleLinAlgError
    elif isinstance(exc, IndexError):
        cls = ChainruleIndexError
    elif isinstance(exc, TypeError):
        cls = ChainruleTypeError
    else:
        cls = ChainruleError
    return cls(op.name, message=text, expected=expected, actual=actual, fix=fix)
