"""``chainrule.numpy.linalg``: differentiable ``numpy.linalg``."""
import numpy as _np

from ..ops.linalg import *  # noqa: F401,F403
from ..ops.array_api import *  # noqa: F401,F403  (after ops.linalg: NumPy 2's linalg.outer etc.)
from ..ops.solvers import *  # noqa: F401,F403
from ..ops.eig import eig, eigvals  # noqa: F401
from ..ops.reductions import norm  # noqa: F401


def __getattr__(name):
    try:
        return getattr(_np.linalg, name)
    except AttributeError:
        raise AttributeError(f"chainrule.numpy.linalg has no attribute {name!r}") from None
