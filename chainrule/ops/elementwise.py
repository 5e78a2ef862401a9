"""Elementwise operations and their derivatives: one row per op.

For an elementwise op the local derivative is itself elementwise, so one
function ``d(ans, x[, y])`` gives both modes: reverse ``g * d`` and forward
``t * d``.  Derivatives are written with chainrule's own primitives, so every
rule can be differentiated again.  Broadcasting is undone by the engine.

At a non-differentiable point each rule returns the minimum-norm subgradient
(see docs/subgradients.md): abs'(0) = 0, maximum ties split 1/2 each, clip at
a bound gives 0, hypot and arctan2 at the origin give 0.
"""
import numpy as np

from ..core.primitive import Primitive, defjvp, defvjp

PI = np.pi
LN2 = np.log(2.0)
LN10 = np.log(10.0)

_ops = {}


def _safe(cond, x, fill=1.0):
    """``x`` with the entries where ``cond`` holds replaced by ``fill``.

    The "double where": keeps a discarded branch from producing inf/nan that
    would poison the gradient of the branch that is kept.
    """
    return where(cond, fill, x)


# ------------------------------------------------------------------- unary
class Quotient:
    """A derivative of the form 1/h(ans, x): the rule divides by h (one array pass fewer)."""

    def __init__(self, h):
        self.h = h


# name: (numpy function, d(ans, x) or Quotient(h), formula shown by explain)
UNARY = {
    "negative":   (np.negative,   lambda ans, x: -1.0,                          "-1"),
    "positive":   (np.positive,   lambda ans, x: 1.0,                           "1"),
    "abs":        (np.abs,        lambda ans, x: sign(x),                       "sign(x)"),
    "sign":       (np.sign,       None,                                         "0"),
    "floor":      (np.floor,      None,                                         "0"),
    "ceil":       (np.ceil,       None,                                         "0"),
    "trunc":      (np.trunc,      None,                                         "0"),
    "rint":       (np.rint,       None,                                         "0"),
    "reciprocal": (np.reciprocal, lambda ans, x: -ans * ans,                    "-1/x²"),
    "sqrt":       (np.sqrt,       Quotient(lambda ans, x: 2.0 * ans),           "1/(2√x)"),
    "cbrt":       (np.cbrt,       lambda ans, x: 1.0 / (3.0 * ans * ans),       "1/(3∛x²)"),
    "square":     (np.square,     lambda ans, x: 2.0 * x,                       "2x"),
    "exp":        (np.exp,        lambda ans, x: ans,                           "exp(x)"),
    "exp2":       (np.exp2,       lambda ans, x: ans * LN2,                     "2^x·ln2"),
    "expm1":      (np.expm1,      lambda ans, x: ans + 1.0,                     "exp(x)"),
    "log":        (np.log,        Quotient(lambda ans, x: x),                   "1/x"),
    "log2":       (np.log2,       Quotient(lambda ans, x: x * LN2),             "1/(x·ln2)"),
    "log10":      (np.log10,      Quotient(lambda ans, x: x * LN10),            "1/(x·ln10)"),
    "log1p":      (np.log1p,      Quotient(lambda ans, x: 1.0 + x),             "1/(1+x)"),
    "sin":        (np.sin,        lambda ans, x: cos(x),                        "cos(x)"),
    "cos":        (np.cos,        lambda ans, x: -sin(x),                       "-sin(x)"),
    "tan":        (np.tan,        lambda ans, x: 1.0 + ans * ans,               "1+tan²(x)"),
    "arcsin":     (np.arcsin,     lambda ans, x: 1.0 / sqrt(1.0 - x * x),       "1/√(1-x²)"),
    "arccos":     (np.arccos,     lambda ans, x: -1.0 / sqrt(1.0 - x * x),      "-1/√(1-x²)"),
    "arctan":     (np.arctan,     Quotient(lambda ans, x: 1.0 + x * x),         "1/(1+x²)"),
    "sinh":       (np.sinh,       lambda ans, x: cosh(x),                       "cosh(x)"),
    "cosh":       (np.cosh,       lambda ans, x: sinh(x),                       "sinh(x)"),
    "tanh":       (np.tanh,       lambda ans, x: 1.0 - ans * ans,               "1-tanh²(x)"),
    "arcsinh":    (np.arcsinh,    lambda ans, x: 1.0 / sqrt(x * x + 1.0),       "1/√(x²+1)"),
    "arccosh":    (np.arccosh,    lambda ans, x: 1.0 / sqrt(x * x - 1.0),       "1/√(x²-1)"),
    "arctanh":    (np.arctanh,    Quotient(lambda ans, x: 1.0 - x * x),         "1/(1-x²)"),
    "deg2rad":    (np.deg2rad,    lambda ans, x: PI / 180.0,                    "π/180"),
    "rad2deg":    (np.rad2deg,    lambda ans, x: 180.0 / PI,                    "180/π"),
    "sinc":       (np.sinc,       lambda ans, x: _dsinc(x),                     "(cos(πx)-sinc(x))/x"),
    "nan_to_num": (np.nan_to_num, lambda ans, x: isfinite(x),                   "1 where finite"),
}


