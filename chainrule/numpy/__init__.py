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
from ..ops.shape import *  # noqa: F401,F403
from . import linalg  # noqa: F401
from .dispatch import HANDLED_FUNCTIONS, UFUNCS  # noqa: F401

true_divide = divide  # noqa: F405
absolute = abs  # noqa: F405


def astype(x, dtype):
    return _astype(x, _np.dtype(dtype))


def __getattr__(name):
    # constants, dtypes, creation routines...: NumPy's own, not differentiated
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"chainrule.numpy has no attribute {name!r} (nor does numpy)") from None
