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


# NumPy 2's names, and the elementwise functions added with issue 10
for _name, _dom in {"acos": (-0.8, 0.8), "asin": (-0.8, 0.8), "atan": (-2, 2), "acosh": (1.2, 3),
                    "asinh": (-2, 2), "atanh": (-0.8, 0.8), "degrees": (-2, 2),
                    "radians": (-2, 2), "fabs": (-2, 2), "i0": (-3, 3)}.items():
    _unary(_name, *_dom)


def _pair(name, x_dom, y_dom, f=None):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        b_shape = shape[draw(st.integers(0, len(shape))):]
        x, y = floats(draw, shape, *x_dom), floats(draw, b_shape, *y_dom)
        return (f or getattr(cnp, name)), (x, y)


_pair("atan2", (-2, 2), (-1.5, 1.5))
_pair("pow", (0.3, 2), (-1.5, 1.5))
_pair("float_power", (0.3, 2), (-1.5, 1.5))
_pair("remainder", (0.3, 0.9), (1.1, 2.0))
_pair("fmod", (-0.9, 0.9), (1.1, 2.0))           # |x/y| < 1: away from the jumps of trunc(x/y)
_pair("copysign", (-2, 2), (-2, 2))
_pair("nextafter", (-2, 2), (-2, 2))
_pair("divmod", (0.3, 0.9), (1.1, 2.0), lambda a, b: cnp.divmod(a, b)[1])


@case("np.ldexp")
def _ldexp(draw):
    shape = draw(shapes())
    n = np.array(draw(st.lists(st.integers(-3, 3), min_size=1, max_size=1)) * shape[-1])
    return (lambda a: cnp.ldexp(a, n)), (floats(draw, shape),)


@case("np.frexp")
def _frexp(draw):
    # away from the powers of 2, where the mantissa jumps from 1 to ½
    x = floats(draw, draw(shapes()), 0.55, 0.95) * draw(st.sampled_from([1.0, -4.0, 0.25]))
    return (lambda a: cnp.frexp(a)[0]), (x,)


@case("np.modf")
def _modf(draw):
    x = floats(draw, draw(shapes()), 0.05, 0.95) + draw(st.integers(-2, 2))
    return (lambda a: cnp.modf(a)[0] * 2.0 + cnp.modf(a)[1]), (x,)
