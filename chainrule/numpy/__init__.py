"""``import chainrule.numpy as cnp``: NumPy's API, differentiable.

Every function here accepts Tensors, arrays and Python numbers.  With plain
arrays it is NumPy; with Tensors it records what it did so gradients can flow
back.  Names chainrule does not differentiate (constants, dtypes, array
creation such as ``zeros`` or ``arange``) are NumPy's own.
"""
import sys as _sys

import numpy as _np

from ..core.primitive import astype as _astype
from ..core.tensor import Tensor as _Tensor
from ..ops.assembly import *  # noqa: F401,F403
from ..ops.complex import *  # noqa: F401,F403
from ..ops.construction import *  # noqa: F401,F403
from ..ops.eig import *  # noqa: F401,F403
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.indexing import *  # noqa: F401,F403
from ..ops.linalg import *  # noqa: F401,F403
from ..ops.padding import *  # noqa: F401,F403
from ..ops.polynomial import *  # noqa: F401,F403
from ..ops.reductions import *  # noqa: F401,F403
from ..ops.selection import *  # noqa: F401,F403
from ..ops.shape import *  # noqa: F401,F403
from ..ops.signal import *  # noqa: F401,F403
from ..ops.statistics import *  # noqa: F401,F403
from ..ops.user_functions import *  # noqa: F401,F403
from ..ops.vectors import *  # noqa: F401,F403
from . import fft, linalg  # noqa: F401
from . import dispatch as _dispatch
from . import signatures as _signatures
from .dispatch import HANDLED_FUNCTIONS, UFUNCS  # noqa: F401

true_divide = divide  # noqa: F405
absolute = abs  # noqa: F405


def astype(x, dtype, /, *, copy=True, device=None):
    """``np.astype``: the gradient is cast back to x's dtype.  A Tensor result is always a new
    Tensor (copy=False only saves a copy for plain arrays)."""
    if device not in (None, "cpu"):
        raise ValueError(f"astype: device must be None or 'cpu', not {device!r}")
    if getattr(x, "_chainrule_traced", False):   # a value chainrule.compile is recording
        return _astype(x, _np.dtype(dtype))
    if not isinstance(x, _Tensor):
        return _np.asarray(x).astype(dtype, copy=copy)
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


def _loop_under_vmap(space):
    """Functions written in Python that read their arguments' values (sorting, counting) run
    once per example inside vmap instead of failing; primitives batch by their rules."""
    import types
    from ..core.batching import looping_under_vmap
    for name, fn in list(vars(space).items()):
        if type(fn) is types.FunctionType and not name.startswith("_") and \
                fn.__module__.startswith("chainrule.ops."):
            setattr(space, name, looping_under_vmap(fn))


for _space in (_sys.modules[__name__], linalg, fft):
    _loop_under_vmap(_space)
_signatures.install(((_np, _sys.modules[__name__]), (_np.linalg, linalg)))
_dispatch.build()       # NumPy's functions -> these, once, before any thread can call them


def __getattr__(name):
    # constants, dtypes, creation routines...: NumPy's own, not differentiated
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"chainrule.numpy has no attribute {name!r} (nor does numpy)") from None
