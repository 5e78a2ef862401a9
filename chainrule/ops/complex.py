"""Complex numbers: the functions that are not holomorphic, and their derivatives.

Every rule in chainrule computes JAX's convention.  The forward rule is the (real-linear)
derivative; the reverse rule is its transpose under the pairing ``Re Σ a·b``, with no
conjugation.  For a holomorphic function that transpose is ``g·f′(z)``, the same formula
as for real numbers, so the tables of elementwise.py, linalg.py, ... need nothing new.
``Tensor.backward()`` conjugates what these rules give at the hand-over, which yields
PyTorch's ``.grad`` (core/backward.py; docs/autodiff.md, "Complex numbers").

A function that is not holomorphic has two Wirtinger derivatives, ``a = ∂f/∂z`` and
``b = ∂f/∂z̄`` (a holomorphic one has ``b = 0`` and ``a = f′``).  One row per function
gives both modes:

    jvp(t) = a·t + b·conj(t),        vjp(g) = g·a + conj(g·b).

For a real output, ``b = conj(a)`` and the engine keeps the tangent's real part.  ``abs``
and ``sign`` are rows of elementwise.py for real arguments; for complex ones they follow
the rows below.  ``angle``, ``real_if_close`` and ``sort_complex`` are compositions.
"""
import numpy as np

from ..core.primitive import Primitive, _dtype, astype, conj, defjvp, defvjp
from ..core.tensor import Tensor
from . import elementwise
from .elementwise import arctan2, where

_ops = {}
_NUMPY1 = np.lib.NumpyVersion(np.__version__) < "2.0.0"


def is_complex(x):
    return _dtype(x).kind == "c"


def _val(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _unit(ans, z):
    """(z/|z|, 1/|z|), both 0 where z = 0 (the minimum-norm choice: see subgradients.md)."""
    r = elementwise.abs(z)
    zero = _val(r) == 0
    inv = where(zero, 0.0, 1.0 / where(zero, 1.0, r))
    return z * inv, inv


def _abs_ab(ans, z):
    s, _ = _unit(ans, z)
    return 0.5 * conj(s), 0.5 * s            # |z| = (z z̄)^½


def _sign_ab(ans, z):
    s, inv = _unit(ans, z)
    return 0.5 * inv, -0.5 * inv * s * s     # z/|z| = z (z z̄)^-½


# name: (NumPy function, (ans, z) -> (a, b), formula shown by explain)
WIRTINGER = {
    "real": (np.real, lambda ans, z: (0.5, 0.5), "∂/∂z = ∂/∂z̄ = ½"),
    "imag": (np.imag, lambda ans, z: (-0.5j, 0.5j), "∂/∂z = −i/2, ∂/∂z̄ = i/2"),
    "abs":  (None, _abs_ab, "∂/∂z = z̄/(2|z|), ∂/∂z̄ = z/(2|z|) (0 at 0)"),
    "sign": (None, _sign_ab, "∂/∂z = 1/(2|z|), ∂/∂z̄ = −z²/(2|z|³) (0 at 0)"),
}
# for real arguments: real(x) = x, imag(x) = 0
_REAL_RULES = {"real": lambda v, ans, x, **kw: v,
               "imag": lambda v, ans, x, **kw: elementwise.zeros_like(v)}


def _jvp(ab, t, ans, z):
    a, b = ab(ans, z)
    return a * t + b * conj(t)


def _vjp(ab, g, ans, z):
    a, b = ab(ans, z)
    return g * a + conj(g * b)


def _attach(op, ab, real_vjp, real_jvp):
    """Give ``op`` the Wirtinger rule ``ab`` for complex arguments, ``real_*`` otherwise."""
    # **kw: NumPy's ufunc keywords (dtype=, casting=...) change neither derivative
    defvjp(op, lambda g, ans, z, **kw: _vjp(ab, g, ans, z) if is_complex(z)
           else real_vjp(g, ans, z, **kw))
    defjvp(op, lambda t, ans, z, **kw: _jvp(ab, t, ans, z) if is_complex(z)
           else real_jvp(t, ans, z, **kw))


for _name, (_fn, _ab, _formula) in WIRTINGER.items():
    if _fn is None:                          # a row of elementwise.py: keep its real rule
        if _name == "sign" and _NUMPY1:      # NumPy 1's sign(z) is the sign of Re z: flat
            continue
        _op = getattr(elementwise, _name)
        _rv, _rj = _op.vjps[0], (lambda jvp: lambda t, ans, x, **kw: jvp(0, t, ans, x, **kw))(
            _op.jvp)
    else:
        _op = _ops[_name] = Primitive(_name, _fn)
        _rv = _rj = _REAL_RULES[_name]
    _attach(_op, _ab, _rv, _rj)
    _op.formula = {0: (_op.formula or {0: "1"})[0] + "; complex z: " + _formula}

real, imag = _ops["real"], _ops["imag"]
_ops["conjugate"] = _ops["conj"] = conj


# ------------------------------------------------------------ compositions
def angle(z, deg=False):
    """``np.angle``: arctan2(imag, real), as NumPy computes it (0 or π for real input)."""
    if not isinstance(z, Tensor):
        return np.angle(z, deg)
    a = arctan2(imag(z), real(z)) if is_complex(z) else arctan2(np.zeros(z.shape, z.dtype), z)
    return a * (180.0 / np.pi) if deg else a


def real_if_close(a, tol=100):
    """``np.real_if_close``: the real part when every imaginary part is within tol·eps of 0."""
    if not isinstance(a, Tensor):
        return np.real_if_close(a, tol)
    if not is_complex(a):
        return a
    if tol > 1:
        tol = np.finfo(a.dtype).eps * tol
    return real(a) if np.all(np.abs(a.data.imag) < tol) else a


def sort_complex(a):
    """``np.sort_complex``: sorted by real part, then imaginary part; always complex."""
    if not isinstance(a, Tensor):
        return np.sort_complex(a)
    from .shape import sort
    b = sort(a)
    if is_complex(b):
        return b
    return astype(b, np.dtype("G" if b.dtype.char == "g" else "D"))


_ops.update(angle=angle, real_if_close=real_if_close, sort_complex=sort_complex)
globals().update(_ops)
__all__ = sorted(_ops)
