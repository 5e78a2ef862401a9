"""Elementwise operations and their derivatives: one row per op.

For an elementwise op the local derivative is itself elementwise, so one
function ``d(ans, x[, y])`` gives both modes: reverse ``g * d`` and forward
``t * d``.  Derivatives are written with chainrule's own primitives, so every
rule can be differentiated again.  Broadcasting is undone by the engine.

At a non-differentiable point each rule returns the minimum-norm subgradient
(see docs/subgradients.md): abs'(0) = 0, maximum ties split 1/2 each, clip at
a bound gives 0, hypot and arctan2 at the origin give 0.
"""
import functools

import numpy as np

from ..core.batching import batch_elementwise
from ..core.errors import ChainruleError, ChainruleTypeError
from ..core.primitive import Primitive, _dtype, defbatch, defjvp, defvjp
from ..core.tensor import Tensor

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
    "arccosh":    (np.arccosh,    lambda ans, x: 1.0 / (sqrt(x - 1.0) * sqrt(x + 1.0)),
                   "1/√(x²-1)"),     # √(x-1)√(x+1): the principal branch for complex x too
    "arctanh":    (np.arctanh,    Quotient(lambda ans, x: 1.0 - x * x),         "1/(1-x²)"),
    "deg2rad":    (np.deg2rad,    lambda ans, x: PI / 180.0,                    "π/180"),
    "rad2deg":    (np.rad2deg,    lambda ans, x: 180.0 / PI,                    "180/π"),
    "sinc":       (np.sinc,       lambda ans, x: _dsinc(x),                     "(cos(πx)-sinc(x))/x"),
    "nan_to_num": (np.nan_to_num, lambda ans, x: isfinite(x),                   "1 where finite"),
    "degrees":    (np.degrees,    lambda ans, x: 180.0 / PI,                    "180/π"),
    "radians":    (np.radians,    lambda ans, x: PI / 180.0,                    "π/180"),
    "fabs":       (np.fabs,       lambda ans, x: sign(x),                       "sign(x)"),
    "i0":         (np.i0,         lambda ans, x: i1(x),                         "I₁(x)"),
}


def _dsinc(x):
    # near 0 the quotient cancels catastrophically; use the series -π²x/3 + π⁴x³/30 there
    small = abs(x) < 1e-3
    xs = _safe(small, x)
    series = x * (-(PI ** 2) / 3.0) + x * x * x * (PI ** 4 / 30.0)
    return where(small, series, (cos(PI * xs) - sinc(xs)) / xs)


def _unary(name, fn, d, formula):
    op = Primitive(name, fn)
    # **kw: NumPy's ufunc keywords (dtype=, casting=...; see numpy/signatures.py) change
    # neither the derivative nor its shape; the engine casts gradients to the input's dtype
    if d is None:   # piecewise constant: the derivative is 0 wherever it exists
        defvjp(op, lambda g, ans, x, **kw: zeros_like(g))
        defjvp(op, lambda t, ans, x, **kw: zeros_like(t))
    elif isinstance(d, Quotient):
        h = d.h
        defvjp(op, lambda g, ans, x, **kw: g / h(ans, x))
        defjvp(op, lambda t, ans, x, **kw: t / h(ans, x))
    else:
        defvjp(op, lambda g, ans, x, **kw: g * d(ans, x))
        defjvp(op, lambda t, ans, x, **kw: t * d(ans, x))
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
    "logaddexp": (np.logaddexp, lambda ans, x, y: _share(exp, x, y, ans),
                                lambda ans, x, y: _share(exp, y, x, ans),       ("eˣ/(eˣ+eʸ)", "eʸ/(eˣ+eʸ)")),
    "logaddexp2": (np.logaddexp2, lambda ans, x, y: _share(exp2, x, y, ans),
                                  lambda ans, x, y: _share(exp2, y, x, ans),    ("2ˣ/(2ˣ+2ʸ)", "2ʸ/(2ˣ+2ʸ)")),
    "arctan2":   (np.arctan2,   lambda ans, x, y: y / _safe(x * x + y * y == 0, x * x + y * y),
                                lambda ans, x, y: -x / _safe(x * x + y * y == 0, x * x + y * y),
                                ("x2/(x1²+x2²)", "-x1/(x1²+x2²)")),
    "hypot":     (np.hypot,     lambda ans, x, y: x / _safe(ans == 0, ans),
                                lambda ans, x, y: y / _safe(ans == 0, ans),     ("x/hypot", "y/hypot")),
    "float_power": (np.float_power, lambda ans, x, y: _dpow_base(x, y),
                                    lambda ans, x, y: _dpow_exponent(ans, x),   ("y·x^(y-1)", "x^y·ln x")),
    "fmod":      (np.fmod,      lambda ans, x, y: 1.0,
                                lambda ans, x, y: -trunc(x / y),                ("1", "-trunc(x/y)")),
    # |x|·sign(y): abs's kink at x = 0 gives 0; piecewise constant in y
    "copysign":  (np.copysign,  lambda ans, x, y: sign(x) * copysign(1.0, y),
                                lambda ans, x, y: zeros_like(ans),              ("±sign(x)", "0")),
    # x moved by one ulp towards y: x plus a piecewise constant
    "nextafter": (np.nextafter, lambda ans, x, y: 1.0,
                                lambda ans, x, y: zeros_like(ans),              ("1", "0")),
}


