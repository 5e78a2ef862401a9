"""Cases for elementwise functions (unary and binary ufuncs)."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes

# name -> domain of x for the unary functions: (lo, hi)
UNARY = {
    "negative": (-2, 2), "positive": (-2, 2), "abs": (-2, 2), "absolute": (-2, 2),
    "reciprocal": (0.3, 2), "sqrt": (0.3, 2), "cbrt": (0.3, 2), "square": (-2, 2),
    "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2), "log": (0.3, 2), "log2": (0.3, 2),
    "log10": (0.3, 2), "log1p": (-0.5, 2), "sin": (-2, 2), "cos": (-2, 2), "tan": (-1, 1),
    "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8), "arctan": (-2, 2), "sinh": (-2, 2),
    "cosh": (-2, 2), "tanh": (-2, 2), "arcsinh": (-2, 2), "arccosh": (1.2, 3),
    "arctanh": (-0.8, 0.8), "deg2rad": (-2, 2), "rad2deg": (-2, 2), "sinc": (-2, 2),
    "nan_to_num": (-2, 2),
}


def _unary(name, lo, hi):
    @case(f"np.{name}")
    def build(draw):
        x = floats(draw, draw(shapes()), lo, hi)
        return getattr(cnp, name), (x,)


for _name, (_lo, _hi) in UNARY.items():
    _unary(_name, _lo, _hi)

BINARY = ("add", "subtract", "multiply", "divide", "true_divide", "power", "maximum",
          "minimum", "fmax", "fmin", "logaddexp", "logaddexp2", "arctan2", "hypot", "mod")


def _binary(name):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        b_shape = shape[draw(st.integers(0, len(shape))):]            # broadcasting
        x = positive(draw, shape) if name == "power" else \
            positive(draw, shape, 0.3, 0.9) if name == "mod" else floats(draw, shape)
        y = positive(draw, b_shape) if name in ("divide", "true_divide") else \
            positive(draw, b_shape, 1.1, 2.0) if name == "mod" else floats(draw, b_shape, -1.5, 1.5)
        if name in ("maximum", "minimum", "fmax", "fmin"):
            y = y + 0.01          # no ties
        return getattr(cnp, name), (x, y)


for _name in BINARY:
    _binary(_name)


@case("np.clip")
def _clip(draw):
    x = floats(draw, draw(shapes()))
    return (lambda a, lo, hi: cnp.clip(a, lo, hi)), (x, np.array(-1.03), np.array(0.97))


@case("np.where")
def _where(draw):
    shape = draw(shapes())
    x, y = floats(draw, shape), floats(draw, shape)
    cond = floats(draw, shape) > 0
    return (lambda a, b: cnp.where(cond, a, b)), (x, y)