def _dsinc(x):
    # near 0 the quotient cancels catastrophically; use the series -π²x/3 + π⁴x³/30 there
    small = abs(x) < 1e-3
    xs = _safe(small, x)
    series = x * (-(PI ** 2) / 3.0) + x * x * x * (PI ** 4 / 30.0)
    return where(small, series, (cos(PI * xs) - sinc(xs)) / xs)


def _unary(name, fn, d, formula):
    op = Primitive(name, fn)
    if d is None:   # piecewise constant: the derivative is 0 wherever it exists
        defvjp(op, lambda g, ans, x: zeros_like(g))
        defjvp(op, lambda t, ans, x: zeros_like(t))
    elif isinstance(d, Quotient):
        h = d.h
        defvjp(op, lambda g, ans, x: g / h(ans, x))
        defjvp(op, lambda t, ans, x: t / h(ans, x))
    else:
        defvjp(op, lambda g, ans, x: g * d(ans, x))
        defjvp(op, lambda t, ans, x: t * d(ans, x))
    op.formula = {0: formula}
    return op


# ------------------------------------------------------------------ binary
# name: (numpy function, d/dx(ans, x, y), d/dy(ans, x, y), formulas)
BINARY = {
    "multiply":  (np.multiply,  lambda ans, x, y: y,
                                lambda ans, x, y: x,                            ("y", "x")),
    "divide":    (np.divide,    lambda ans, x, y: 1.0 / y,
                                lambda ans, x, y: -ans / y,                     ("1/y", "-x/y²")),
    "power":     (np.power,     lambda ans, x, y: _dpow_base(x, y),
                                lambda ans, x, y: _dpow_exponent(ans, x),       ("y·x^(y-1)", "x^y·ln x")),
    "mod":       (np.mod,       lambda ans, x, y: 1.0,
                                lambda ans, x, y: -floor(x / y),                ("1", "-floor(x/y)")),
    "maximum":   (np.maximum,   lambda ans, x, y: _tie(x > y, x == y, ans),
                                lambda ans, x, y: _tie(y > x, x == y, ans),     ("[x>y] (+½ at ties)",) * 2),
    "minimum":   (np.minimum,   lambda ans, x, y: _tie(x < y, x == y, ans),
                                lambda ans, x, y: _tie(y < x, x == y, ans),     ("[x<y] (+½ at ties)",) * 2),
    "fmax":      (np.fmax,      lambda ans, x, y: _tie((x > y) | isnan(y), x == y, ans),
                                lambda ans, x, y: _tie((y > x) | isnan(x), x == y, ans), ("[x>y]",) * 2),
    "fmin":      (np.fmin,      lambda ans, x, y: _tie((x < y) | isnan(y), x == y, ans),
                                lambda ans, x, y: _tie((y < x) | isnan(x), x == y, ans), ("[x<y]",) * 2),
    "logaddexp": (np.logaddexp, lambda ans, x, y: exp(x - ans),
                                lambda ans, x, y: exp(y - ans),                 ("eˣ/(eˣ+eʸ)", "eʸ/(eˣ+eʸ)")),
    "logaddexp2": (np.logaddexp2, lambda ans, x, y: exp2(x - ans),
                                  lambda ans, x, y: exp2(y - ans),              ("2ˣ/(2ˣ+2ʸ)", "2ʸ/(2ˣ+2ʸ)")),
    "arctan2":   (np.arctan2,   lambda ans, x, y: y / _safe(x * x + y * y == 0, x * x + y * y),
                                lambda ans, x, y: -x / _safe(x * x + y * y == 0, x * x + y * y),
                                ("x2/(x1²+x2²)", "-x1/(x1²+x2²)")),
    "hypot":     (np.hypot,     lambda ans, x, y: x / _safe(ans == 0, ans),
                                lambda ans, x, y: y / _safe(ans == 0, ans),     ("x/hypot", "y/hypot")),
}


