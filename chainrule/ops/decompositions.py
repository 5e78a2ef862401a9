"""numpy.linalg's solvers and decompositions, and their derivatives.

det and slogdet live in determinants.py.

Multi-output functions (slogdet, eigh, svd, qr) are split into one
single-output primitive per output.  The rules of one output call the
primitives of the others (recomputing the decomposition) so that they stay
differentiable; when a loss uses several outputs, their gradients add up.

The rules need what the derivative itself needs: invertible matrices for inv
and solve; distinct eigenvalues for eigh's vectors; distinct nonzero
singular values for svd's vectors; full rank for pinv and qr.

eigh, eigvalsh and cholesky read one triangle of A, as NumPy does (``UPLO``,
``upper``): the matrix factored is that triangle mirrored, a linear function
of A, so the gradient lands on that triangle only and the values equal
NumPy's for every input, symmetric or not.

Complex matrices: the rules are written for the complex case, in the conjugate
transpose ``_H`` (which is ``_T`` for real arrays).  Reverse rules compute JAX's
convention, ``conj(adjoint(conj(g)))`` of the textbook adjoint ``adjoint`` (see
ops/complex.py); for real arrays every ``_c`` is the identity.  Eigen- and
singular vectors of complex matrices are unique only up to a phase per vector:
only functions of them that do not depend on it have a derivative (eigh's
reverse rule checks that), and forward rules give the vectors' tangent in one
smooth choice of phases, not necessarily NumPy's.
"""
from collections import namedtuple

import numpy as np

from ..core.errors import ChainruleError, describe
from ..core.primitive import Primitive, _dtype, _shape, conj, defjvp, defvjp, defvjp_argnum
from ..core.tensor import Tensor
from .linalg import _T, _einsum, _sum, matmul
from .shape import reshape

_ops = {}
_NUMPY1 = np.lib.NumpyVersion(np.__version__) < "2.0.0"

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
SVDResult = namedtuple("SVDResult", "U S Vh")
QRResult = namedtuple("QRResult", "Q R")


# ------------------------------------------------------------------ helpers
def _row(v):
    """v (..., k) as (..., 1, k): multiplying by it scales a matrix's columns (M·diag(v))."""
    return reshape(v, _shape(v)[:-1] + (1, _shape(v)[-1]))


def _col(v):
    """v (..., k) as (..., k, 1): multiplying by it scales a matrix's rows (diag(v)·M)."""
    return reshape(v, _shape(v) + (1,))


def _complex(x):
    return _dtype(x).kind == "c"


def _c(x):
    """conj(x) for complex x, else x itself (no graph node, no copy)."""
    return conj(x) if _complex(x) else x


def _H(x):
    """The conjugate transpose of the last two axes (the transpose for real arrays)."""
    return _c(_T(x))


def _sym(x):
    """The Hermitian (for real arrays: symmetric) part of x."""
    return 0.5 * (x + _H(x))


def _eye_like(x, n):
    """The identity in x's real precision (float32 for complex64)."""
    return np.eye(n, dtype=np.finfo(_dtype(x)).dtype)


def _transposed(adjoint):
    """JAX's reverse rule from a textbook adjoint: g -> conj(adjoint(conj(g)))."""
    def rule(g, ans, *args, **kw):
        return _c(adjoint(_c(g), ans, *args, **kw))
    return rule


def _i_imag(x):
    """i·Im(x): the part of a (complex) diagonal that a phase change of the vectors moves."""
    from .complex import imag
    return 1j * imag(x)


def _trace(x):
    return _einsum("...ii->...", x)


def _gaps(w):
    """F[i, j] = 1/(w_j − w_i) off the diagonal, 0 on it (no division by zero there)."""
    eye = np.eye(_shape(w)[-1], dtype=_dtype(w))
    return (1.0 - eye) / (_row(w) - _col(w) + eye)


def _lower(x):
    """The strictly lower triangle of x (a constant mask, so it differentiates as itself)."""
    n = _shape(x)[-1]
    return x * np.tri(n, n, -1, dtype=_dtype(x))


def _plain(*xs):
    return not any(isinstance(x, Tensor) for x in xs)