def _share(base_exp, x, y, ans):
    """x's share e^(x − ans) of logaddexp(x, y), kept finite where x or y is infinite: the
    limit 1 (or 0) beside a finite value, and ½ when the two are equal, as at any tie."""
    with np.errstate(invalid="ignore"):          # (inf − inf: NaN, replaced here)
        d = where(x == ans, 0.0, x - ans)
    half = np.asarray(0.5, dtype=_dtype(d))
    return where(x == y, half, base_exp(d))


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
    # where x == y == 0 use base 1 so 0**-1 never appears: x**0 has derivative 0 at every
    # order.  Only there: elsewhere the base must stay x, or the mixed derivative
    # d/dy (y·x^(y-1)) = x^(y-1)(1 + y·ln x) would read 1 instead of 1/x at y = 0.
    return y * power(_safe(logical_and(x == 0, y == 0), x), y - 1)


def _dpow_exponent(ans, x):
    # d/dy x**y = x**y ln x; at x == 0 use ln 1 so that d/dy 0**y = 0 (y > 0) without nan
    return ans * log(_safe(x == 0, x))


def _binary(name, fn, dx, dy, formulas):
    op = Primitive(name, fn)
    defvjp(op, lambda g, ans, x, y, **kw: g * dx(ans, x, y),
           lambda g, ans, x, y, **kw: g * dy(ans, x, y))
    defjvp(op, lambda t, ans, x, y, **kw: t * dx(ans, x, y),
           lambda t, ans, x, y, **kw: t * dy(ans, x, y))
    op.formula = dict(enumerate(formulas))
    return op


for _name, (_fn, _d, _formula) in UNARY.items():
    _ops[_name] = _unary(_name, _fn, _d, _formula)
for _name, (_fn, _dx, _dy, _formulas) in BINARY.items():
    _ops[_name] = _binary(_name, _fn, _dx, _dy, _formulas)

# add and subtract pass the gradient straight through: no multiplication needed
add = _ops["add"] = Primitive("add", np.add)
subtract = _ops["subtract"] = Primitive("subtract", np.subtract)
defvjp(add, lambda g, ans, x, y, **kw: g, lambda g, ans, x, y, **kw: g, formulas={0: "1", 1: "1"})
defjvp(add, lambda t, ans, x, y, **kw: t, lambda t, ans, x, y, **kw: t)
defvjp(subtract, lambda g, ans, x, y, **kw: g, lambda g, ans, x, y, **kw: -g,
       formulas={0: "1", 1: "-1"})
defjvp(subtract, lambda t, ans, x, y, **kw: t, lambda t, ans, x, y, **kw: -t)

# ------------------------------------------------------- three-argument ops
where = _ops["where"] = Primitive("where", np.where)
defvjp(where, None,
       lambda g, ans, c, x, y: where(c, g, 0.0),
       lambda g, ans, c, x, y: where(c, 0.0, g),
       formulas={1: "[cond]", 2: "[not cond]"})
defjvp(where, None,
       lambda t, ans, c, x, y: where(c, t, 0.0),
       lambda t, ans, c, x, y: where(c, 0.0, t))


def _clip(x, lo, hi, **kw):
    return np.clip(x, lo, hi, **kw)


# clip(x, lo, hi) is NumPy's minimum(maximum(x, lo), hi).  Ties go to the bound: at x = lo
# the derivative with respect to x is 0 (the minimum-norm element of [0, 1], as for a
# constant bound) and the bound's is 1, so the three derivatives always add up to 1 and
# clip(x, x, hi) has derivative 1.  A missing bound (None) takes no part.  Boolean masks:
# multiplying by them keeps the gradient's dtype.
def _dclip_x(x, lo, hi):
    if lo is None:
        return ones_like(x, dtype=bool) if hi is None else x < hi
    return x > lo if hi is None else logical_and(x > lo, x < hi)


def _dclip_lo(x, lo, hi):
    return x <= lo if hi is None else logical_and(x <= lo, lo < hi)