def _tie(wins, ties, like):
    """1 where this side wins, ½ at a tie: the minimum-norm subgradient of max/min.

    Made in the output's dtype so float32 gradients never detour through float64.
    """
    one, half, zero = (np.asarray(v, dtype=like.dtype) for v in (1.0, 0.5, 0.0))
    return where(wins, one, where(ties, half, zero))


def _dpow_base(x, y):
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 0:                       # d/dx x**0 = 0 everywhere, at every order
            return zeros_like(x)
        return y * power(x, y - 1)
    # where y == 0 use base 1 so 0**-1 never appears: x**0 has derivative 0 at every order
    return y * power(_safe(y == 0, x), y - 1)


def _dpow_exponent(ans, x):
    # d/dy x**y = x**y ln x; at x == 0 use ln 1 so that d/dy 0**y = 0 (y > 0) without nan
    return ans * log(_safe(x == 0, x))


def _binary(name, fn, dx, dy, formulas):
    op = Primitive(name, fn)
    defvjp(op, lambda g, ans, x, y: g * dx(ans, x, y), lambda g, ans, x, y: g * dy(ans, x, y))
    defjvp(op, lambda t, ans, x, y: t * dx(ans, x, y), lambda t, ans, x, y: t * dy(ans, x, y))
    op.formula = dict(enumerate(formulas))
    return op


for _name, (_fn, _d, _formula) in UNARY.items():
    _ops[_name] = _unary(_name, _fn, _d, _formula)
for _name, (_fn, _dx, _dy, _formulas) in BINARY.items():
    _ops[_name] = _binary(_name, _fn, _dx, _dy, _formulas)