def _square(name, a):
    s = np.shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ChainruleError(f"linalg.{name}", message="needs square matrices",
                             expected="an array of shape (..., n, n)",
                             actual=describe(np.asarray(a)),
                             fix="pass a square matrix (or a stack of them); for rectangular "
                                 "systems use linalg.pinv or linalg.lstsq")


def _mirror(a, upper=False):
    """The symmetric (Hermitian) matrix NumPy factors: the lower (or upper) triangle of a,
    mirrored; of a complex diagonal NumPy reads the real part only."""
    n = _shape(a)[-1]
    dtype = np.finfo(_dtype(a)).dtype if _dtype(a).kind in "fc" else np.float64
    keep, strict = np.tri(n, n, 0, dtype=dtype), np.tri(n, n, -1, dtype=dtype)
    if upper:
        keep, strict = keep.T, strict.T
    if _complex(a):
        from .complex import real
        eye = np.eye(n, dtype=dtype)
        return a * strict + _H(a * strict) + real(a * eye)
    return a * keep + _T(a * strict)


def _square_op(name, fn, differentiable=True):
    def run(a):
        _square(name, a)
        return fn(a)
    return Primitive(name, run, differentiable=differentiable, doc=fn.__doc__)


# ------------------------------------------------------------ inv and solve
inv = _ops["inv"] = _square_op("inv", np.linalg.inv)
defvjp(inv, lambda g, ans, a: -matmul(_T(ans), matmul(g, _T(ans))), formulas={0: "−A⁻ᵀ·g·A⁻ᵀ"})
defjvp(inv, lambda t, ans, a: -matmul(ans, matmul(t, ans)))


def _solve(a, b):
    _square("solve", a)
    n, sb = np.shape(a)[-1], np.shape(b)
    rows = sb[-1] if _is_vector(a, b) else sb[-2] if len(sb) > 1 else None
    if rows != n:
        raise ChainruleError("linalg.solve", message="a and b do not match",
                             expected=f"b of shape ({n},) or (..., {n}, k) for a of shape "
                                      f"{np.shape(a)}",
                             actual=describe(np.asarray(b)),
                             fix="b needs one row per row of a; a 1-D b is one right-hand side, "
                                 "several go side by side as the columns of a matrix")
    try:
        return np.linalg.solve(a, b)
    except ValueError as e:
        if isinstance(e, np.linalg.LinAlgError):
            raise
        raise ChainruleError("linalg.solve", message=str(e), expected="broadcastable batch axes",
                             actual=f"{describe(np.asarray(a))} and {describe(np.asarray(b))}",
                             fix="make the leading (batch) axes broadcast") from None


def _is_vector(a, b):
    """Whether solve treats b as one vector per matrix (NumPy 2: only a 1-D b)."""
    nb = len(_shape(b))
    return nb == 1 or _NUMPY1 and nb == len(_shape(a)) - 1


def _solve_vjp(i, g, x, a, b):
    vec = _is_vector(a, b)
    gb = solve(_T(a), _col(g) if vec else g)        # Aᵀ⁻¹·g
    if i == 1:
        return reshape(gb, _shape(gb)[:-1]) if vec else gb
    return -matmul(gb, _T(_col(x) if vec else x))


def _solve_jvp_a(t, x, a, b):
    vec = _is_vector(a, b)
    dx = -solve(a, matmul(t, _col(x) if vec else x))
    return reshape(dx, _shape(dx)[:-1]) if vec else dx


solve = _ops["solve"] = Primitive("solve", _solve, doc=np.linalg.solve.__doc__)
defvjp_argnum(solve, _solve_vjp, formulas={0: "−(A⁻ᵀg)·xᵀ", 1: "A⁻ᵀ·g"})
defjvp(solve, _solve_jvp_a, lambda t, x, a, b: solve(a, t))

# ----------------------------------------------------------------- cholesky
def _phi(n, dtype):
    """Lower triangle with the diagonal halved: the part of a symmetric matrix L⁻¹·dL keeps."""
    return np.tri(n, n, -1, dtype=dtype) + 0.5 * np.eye(n, dtype=dtype)


def _phi_of(L):
    return _phi(_shape(L)[-1], np.finfo(_dtype(L)).dtype)      # real, also for complex L


