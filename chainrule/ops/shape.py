"""Shape and construction operations: they move gradient entries around, never scale them.

Most are linear, so the forward rule is the op applied to the tangent, and the
reverse rule is the adjoint movement (reshape back, transpose back, ...).
"""
import numpy as np

from ..core.primitive import Primitive, broadcast_to, defjvp, defvjp, sum_to

_ops = {"broadcast_to": broadcast_to, "sum_to": sum_to}


def _transpose(x, axes=None):
    return np.transpose(x, axes)


reshape = _ops["reshape"] = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
defvjp(reshape, lambda g, ans, x, shape: reshape(g, np.shape(x)), formulas={0: "reshape back"})
defjvp(reshape, lambda t, ans, x, shape: reshape(t, shape))

transpose = _ops["transpose"] = Primitive("transpose", _transpose)
defvjp(transpose, lambda g, ans, x, axes=None:
       transpose(g, None if axes is None else tuple(np.argsort(axes))), formulas={0: "transpose back"})
defjvp(transpose, lambda t, ans, x, axes=None: transpose(t, axes))

swapaxes = _ops["swapaxes"] = Primitive("swapaxes", np.swapaxes)
defvjp(swapaxes, lambda g, ans, x, a1, a2: swapaxes(g, a1, a2), formulas={0: "swap back"})
defjvp(swapaxes, lambda t, ans, x, a1, a2: swapaxes(t, a1, a2))

globals().update(_ops)
__all__ = sorted(_ops)
