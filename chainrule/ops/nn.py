"""Neural-network primitives: activations whose derivatives the seeds derive by hand.

sigmoid' = σ(1−σ) (seed 002); relu'(0) = 0, the minimum-norm subgradient (seed 003).
"""
import numpy as np

from ..core.primitive import Primitive, defjvp, defvjp
from .elementwise import where

_ops = {}


def _sigmoid(x):
    # stable for large |x|: never exponentiates a large positive number
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, np.float16))


relu = _ops["relu"] = Primitive("relu", lambda x: np.maximum(x, 0))
defvjp(relu, lambda g, ans, x: g * where(x > 0, 1.0, 0.0), formulas={0: "[x>0]"})
defjvp(relu, lambda t, ans, x: t * where(x > 0, 1.0, 0.0))
relu.kink = (lambda ans, x: x == 0, "[0, 1]", "0")

sigmoid = _ops["sigmoid"] = Primitive("sigmoid", _sigmoid)
defvjp(sigmoid, lambda g, ans, x: g * (ans * (1.0 - ans)), formulas={0: "σ(x)(1−σ(x))"})
defjvp(sigmoid, lambda t, ans, x: t * (ans * (1.0 - ans)))

globals().update(_ops)
__all__ = sorted(_ops)
