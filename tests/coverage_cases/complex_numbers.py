"""Cases for complex numbers: the complex-valued functions, eig and roots, and complex
arguments to the elementwise functions (check_grad checks a complex argument along a
real and an imaginary direction, at first and second order, in both modes)."""
import numpy as np
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

from ._api import case, floats, shapes


def complexes(draw, shape, lo=0.3, hi=1.5, phase=2.5, shift=0.0, gap=0.05):
    """shift + r·e^{iφ} with r in [lo, hi] and |φ| < phase (away from the negative real axis,
    where log, sqrt, angle and powers have their branch cut), entries spread apart."""
    n = int(np.prod(shape, dtype=np.int64))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    for _ in range(100):
        z = rng.uniform(lo, hi, n) * np.exp(1j * rng.uniform(-phase, phase, n)) + shift
        d = np.abs(z[:, None] - z[None, :]) + np.eye(n)
        if n < 2 or d.min() > gap:
            break
    return z.reshape(shape)


def matrix_with_distinct_eigenvalues(draw, n, complex_entries):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    for _ in range(100):
        a = rng.standard_normal((n, n))
        if complex_entries:
            a = a + 1j * rng.standard_normal((n, n))
        w, v = np.linalg.eig(a)
        # distinct, and a real matrix's eigenvalues well off (or exactly on) the real axis
        apart = n < 2 or (np.abs(w[:, None] - w[None, :]) + np.eye(n)).min() > 0.2
        # NumPy makes each eigenvector's largest entry real: no near-tie for the largest
        top = np.sort(np.abs(v), axis=0)
        apart = apart and (n < 2 or np.min(top[-1] - top[-2]) > 0.05)
        off_axis = np.all((np.abs(w.imag) < 1e-12) | (np.abs(w.imag) > 0.2))
        if apart and (complex_entries or off_axis):
            return a
    raise AssertionError("no well-conditioned matrix found")


# name: (lo, hi, phase, shift) of the complex points: inside the functions' analytic domains
UNARY = {
    "negative": (0.3, 2, 3, 0), "positive": (0.3, 2, 3, 0), "reciprocal": (0.3, 2, 3, 0),
    "sqrt": (0.3, 2, 2.5, 0), "square": (0.3, 2, 3, 0), "exp": (0.3, 2, 3, 0),
    "exp2": (0.3, 2, 3, 0), "expm1": (0.3, 2, 3, 0), "log": (0.3, 2, 2.5, 0),
    "log2": (0.3, 2, 2.5, 0), "log10": (0.3, 2, 2.5, 0), "log1p": (0.1, 0.8, 3, 0),
    "sin": (0.3, 2, 3, 0), "cos": (0.3, 2, 3, 0), "tan": (0.1, 1.2, 3, 0),
    "arcsin": (0.1, 0.8, 3, 0), "arccos": (0.1, 0.8, 3, 0), "arctan": (0.1, 0.8, 3, 0),
    "sinh": (0.3, 2, 3, 0), "cosh": (0.3, 2, 3, 0), "tanh": (0.1, 1.2, 3, 0),
    "arcsinh": (0.1, 0.8, 3, 0), "arccosh": (0.1, 0.8, 3, 2.0), "arctanh": (0.1, 0.8, 3, 0),
    "sinc": (0.3, 2, 3, 0), "nan_to_num": (0.3, 2, 3, 0),
    # not holomorphic (ops/complex.py): both Wirtinger derivatives are checked
    "abs": (0.3, 2, 3, 0), "absolute": (0.3, 2, 3, 0), "sign": (0.3, 2, 3, 0),
    "real": (0.3, 2, 3, 0), "imag": (0.3, 2, 3, 0), "conj": (0.3, 2, 3, 0),
    "conjugate": (0.3, 2, 3, 0), "angle": (0.3, 2, 2.5, 0),
}


def _unary(name, lo, hi, phase, shift):
    @case(f"np.{name}")
    def build(draw):
        z = complexes(draw, draw(shapes()), lo, hi, phase, shift)
        return getattr(cnp, name), (z,)


for _name, _domain in UNARY.items():
    _unary(_name, *_domain)


@case("np.real", "np.imag", "np.conj", "np.conjugate", "np.angle")
def _on_real(draw):
    name = draw(st.sampled_from(["real", "imag", "conj", "conjugate", "angle"]))
    x = floats(draw, draw(shapes()))
    return getattr(cnp, name), (x,)


@case("np.angle")
def _angle_deg(draw):
    z = complexes(draw, draw(shapes()))
    return (lambda a: cnp.angle(a, deg=True)), (z,)


@case("np.add", "np.subtract", "np.multiply", "np.divide", "np.true_divide", "np.power")
def _binary(draw):
    name = draw(st.sampled_from(["add", "subtract", "multiply", "divide", "true_divide",
                                 "power"]))
    shape = draw(shapes())
    b_shape = shape[draw(st.integers(0, len(shape))):]            # broadcasting
    z = complexes(draw, shape, 0.3, 2.0, 2.5)
    w = complexes(draw, b_shape, 0.2, 1.0) if name == "power" else complexes(draw, b_shape)
    if draw(st.booleans()):
        w = np.real(w)                                            # real beside complex
    return getattr(cnp, name), (z, w)


@case("np.real_if_close")
def _real_if_close(draw):
    # imaginary parts far from 0: the input comes back (the close case is tested explicitly)
    z = complexes(draw, draw(shapes()), 0.5, 2.0, 2.5) + 0.5j
    return cnp.real_if_close, (z,)


@case("np.sort_complex")
def _sort_complex(draw):
    shape = draw(shapes(max_dims=2))
    z = complexes(draw, shape) if draw(st.booleans()) else floats(draw, shape)
    # distinct real parts: sorting is a fixed permutation near the point
    z = z + 0.2 * np.arange(z.size).reshape(shape) * draw(st.sampled_from([1, -1]))
    return cnp.sort_complex, (z,)


def _eig_signed(a):
    """eig with each eigenvector's largest (real) entry made positive.  NumPy fixes a vector
    only up to that sign, and LAPACK may flip it between two nearby matrices, which finite
    differences of the raw vectors would see as a jump; the sign is locally constant."""
    w, v = cnp.linalg.eig(a)
    vv = v.data if isinstance(v, cr.Tensor) else v
    k = np.argmax(np.abs(vv), axis=-2)[..., None, :]
    return w, v * np.sign(np.take_along_axis(vv, k, -2).real)


@case("np.linalg.eig")
def _eig(draw):
    a = matrix_with_distinct_eigenvalues(draw, draw(st.integers(1, 4)), draw(st.booleans()))
    return _eig_signed, (a,)


@case("np.linalg.eigvals")
def _eigvals(draw):
    a = matrix_with_distinct_eigenvalues(draw, draw(st.integers(1, 4)), draw(st.booleans()))
    return cnp.linalg.eigvals, (a,)


@case("np.roots")
def _roots(draw):
    degree = draw(st.integers(1, 4))
    if draw(st.booleans()):        # well separated roots: their derivatives grow as 1/gap^k
        r = complexes(draw, (degree,), 0.3, 1.5, 3, gap=0.5)
    else:
        r = -1.4321 + np.cumsum(draw(st.lists(st.floats(0.5, 1.0), min_size=degree,
                                              max_size=degree)))
    # no root at 0: a zero coefficient is tested in test_complex.py.  LAPACK may list the
    # roots of two nearby polynomials in different orders, so compare them sorted
    p = np.poly(r) * draw(st.sampled_from([1.0, -2.5, 0.7]))
    return (lambda a: cnp.sort_complex(cnp.roots(a))), (p,)