@_transposed
def _cholesky_vjp(g, L, a):
    Li, phi = inv(L), _phi_of(L)
    return _sym(matmul(_H(Li), matmul(phi * matmul(_H(L), g), Li)))


def _cholesky_jvp(t, L, a):
    Li, phi = inv(L), _phi_of(L)
    return matmul(L, phi * matmul(Li, matmul(_sym(t), _H(Li))))


_cholesky = _square_op("cholesky", np.linalg.cholesky)      # of a symmetric (mirrored) matrix
defvjp(_cholesky, _cholesky_vjp, formulas={0: "sym(L⁻ᵀ·Φ(Lᵀg)·L⁻¹)"})
defjvp(_cholesky, _cholesky_jvp)


def cholesky(a, upper=False):
    """L with L·Lᵀ = a's lower triangle mirrored (with upper=True: U = Lᵀ of the upper one)."""
    if _plain(a):
        return np.linalg.cholesky(a, upper=upper) if not _NUMPY1 else np.linalg.cholesky(a)
    _square("cholesky", a)
    L = _cholesky(_mirror(a, upper))
    return _H(L) if upper else L


# --------------------------------------------------------------------- eigh
@_transposed
def _eigh_w_vjp(g, w, a):
    v = _eigh_v(a)
    return matmul(v * _row(g), _H(v))


def _eigh_w_jvp(t, w, a):
    v = _eigh_v(a)
    return _sum(_c(v) * matmul(_sym(t), v), -2)            # diag(Vᴴ·dA·V)


def _eigh_v_vjp(g, v, a):
    if _complex(v) and _plain(g, v):
        _check_phase_invariant("eigh", np.einsum("...ij,...ij->...j", v, g))
    return _eigh_v_adjoint(g, v, a)


@_transposed
def _eigh_v_adjoint(g, v, a):
    f = _gaps(_eigh_w(a))
    return _sym(matmul(v, matmul(f * matmul(_H(v), g), _H(v))))


def _eigh_v_jvp(t, v, a):
    f = _gaps(_eigh_w(a))
    return matmul(v, f * matmul(_H(v), matmul(_sym(t), v)))


def _check_phase_invariant(op, vg):
    """Refuse a loss that depends on the arbitrary phase of complex eigenvectors.

    Turning vector j by e^{iφ} changes the loss by −φ·Im(vⱼᵀgⱼ): unless that is 0 there is
    no derivative (NumPy's choice of phase is not a smooth function of the matrix).
    """
    scale = 1.0 + np.max(np.abs(vg), initial=0.0)
    if np.max(np.abs(np.imag(vg)), initial=0.0) > 1e-6 * scale:
        raise ChainruleError(
            f"linalg.{op}", message="the loss depends on the phase of complex eigenvectors, "
                                    "which has no derivative",
            expected="a function of the eigenvectors unchanged by v -> v·e^(iφ) "
                     "(e.g. |v|², v·vᴴ, or the eigenvalues)",
            actual=f"Im(vᵀ·g) up to {np.max(np.abs(np.imag(vg))):.3g} per vector",
            fix="use a phase-invariant function of the eigenvectors")


# of a symmetric (mirrored) matrix, so the rules may assume symmetry
_eigh_w = _square_op("eigh_eigenvalues", lambda a: np.linalg.eigh(a)[0])
_eigh_v = _square_op("eigh_eigenvectors", lambda a: np.linalg.eigh(a)[1])
defvjp(_eigh_w, _eigh_w_vjp, formulas={0: "V·diag(g)·Vᵀ"})
defjvp(_eigh_w, _eigh_w_jvp)
defvjp(_eigh_v, _eigh_v_vjp, formulas={0: "sym(V·(F∘Vᵀg)·Vᵀ), F = 1/(wⱼ−wᵢ)"})
defjvp(_eigh_v, _eigh_v_jvp)


def eigh(a, UPLO="L"):
    """(w, V) of the symmetric matrix in a's lower (UPLO='L') or upper ('U') triangle."""
    if _plain(a):
        return np.linalg.eigh(a, UPLO)
    _square("eigh", a)
    s = _mirror(a, _upper(UPLO))
    return EighResult(_eigh_w(s), _eigh_v(s))


