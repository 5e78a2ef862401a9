"""``chainrule.numpy.fft``: differentiable ``numpy.fft``."""
import numpy as _np

from ..ops.fft import *  # noqa: F401,F403


def __getattr__(name):
    # fftfreq, rfftfreq: made from numbers, NumPy's own
    try:
        return getattr(_np.fft, name)
    except AttributeError:
        raise AttributeError(f"chainrule.numpy.fft has no attribute {name!r}") from None
