"""``import chainrule.numpy as cnp``: NumPy's API, differentiable.

Every function here accepts Tensors, arrays and Python numbers.  With plain
arrays it is NumPy; with Tensors it records what it did so gradients can flow
back.  Names chainrule does not differentiate (constants, dtypes, array
creation such as ``zeros`` or ``arange``) are NumPy's own.
"""
import numpy as _np

from ..core.primitive import astype as _astype
from ..ops.construction import *  # noqa: F401,F403
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.indexing import *  # noqa: F401,F403
from ..ops.linalg import *  # noqa: F401,F403
from ..ops.reductions import *  # noqa: F401,F403
from ..ops.selection import *  # noqa: F401,F403
from ..ops.shape import *  # noqa: F401,F403
from ..ops.statistics import *  # noqa: F401,F403
from . import linalg  # noqa: F401
from . import dispatch as _dispatch
from .dispatch import HANDLED_FUNCTIONS, UFUNCS  # noqa: F401

true_divide = divide  # noqa: F405
absolute = abs  # noqa: F405


def astype(x, dtype):
    return _astype(x, _np.dtype(dtype))


_where = where  # noqa: F405


def where(condition, x=_np._NoValue, y=_np._NoValue):
    """``np.where``: picks from x or y (differentiable in both); with only the condition it
    is ``np.nonzero`` (indices, which have no derivative)."""
    if x is _np._NoValue and y is _np._NoValue:
        return _np.nonzero(condition)
    if x is _np._NoValue or y is _np._NoValue:
        raise ValueError("either both or neither of x and y should be given")
    return _where(condition, x, y)


_dispatch.build()       # NumPy's functions -> these, once, before any thread can call them


def __getattr__(name):
    # constants, dtypes, creation routines...: NumPy's own, not differentiated
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"chainrule.numpy has no attribute {name!r} (nor does numpy)") from None