def eigvalsh(a, UPLO="L"):
    """The eigenvalues of the symmetric matrix in a's lower ('L') or upper ('U') triangle."""
    if _plain(a):
        return np.linalg.eigvalsh(a, UPLO)
    _square("eigvalsh", a)
    return _eigh_w(_mirror(a, _upper(UPLO)))


def _upper(uplo):
    if uplo not in ("L", "U"):
        raise ChainruleError("linalg.eigh", expected="UPLO='L' or 'U'", actual=repr(uplo),
                             fix="pick the triangle that holds the matrix")
    return uplo == "U"


# ---------------------------------------------------------------------- svd
def _svd_parts(a):
    u, s, vh = _svd_u(a), _svd_s(a), _svd_vh(a)
    return u, s, vh, _gaps(s * s)                          # F = 1/(sⱼ² − sᵢ²)


def _diag(x):
    return _einsum("...ii->...i", x)


@_transposed
def _svd_u_vjp(g, u, a):
    _, s, vh, f = _svd_parts(a)
    ug = matmul(_H(u), g)
    j = f * ug
    m = (j + _H(j)) * _row(s)
    if _complex(u):      # the phase of each pair (uᵢ, vᵢ) is put on uᵢ: see _svd_u_jvp
        m = m + _i_imag(_diag(ug) / s)[..., None] * np.eye(_shape(s)[-1], dtype=_dtype(s))
    r = matmul(u, matmul(m, vh))
    if _shape(u)[-2] > _shape(u)[-1]:                      # the part of g outside span(U)
        r = r + matmul((g - matmul(u, ug)) * _row(1.0 / s), vh)
    return r


@_transposed
def _svd_vh_vjp(g, vh, a):
    u, s, _, f = _svd_parts(a)
    k = f * matmul(vh, _H(g))
    r = matmul(u, matmul(_col(s) * (k + _H(k)), vh))
    if _shape(vh)[-1] > _shape(vh)[-2]:                    # the part of g outside span(V)
        r = r + matmul(u * _row(1.0 / s), g - matmul(matmul(g, _H(vh)), vh))
    return r


def _svd_dp(t, u, vh):
    return matmul(_H(u), matmul(t, _H(vh)))               # Uᴴ·dA·V


def _svd_u_jvp(t, u, a):
    _, s, vh, f = _svd_parts(a)
    dp = _svd_dp(t, u, vh)
    r = matmul(u, f * (dp * _row(s) + _col(s) * _H(dp)))
    if _complex(dp):     # Im diag(Uᴴ dA V) turns uᵢ against vᵢ: keep vᵢ's phase, turn uᵢ
        r = r + u * _row(_i_imag(_diag(dp)) / s)
    if _shape(u)[-2] > _shape(u)[-1]:
        r = r + (matmul(t, _H(vh)) - matmul(u, dp)) * _row(1.0 / s)
    return r


def _svd_vh_jvp(t, vh, a):
    u, s, _, f = _svd_parts(a)
    dp = _svd_dp(t, u, vh)
    r = -matmul(f * (_col(s) * dp + _H(dp) * _row(s)), vh)
    if _shape(vh)[-1] > _shape(vh)[-2]:
        r = r + _col(1.0 / s) * (matmul(_H(u), t) - matmul(dp, vh))
    return r


_svd_u = Primitive("svd_u", lambda a: np.linalg.svd(a, full_matrices=False)[0])
_svd_s = Primitive("svd_s", lambda a: np.linalg.svd(a, compute_uv=False))
_svd_vh = Primitive("svd_vh", lambda a: np.linalg.svd(a, full_matrices=False)[2])
defvjp(_svd_s, _transposed(lambda g, s, a: matmul(_svd_u(a) * _row(g), _svd_vh(a))),
       formulas={0: "U·diag(g)·Vᵀ"})