# add and subtract pass the gradient straight through: no multiplication needed
add = _ops["add"] = Primitive("add", np.add)
subtract = _ops["subtract"] = Primitive("subtract", np.subtract)
defvjp(add, lambda g, ans, x, y: g, lambda g, ans, x, y: g, formulas={0: "1", 1: "1"})
defjvp(add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
defvjp(subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g, formulas={0: "1", 1: "-1"})
defjvp(subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)

# ------------------------------------------------------- three-argument ops
where = _ops["where"] = Primitive("where", np.where)
defvjp(where, None,
       lambda g, ans, c, x, y: where(c, g, 0.0),
       lambda g, ans, c, x, y: where(c, 0.0, g),
       formulas={1: "[cond]", 2: "[not cond]"})
defjvp(where, None,
       lambda t, ans, c, x, y: where(c, t, 0.0),
       lambda t, ans, c, x, y: where(c, 0.0, t))


def _clip(x, lo, hi):
    return np.clip(x, lo, hi)


def _dclip_x(x, lo, hi):
    # strictly inside the interval: 1; at or beyond a bound: 0 (minimum-norm at the bound).
    # A boolean mask: multiplying by it keeps the gradient's dtype.
    inside = True if lo is None else (x > lo)
    if hi is not None:
        inside = inside & (x < hi)
    return inside


clip = _ops["clip"] = Primitive("clip", _clip)
defvjp(clip,
       lambda g, ans, x, lo, hi: g * _dclip_x(x, lo, hi),
       lambda g, ans, x, lo, hi: g * (x < lo),
       lambda g, ans, x, lo, hi: g * (x > hi),
       formulas={0: "[lo<x<hi]", 1: "[x<lo]", 2: "[x>hi]"})
defjvp(clip,
       lambda t, ans, x, lo, hi: t * _dclip_x(x, lo, hi),
       lambda t, ans, x, lo, hi: t * (x < lo),
       lambda t, ans, x, lo, hi: t * (x > hi))

# round(x, decimals) is piecewise constant too: zero gradient, but it takes an argument
round = _ops["round"] = _ops["around"] = Primitive("round", np.round)
defvjp(round, lambda g, ans, x, decimals=0: zeros_like(g), formulas={0: "0"})
defjvp(round, lambda t, ans, x, decimals=0: zeros_like(t))

# --------------------------------------------------------------- no gradient
for _name in ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
              "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
              "isfinite", "signbit", "floor_divide"):
    _ops[_name] = Primitive(_name, getattr(np, _name), differentiable=False)

zeros_like = Primitive("zeros_like", np.zeros_like, differentiable=False)
ones_like = Primitive("ones_like", np.ones_like, differentiable=False)
_ops["zeros_like"], _ops["ones_like"] = zeros_like, ones_like

# ------------------------------------------------------------ kink table
# op: (mask of elements at a kink given (ans, *args), subdifferential, chosen subgradient)
KINKS = {
    "abs":     (lambda ans, x: x == 0, "[-1, 1]", "0"),
    "maximum": (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "minimum": (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "fmax":    (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "fmin":    (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "clip":    (lambda ans, x, lo, hi: ((x == lo) if lo is not None else False) |
                ((x == hi) if hi is not None else False), "[0, 1]", "0"),
    "hypot":   (lambda ans, x, y: ans == 0, "unit disk", "(0, 0)"),
    "arctan2": (lambda ans, x, y: (x == 0) & (y == 0), "undefined (0/0)", "(0, 0)"),
    "sqrt":    (lambda ans, x: x == 0, "+inf (vertical tangent)", "+inf"),
}
for _name, _k in KINKS.items():
    _ops[_name].kink = _k

globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# The NumPy source each op becomes in a program generated by chainrule.compile: {0}, {1}, ...
# stand for the arguments.  Operators where NumPy's own operator is the same ufunc (a * b is
# np.multiply).  An op without a row runs through its Primitive.fn.
LOWER = {name: f"np.{fn.__name__}({{0}})" for name, (fn, _d, _f) in UNARY.items()}
LOWER.update({name: f"np.{fn.__name__}({{0}}, {{1}})" for name, (fn, *_r) in BINARY.items()})
LOWER.update({name: f"np.{name}({{0}}, {{1}})" for name in (
    "logical_and", "logical_or", "logical_xor", "floor_divide")})
LOWER.update({name: f"np.{name}({{0}})" for name in (
    "logical_not", "isnan", "isinf", "isfinite", "signbit")})
LOWER.update({
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "divide": "{0} / {1}",
    "negative": "-{0}", "greater": "{0} > {1}", "greater_equal": "{0} >= {1}",
    "less": "{0} < {1}", "less_equal": "{0} <= {1}", "equal": "{0} == {1}",
    "not_equal": "{0} != {1}",
    "where": "np.where({0}, {1}, {2})", "clip": "np.clip({0}, {1}, {2})",
    "zeros_like": "np.zeros_like({0})", "ones_like": "np.ones_like({0})",
})