def _dclip_hi(x, lo, hi):
    return x >= hi if lo is None else logical_or(x >= hi, lo >= hi)


_clip_op = Primitive("clip", _clip)
defvjp(_clip_op,
       lambda g, ans, x, lo, hi, **kw: g * _dclip_x(x, lo, hi),
       lambda g, ans, x, lo, hi, **kw: g * _dclip_lo(x, lo, hi),
       lambda g, ans, x, lo, hi, **kw: g * _dclip_hi(x, lo, hi),
       formulas={0: "[lo<x<hi]", 1: "[x≤lo]", 2: "[x≥hi]"})
defjvp(_clip_op,
       lambda t, ans, x, lo, hi, **kw: t * _dclip_x(x, lo, hi),
       lambda t, ans, x, lo, hi, **kw: t * _dclip_lo(x, lo, hi),
       lambda t, ans, x, lo, hi, **kw: t * _dclip_hi(x, lo, hi))
_NOVALUE = np._NoValue          # NumPy's "not given" (clip's a_min/a_max defaults)


def _bound(op, value, alias, names):
    if alias is _NOVALUE:
        return None if value is _NOVALUE else value
    if value is not _NOVALUE:
        raise ChainruleTypeError(op, message=f"{names[0]}= and {names[1]}= are the same bound",
                                 expected="one of them", actual="both",
                                 fix=f"pass only {names[1]}= (NumPy 2.1 spelling) or "
                                     f"{names[0]}=")
    return alias


def clip(a, a_min=_NOVALUE, a_max=_NOVALUE, out=None, *, min=_NOVALUE, max=_NOVALUE, **kwargs):
    """np.clip: ``a`` limited to [a_min, a_max]; either bound may be None (or left out)."""
    lo = _bound("clip", a_min, min, ("a_min", "min"))
    hi = _bound("clip", a_max, max, ("a_max", "max"))
    if out is not None or kwargs.get("where", True) is not True:
        if not any(isinstance(v, Tensor) for v in (a, lo, hi)):
            return np.clip(a, lo, hi, out=out, **kwargs)
        raise ChainruleTypeError("clip", message="out= and where= cannot be recorded for "
                                 "gradients", expected="out=None, where=True",
                                 actual="out=" + ("an array" if out is not None else "None")
                                 + ", where=" + repr(type(kwargs.get("where")).__name__),
                                 fix="assign the result instead: y = cnp.clip(...), and select "
                                     "with cnp.where(mask, y, other)")
    kwargs.pop("where", None)
    return _clip_op(a, lo, hi, **kwargs)


_ops["clip"] = clip

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

# ------------------------------------------- I₁, the derivative of i0 (NumPy has no i1)
def _i1_fn(x):
    """The modified Bessel function I₁: its power series for |x| ≤ 25, the asymptotic
    expansion e^x/√(2πx)·Σ (−1)^k ∏_{j≤k}(4 − (2j−1)²)/(k!(8x)^k) beyond (odd in x)."""
    x = np.asarray(x)
    a = np.abs(x).astype(np.float64)
    small = a <= 25.0
    s = np.where(small, a, 0.0)
    q, term = s * s / 4.0, s / 2.0
    total = term.copy()
    for k in range(1, 80):                      # (x/2)^(2k+1) / (k!(k+1)!)
        term = term * q / (k * (k + 1))
        total += term
    big = np.where(small, 30.0, a)
    c = np.ones_like(big)
    series = c.copy()
    for k in range(1, 30):
        c = c * (-(4.0 - (2 * k - 1) ** 2) / (k * 8.0 * big))
        series += c
    with np.errstate(over="ignore"):            # exp(x) alone overflows just before I₁ does
        scale = np.where(big < 709.0, np.exp(np.minimum(big, 709.0)) / np.sqrt(2.0 * PI * big),
                         np.exp(big - 0.5 * np.log(2.0 * PI * big)))
    asym = scale * series
    r = np.sign(x) * np.where(small, total, asym)
    return r.astype(x.dtype) if x.dtype.kind == "f" else r


def _di1(x):
    """I₁'(x) = I₀(x) − I₁(x)/x; near 0, I₁(x)/x by its series ½ + x²/16 + x⁴/384."""
    small = abs(x) < 1e-3
    xs = _safe(small, x)
    x2 = x * x
    return i0(x) - where(small, 0.5 + x2 * (1.0 / 16.0) + x2 * x2 * (1.0 / 384.0), i1(xs) / xs)


i1 = Primitive("i1", _i1_fn)        # not a NumPy name: only i0's rule uses it
defvjp(i1, lambda g, ans, x: g * _di1(x), formulas={0: "I₀(x) − I₁(x)/x"})
defjvp(i1, lambda t, ans, x: t * _di1(x))