defjvp(_svd_s, lambda t, s, a: _sum(_c(_svd_u(a)) * matmul(t, _H(_svd_vh(a))), -2))
defvjp(_svd_u, _svd_u_vjp, formulas={0: "U((F∘(UᵀḠ−ḠᵀU))S)Vᵀ + (I−UUᵀ)ḠS⁻¹Vᵀ"})
defjvp(_svd_u, _svd_u_jvp)
defvjp(_svd_vh, _svd_vh_vjp,
       formulas={0: "U(S(F∘(VᵀV̄−V̄ᵀV)))Vᵀ + US⁻¹V̄ᵀ(I−VVᵀ)"})
defjvp(_svd_vh, _svd_vh_jvp)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """NumPy's svd; on Tensors the reduced factors (full_matrices=False) have gradients."""
    if _plain(a):
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                             hermitian=hermitian)
    if not compute_uv:
        return _svd_s(a)
    m, n = _shape(a)[-2:]
    if full_matrices and m != n:
        raise ChainruleError("linalg.svd", message="full_matrices=True has no gradient for a "
                             "non-square matrix (the extra columns are not unique)",
                             expected="full_matrices=False (or a square matrix)",
                             actual=f"{describe(a)}", fix="call svd(a, full_matrices=False)")
    return SVDResult(_svd_u(a), _svd_s(a), _svd_vh(a))


def svdvals(a):
    return _svd_s(a)


# --------------------------------------------------------------------- pinv
@_transposed
def _pinv_vjp(g, p, a, **kw):
    pt, gt = _H(p), _H(g)
    r = -matmul(pt, matmul(g, pt))
    r = r + matmul(gt - matmul(a, matmul(p, gt)), matmul(p, pt))       # (I − AA⁺)gᵀA⁺A⁺ᵀ
    return r + matmul(matmul(pt, p), gt - matmul(matmul(gt, p), a))    # A⁺ᵀA⁺gᵀ(I − A⁺A)


def _pinv_jvp(t, p, a, **kw):
    pt, tt = _H(p), _H(t)
    r = -matmul(p, matmul(t, p))
    r = r + matmul(matmul(p, pt), tt - matmul(matmul(tt, a), p))
    return r + matmul(tt - matmul(p, matmul(a, tt)), matmul(pt, p))


_pinv = Primitive("pinv", lambda a, **kw: np.linalg.pinv(a, **kw))
defvjp(_pinv, _pinv_vjp, formulas={0: "−A⁺ᵀgA⁺ᵀ + (I−AA⁺)gᵀA⁺A⁺ᵀ + A⁺ᵀA⁺gᵀ(I−A⁺A)"})
defjvp(_pinv, _pinv_jvp)


def pinv(a, rcond=None, hermitian=False, *, rtol=np._NoValue):
    """Moore-Penrose pseudo-inverse; differentiable where the rank does not change."""
    kw = {} if rtol is np._NoValue else {"rtol": rtol}
    if rcond is not None:
        kw["rcond"] = rcond
    if hermitian:
        kw["hermitian"] = True
    return _pinv(a, **kw)


# ----------------------------------------------------------------------- qr
def _qr_block(a, r):
    """(E, U): E = [I 0] (k×n) picks R's square left block U; None when R is square."""
    m, n = _shape(a)[-2:]
    if m >= n:
        return None, r
    e = np.eye(m, n, dtype=_dtype(r))
    return e, matmul(r, e.T)


def _rdiv(x, u, transposed=False):
    """x·U⁻¹ (or x·U⁻ᴴ), by a solve instead of an inverse."""
    if transposed:
        return _H(solve(u, _H(x)))
    return _T(solve(_T(u), _T(x)))


def _qr_back(q, r, a, gq, gr):
    """Ā for Q̄ = gq, R̄ = gr (either may be None); Ā = Q·R̄ + [(Q̄ + Q·W)·U⁻ᴴ, 0].

    Written as the textbook adjoint (conjugate transposes); the callers conjugate around it.
    """
    e, u = _qr_block(a, r)
    z = 0.0
    if gq is not None:
        qg = matmul(_H(q), gq)
        z = qg
    if gr is not None:
        z = z - matmul(gr, _H(r))
    w = _lower(z - _H(z))
    if _complex(q) and not isinstance(z, float):   # R's diagonal stays real: a phase term
        w = w + _i_imag(_diag(z))[..., None] * _eye_like(r, _shape(r)[-2])
    x = matmul(q, w) if gq is None else gq + matmul(q, w - qg)
    x = _rdiv(x, u, transposed=True)
    if e is not None:
        x = matmul(x, e)
    return x if gr is None else x + matmul(q, gr)


def _qr_omega(t, q, r, a):
    """(E, U, C = Qᵀ·dX·U⁻¹, Ω = QᵀdQ): Ω is C's strict lower triangle made antisymmetric."""
    e, u = _qr_block(a, r)
    tx = t if e is None else matmul(t, e.T)
    c = _rdiv(matmul(_H(q), tx), u)
    low = _lower(c)
    om = low - _H(low)
    if _complex(c):          # R's diagonal stays real, so Ω's imaginary diagonal is C's
        om = om + _i_imag(_diag(c))[..., None] * _eye_like(c, _shape(c)[-1])
    return tx, u, c, om


def _qr_q_jvp(t, q, a):
    tx, u, c, om = _qr_omega(t, q, _qr_r(a), a)
    return _rdiv(tx, u) - matmul(q, c - om)


def _qr_r_jvp(t, r, a):
    q = _qr_q(a)
    _, _, _, om = _qr_omega(t, q, r, a)
    return matmul(_H(q), t) - matmul(om, r)


_qr_q = Primitive("qr_q", lambda a: np.linalg.qr(a)[0])
_qr_r = Primitive("qr_r", lambda a: np.linalg.qr(a)[1])
defvjp(_qr_q, _transposed(lambda g, q, a: _qr_back(q, _qr_r(a), a, g, None)),
       formulas={0: "(Q̄ + Q·W)·R⁻ᵀ, W from QᵀQ̄"})
defjvp(_qr_q, _qr_q_jvp)
defvjp(_qr_r, _transposed(lambda g, r, a: _qr_back(_qr_q(a), r, a, None, g)),
       formulas={0: "Q·R̄ + Q·W·R⁻ᵀ, W from R̄Rᵀ"})
defjvp(_qr_r, _qr_r_jvp)


def qr(a, mode="reduced"):
    """(Q, R) with Q's columns orthonormal and R upper triangular; mode 'reduced' or 'r'."""
    if _plain(a):
        return np.linalg.qr(a, mode=mode)
    if mode == "r":
        return _qr_r(a)
    if mode != "reduced":
        raise ChainruleError("linalg.qr", message=f"mode={mode!r} has no gradient rule",
                             expected="mode='reduced' or 'r'", actual=repr(mode),
                             fix="use the reduced factors")
    return QRResult(_qr_q(a), _qr_r(a))


_ops.update(cholesky=cholesky, eigh=eigh, eigvalsh=eigvalsh, svd=svd,
            svdvals=svdvals, pinv=pinv, qr=qr)
__all__ = sorted(_ops)


# ------------------------------------------------------- batching rules (vmap)
# NumPy's linalg already works on stacks (..., m, n): a batch is one more leading axis.
def _b_solve(op, bdims, n, a, b):
    from ..core.batching import align
    (da, db) = bdims
    sa, sb = (_shape(a)[1:] if da is not None else _shape(a)), \
        (_shape(b)[1:] if db is not None else _shape(b))
    if len(sa) < 2 or not sb:
        return NotImplemented                       # NumPy's error, from the loop
    vec = len(sb) == 1 or _NUMPY1 and len(sb) == len(sa) - 1
    if vec:                                         # one right-hand side: a column
        b = reshape(b, _shape(b) + (1,))
        sb = sb + (1,)
    k = max(len(sa), len(sb))
    x = op(align(a, da, k), align(b, db, k))
    return reshape(x, _shape(x)[:-1]) if vec else x


from ..core.batching import batch_leading  # noqa: E402
from ..core.primitive import defbatch  # noqa: E402

for _name in ("inv", "det", "_slogdet_sign", "_logabsdet", "_cholesky", "_eigh_w", "_eigh_v",
              "_svd_u", "_svd_s", "_svd_vh", "_pinv", "_qr_q", "_qr_r"):
    if isinstance(globals().get(_name), Primitive):
        defbatch(globals()[_name], batch_leading)
defbatch(solve, _b_solve)