# ldexp(x, n) = x·2^n for an integer n (which has no derivative)
ldexp = _ops["ldexp"] = Primitive("ldexp", np.ldexp)
defvjp(ldexp, lambda g, ans, x, n, **kw: g * ldexp(ones_like(x), n), None, formulas={0: "2^n"})
defjvp(ldexp, lambda t, ans, x, n, **kw: t * ldexp(ones_like(x), n))


# ------------------------------------------------------ ufuncs with two outputs
def _value(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _mantissa_slope(x):
    """d mantissa/dx = 2^−e on each binade [2^(e−1), 2^e) (the piece the point belongs to)."""
    xv = _value(x)
    return np.ldexp(np.ones_like(xv), -np.frexp(xv)[1])


_mantissa = Primitive("frexp_mantissa", lambda x: np.frexp(x)[0])
_exponent = Primitive("frexp_exponent", lambda x: np.frexp(x)[1], differentiable=False)
_fraction = Primitive("modf_fraction", lambda x: np.modf(x)[0])
defvjp(_mantissa, lambda g, ans, x: g * _mantissa_slope(x), formulas={0: "2^−e"})
defjvp(_mantissa, lambda t, ans, x: t * _mantissa_slope(x))
defvjp(_fraction, lambda g, ans, x: g, formulas={0: "1"})
defjvp(_fraction, lambda t, ans, x: t)


def _two_outputs(name, np_fn, parts, nin=1):
    def fn(*args, **kwargs):
        if not any(isinstance(a, Tensor) for a in args[:nin]) or kwargs or len(args) != nin:
            if any(isinstance(a, Tensor) for a in args) and (kwargs or len(args) != nin):
                raise ChainruleError(name, message="ufunc arguments cannot be recorded",
                                     expected=f"{nin} array argument(s) and no keywords",
                                     actual=f"{len(args)} argument(s), keywords {sorted(kwargs)}",
                                     fix="drop out=/where=/dtype= and assign the results")
            return np_fn(*args, **kwargs)
        return tuple(p(*args) for p in parts)
    return functools.update_wrapper(fn, np_fn)       # NumPy's name, doc and signature


# frexp: (mantissa, integer exponent); modf: (fractional part, integral part = trunc);
# divmod: (floor division, which has no derivative, remainder)
_ops["frexp"] = _two_outputs("frexp", np.frexp, (_mantissa, _exponent))
_ops["modf"] = _two_outputs("modf", np.modf, (_fraction, lambda x: trunc(x)))
_ops["divmod"] = _two_outputs("divmod", np.divmod, (lambda x, y: floor_divide(x, y),
                                                    lambda x, y: mod(x, y)), nin=2)

# ------------------------------------------------------------ kink table
# op: (mask of elements at a kink given (ans, *args), subdifferential, chosen subgradient)
KINKS = {
    "abs":     (lambda ans, x: x == 0, "[-1, 1]", "0"),
    "maximum": (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "minimum": (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "fmax":    (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "fmin":    (lambda ans, x, y: x == y, "{(a, 1-a) : a in [0, 1]}", "(½, ½)"),
    "hypot":   (lambda ans, x, y: ans == 0, "unit disk", "(0, 0)"),
    "arctan2": (lambda ans, x, y: (x == 0) & (y == 0), "undefined (0/0)", "(0, 0)"),
    "sqrt":    (lambda ans, x: x == 0, "+inf (vertical tangent)", "+inf"),
    "fabs":    (lambda ans, x: x == 0, "[-1, 1]", "0"),
    "copysign": (lambda ans, x, y: x == 0, "[-1, 1] (times the sign of y)", "0"),
}
for _name, _k in KINKS.items():
    _ops[_name].kink = _k
_clip_op.kink = (lambda ans, x, lo, hi, **kw: np.zeros(np.shape(x), bool) |
                 (False if lo is None else np.equal(x, lo)) |
                 (False if hi is None else np.equal(x, hi)), "[0, 1]", "0 (the bound gets 1)")

# NumPy 2's array-API names for the same functions
for _alias, _name in {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
                      "atan": "arctan", "atanh": "arctanh", "atan2": "arctan2", "pow": "power",
                      "remainder": "mod"}.items():
    _ops[_alias] = _ops[_name]

globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------------- batching rules (vmap)
# Every op here broadcasts, so one rule serves the whole family: batch axes in front,
# per-example axes lined up (core/batching.py).
for _op in list(_ops.values()) + list(globals().values()):
    if isinstance(_op, Primitive) and _op.batch is None:
        defbatch(_op, batch_elementwise)


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
