"""Complex numbers: the two conventions, checked against the peers, and every rule family
with complex inputs by finite differences (real and imaginary directions, second order,
both modes).

``Tensor.backward()`` gives PyTorch's ``.grad``; ``grad``/``vjp``/``jvp`` give JAX's.  The
oracle tests skip when torch or jax is not installed.
"""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.optim as optim

try:
    import torch
except ImportError:            # pragma: no cover - the oracle is optional
    torch = None
try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:            # pragma: no cover
    jax = jnp = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch (test oracle) not installed")
needs_jax = pytest.mark.skipif(jax is None, reason="jax (test oracle) not installed")
FEW = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))


def crandn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# ------------------------------------------------------------ the convention
def test_worked_example_of_docs():
    z = cr.tensor(3 + 4j, requires_grad=True)
    (cnp.abs(z) ** 2).backward()
    assert np.isclose(z.grad, 6 + 8j)                              # PyTorch: 2z
    assert np.isclose(cr.grad(lambda z: cnp.abs(z) ** 2)(3 + 4j), 6 - 8j)   # JAX: 2 z̄
    assert np.isclose(cr.grad(lambda z: z ** 2, holomorphic=True)(3 + 4j), 6 + 8j)  # f'(z)


def test_descending_along_grad_lowers_a_real_loss():
    z = cr.tensor(np.array([3 + 4j, -1 + 0.5j]), requires_grad=True)
    loss = cnp.sum(cnp.abs(z - (1 - 1j)) ** 2)
    loss.backward()
    with cr.no_grad():
        z2 = z.data - 0.1 * z.grad
    assert float(np.sum(np.abs(z2 - (1 - 1j)) ** 2)) < float(loss.data)


# functions of a complex z (and a complex constant w) written once for chainrule, torch and
# jax.numpy, whose names agree: a real loss of each rule family
def _herm(L, z):
    """A Hermitian positive definite matrix from z, for any z (z·zᴴ is semi-definite)."""
    return z @ L.conj(z).T / z.shape[0] + L.eye(z.shape[0])


LOSSES = {
    "abs2": lambda L, z, w: L.sum(L.abs(z) ** 2),
    "real_exp": lambda L, z, w: L.sum(L.real(L.exp(z) * w)),
    "abs_sin": lambda L, z, w: L.sum(L.abs(L.sin(z) * w)),
    "imag_log": lambda L, z, w: L.sum(L.imag(L.log(z) * w)),
    "angle": lambda L, z, w: L.sum(L.angle(z * w)),
    "abs_poly": lambda L, z, w: L.abs(L.sum(z ** 3 * w)),
    "conj": lambda L, z, w: L.sum(L.real(L.conj(z) * w * z)),
    "sign": lambda L, z, w: L.sum(L.real(L.sign(z) * w)),
    "sqrt_tanh": lambda L, z, w: L.real(L.sum(L.sqrt(z) * L.tanh(z) * w)),
    "norm": lambda L, z, w: L.linalg.norm(z * w),
    "var": lambda L, z, w: L.var(z * w),
    "prod": lambda L, z, w: L.abs(L.prod(z + w)),
    "fft": lambda L, z, w: L.sum(L.abs(L.fft.fft(z * w)) ** 2),
    "ifft_norm": lambda L, z, w: L.sum(L.real(L.fft.ifft(z, norm="ortho") * w)),
    "irfft": lambda L, z, w: L.sum(L.fft.irfft(z * w, 7) ** 2),
    "rfft": lambda L, z, w: L.sum(L.abs(L.fft.rfft(L.real(z * w), 6)) ** 2),
    "fft2": lambda L, z, w: L.sum(L.imag(L.fft.fft2(L.outer(z, w)))),
}
MATRIX_LOSSES = {
    "det": lambda L, a, w: L.abs(L.linalg.det(a)),
    "inv": lambda L, a, w: L.sum(L.abs(L.linalg.inv(a + 3 * L.eye(3))) ** 2),
    "solve": lambda L, a, w: L.sum(L.abs(L.linalg.solve(a + 3 * L.eye(3), w)) ** 2),
    "matmul": lambda L, a, w: L.sum(L.real(a @ a @ w)),
    "eigvals": lambda L, a, w: L.sum(L.abs(L.linalg.eigvals(a)) ** 2),
    "eigvalsh": lambda L, a, w: L.sum(L.linalg.eigvalsh(_herm(L, a)) ** 3),
    "eigh_vectors": lambda L, a, w: L.sum(L.abs(L.linalg.eigh(_herm(L, a))[1] * w) ** 2),
    "cholesky": lambda L, a, w: L.sum(L.abs(L.linalg.cholesky(_herm(L, a)))),
    "svdvals": lambda L, a, w: L.sum(L.linalg.svd(a)[1] ** 2 * L.abs(w)),
    "svd_vectors": lambda L, a, w: L.sum(L.abs(L.linalg.svd(a)[0] * w) ** 2),
    "qr": lambda L, a, w: L.sum(L.abs(L.linalg.qr(a)[1] * w)),
    "pinv": lambda L, a, w: L.sum(L.abs(L.linalg.pinv(a[:, :2])) ** 2),
    "slogdet": lambda L, a, w: L.linalg.slogdet(a)[1] + L.real(L.linalg.slogdet(a)[0] * w[0]),
}
ALL = {**{k: (v, False) for k, v in LOSSES.items()}, **{k: (v, True) for k, v in
                                                       MATRIX_LOSSES.items()}}


def _point(name, seed):
    rng = np.random.default_rng(seed)
    matrix = ALL[name][1]
    z = crandn(rng, 3, 3) if matrix else crandn(rng, 4) + 0.5
    return z, crandn(rng, 3 if matrix else 4)


class _Torch:
    """torch under NumPy's names, where they differ."""
    def __getattr__(self, name):
        return getattr(torch, name)

    var = staticmethod(lambda z: torch.var(z, unbiased=False))
    sign = staticmethod(lambda z: torch.sgn(z))          # looked up when called: torch may be
    outer = staticmethod(lambda a, b: torch.outer(a, b))  # absent (those tests then skip)

    class linalg:
        def __getattr__(self, name):
            return getattr(torch.linalg, name)
    linalg = linalg()
    linalg.svd = lambda a: torch.linalg.svd(a, full_matrices=False)


@needs_torch
@pytest.mark.parametrize("name", sorted(ALL))
@FEW
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_backward_gives_torchs_grad(name, seed):
    f = ALL[name][0]
    z0, w = _point(name, seed)
    z = cr.tensor(z0, requires_grad=True)
    f(cnp, z, w).backward()
    zt = torch.tensor(z0, requires_grad=True)
    f(_Torch(), zt, torch.tensor(w)).backward()
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-7, atol=1e-9)


@needs_jax
@pytest.mark.parametrize("name", sorted(ALL))
@FEW
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_grad_gives_jaxs_and_is_the_conjugate_of_backward(name, seed):
    _skip_where_jax_differs(name)
    f = ALL[name][0]
    z0, w = _point(name, seed)
    g = cr.grad(lambda z: f(cnp, z, w))(z0)
    gj = jax.grad(lambda z: f(jnp, z, jnp.asarray(w)))(jnp.asarray(z0))
    np.testing.assert_allclose(g, np.asarray(gj), rtol=1e-7, atol=1e-9)
    z = cr.tensor(z0, requires_grad=True)
    f(cnp, z, w).backward()
    np.testing.assert_allclose(z.grad, np.conj(g), rtol=1e-12, atol=1e-14)


# complex-valued functions that are not holomorphic: vjp and jvp against JAX's
MAPS = {
    "conj_mul": lambda L, z: L.conj(z) * z * (1 + 2j),
    "abs_exp": lambda L, z: L.abs(z) * L.exp(z),
    "real_imag": lambda L, z: L.real(z) ** 2 + 1j * L.imag(z) * L.real(z),
    "fft_of_real": lambda L, z: L.fft.fft(L.real(z)) + L.fft.ihfft(L.imag(z), 7)[:4],
    "hfft": lambda L, z: L.fft.hfft(z, 5) * (1 - 1j),
    "angle_sign": lambda L, z: L.angle(z) * L.sign(z),
}
# jax.numpy.sign has derivative 0 for complex z too; chainrule differentiates z/|z| (as
# torch.sgn does), so those are compared with torch only
JAX_ZERO_SIGN = {"sign", "angle_sign"}


def _skip_where_jax_differs(name):
    if name in JAX_ZERO_SIGN:
        pytest.skip("jax.numpy.sign is flat for complex input (see JAX_ZERO_SIGN)")


@needs_jax
@pytest.mark.parametrize("name", sorted(MAPS))
@FEW
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_vjp_and_jvp_give_jaxs(name, seed):
    _skip_where_jax_differs(name)
    f = MAPS[name]
    rng = np.random.default_rng(seed)
    z, t = crandn(rng, 4) + 0.3, crandn(rng, 4)
    out = np.asarray(f(jnp, jnp.asarray(z)))
    u = crandn(rng, *out.shape) if np.iscomplexobj(out) else rng.standard_normal(out.shape)
    y, pull = cr.vjp(lambda a: f(cnp, a), z)
    yj, pullj = jax.vjp(lambda a: f(jnp, a), jnp.asarray(z))
    np.testing.assert_allclose(y.data if isinstance(y, cr.Tensor) else y, np.asarray(yj),
                               rtol=1e-12)
    np.testing.assert_allclose(pull(u)[0], np.asarray(pullj(jnp.asarray(u))[0]), rtol=1e-9,
                               atol=1e-12)
    _, tan = cr.jvp(lambda a: f(cnp, a), (z,), (t,))
    _, tanj = jax.jvp(lambda a: f(jnp, a), (jnp.asarray(z),), (jnp.asarray(t),))
    np.testing.assert_allclose(tan, np.asarray(tanj), rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", sorted(MAPS))
def test_backward_with_a_complex_gradient_gives_torchs(name):
    f = MAPS[name]
    rng = np.random.default_rng(3)
    z0 = crandn(rng, 4) + 0.3
    z = cr.tensor(z0, requires_grad=True)
    y = f(cnp, z)
    v = crandn(rng, *y.shape) if y.dtype.kind == "c" else rng.standard_normal(y.shape)
    y.backward(v)
    zt = torch.tensor(z0, requires_grad=True)
    f(_Torch(), zt).backward(torch.tensor(v))
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_second_order_and_intermediates_follow_torch():
    rng = np.random.default_rng(5)
    z0, w = crandn(rng, 3), crandn(rng, 3)
    z = cr.tensor(z0, requires_grad=True)
    y = cnp.exp(z) * w
    y.retain_grad()
    cnp.sum(cnp.abs(y) ** 2 * cnp.abs(z)).backward(create_graph=True)
    g, yg = z.grad, y.grad
    z.grad = None
    cnp.sum(cnp.real(g * w)).backward()
    zt = torch.tensor(z0, requires_grad=True)
    yt = torch.exp(zt) * torch.tensor(w)
    yt.retain_grad()
    (torch.sum(torch.abs(yt) ** 2 * torch.abs(zt))).backward(create_graph=True)
    gt, ygt = zt.grad, yt.grad.detach().numpy().copy()
    zt.grad = None
    torch.sum(torch.real(gt * torch.tensor(w))).backward()
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(yg.data, ygt, rtol=1e-10)
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-10)


# ------------------------------------------------------------ holomorphic=True
HOLOMORPHIC = {
    "poly": (lambda L, z: L.sum(z ** 3 - 2 * z), False),
    "sin_exp": (lambda L, z: L.sum(L.sin(z) * L.exp(z)), False),
    "log_sqrt": (lambda L, z: L.sum(L.log(z) / L.sqrt(z)), False),
    "det": (lambda L, z: L.linalg.det(z.reshape(2, 2)), False),
    "fft": (lambda L, z: L.sum(L.fft.fft(z) ** 2), False),
    "elementwise": (lambda L, z: L.tanh(z) * z, True),
}


@needs_jax
@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
def test_holomorphic_transforms_give_jaxs(name):
    f, vector = HOLOMORPHIC[name]
    rng = np.random.default_rng(11)
    z = crandn(rng, 4) + 2.0
    fc, fj = (lambda a: f(cnp, a)), (lambda a: f(jnp, a))
    zj = jnp.asarray(z)
    close = dict(rtol=1e-9, atol=1e-12)
    if not vector:
        np.testing.assert_allclose(cr.grad(fc, holomorphic=True)(z),
                                   jax.grad(fj, holomorphic=True)(zj), **close)
        v, g = cr.value_and_grad(fc, holomorphic=True)(z)
        vj, gj = jax.value_and_grad(fj, holomorphic=True)(zj)
        np.testing.assert_allclose(v, vj, **close)
        np.testing.assert_allclose(g, gj, **close)
        np.testing.assert_allclose(cr.hessian(fc, holomorphic=True)(z),
                                   jax.hessian(fj, holomorphic=True)(zj), **close)
    for mine, theirs in ((cr.jacfwd, jax.jacfwd), (cr.jacrev, jax.jacrev)):
        np.testing.assert_allclose(mine(fc, holomorphic=True)(z),
                                   theirs(fj, holomorphic=True)(zj), **close)


def _raises_like_jax(mine, theirs):
    with pytest.raises(TypeError):
        mine()
    if jax is not None:
        with pytest.raises((TypeError, ValueError)):
            theirs()


@pytest.mark.parametrize("case", ["complex output", "holomorphic real input",
                                  "holomorphic real output", "jacfwd complex input",
                                  "jacrev complex output", "jvp complex tangent",
                                  "vjp complex cotangent"])
def test_misuse_raises_type_error_as_in_jax(case):
    z = np.array([1 + 2j, 3 - 1j])
    J = jnp if jax is not None else None
    cases = {
        "complex output": (lambda: cr.grad(lambda a: cnp.sum(a ** 2))(z),
                           lambda: jax.grad(lambda a: J.sum(a ** 2))(J.asarray(z))),
        "holomorphic real input": (lambda: cr.grad(lambda a: a * 2, holomorphic=True)(1.0),
                                   lambda: jax.grad(lambda a: a * 2, holomorphic=True)(1.0)),
        "holomorphic real output": (
            lambda: cr.grad(lambda a: cnp.abs(cnp.sum(a)), holomorphic=True)(z),
            lambda: jax.grad(lambda a: J.abs(J.sum(a)), holomorphic=True)(J.asarray(z))),
        "jacfwd complex input": (lambda: cr.jacfwd(cnp.abs)(z),
                                 lambda: jax.jacfwd(J.abs)(J.asarray(z))),
        "jacrev complex output": (lambda: cr.jacrev(lambda a: a * 2)(z),
                                  lambda: jax.jacrev(lambda a: a * 2)(J.asarray(z))),
        "jvp complex tangent": (lambda: cr.jvp(lambda x: x * 2, (1.0,), (1j,)),
                                lambda: jax.jvp(lambda x: x * 2, (1.0,), (1j,))),
        "vjp complex cotangent": (lambda: cr.vjp(lambda x: x * 2, 1.0)[1](1j),
                                  lambda: jax.vjp(lambda x: x * 2, 1.0)[1](1j)),
    }
    _raises_like_jax(*cases[case])


def test_non_holomorphic_jacobians_of_real_parts_work():
    z = np.array([1 + 2j, 3 - 1j])
    np.testing.assert_allclose(cr.jacrev(lambda a: cnp.abs(a) ** 2)(z), np.diag(2 * np.conj(z)))
    np.testing.assert_allclose(cr.jacfwd(lambda x: cnp.exp(1j * x))(np.array([0.5])),
                               [[1j * np.exp(0.5j)]])


# ------------------------------------------------ every rule family, by finite differences
def _c(rng, *shape, lo=0.3, hi=1.5):
    return rng.uniform(lo, hi, shape) * np.exp(1j * rng.uniform(-2.5, 2.5, shape))


def _hermitian(rng, n):
    a = _c(rng, n, n)
    return a @ a.conj().T + n * np.eye(n)


def _spread(rng, n):
    """A complex matrix with well separated singular values."""
    u, _ = np.linalg.qr(crandn(rng, n, n))
    v, _ = np.linalg.qr(crandn(rng, n, n))
    return u @ np.diag(np.arange(1, n + 1) * 0.8 + 0.5) @ v[:, :n].conj().T


# name: builder(rng) -> (f, args).  Families whose coverage cases predate complex support
# (reductions, products, decompositions) are checked with complex points here.
FAMILIES = {
    "sum": lambda r: (lambda z: cnp.sum(z, axis=0), (_c(r, 3, 2),)),
    "mean": lambda r: (lambda z: cnp.mean(z, axis=-1, keepdims=True), (_c(r, 2, 3),)),
    "prod": lambda r: (lambda z: cnp.prod(z, axis=1), (_c(r, 2, 3),)),
    "var": lambda r: (lambda z: cnp.var(z, axis=0, ddof=1), (_c(r, 4, 2),)),
    "std": lambda r: (cnp.std, (_c(r, 5),)),
    "cumsum": lambda r: (cnp.cumsum, (_c(r, 4),)),
    "cumprod": lambda r: (lambda z: cnp.cumprod(z, axis=0), (_c(r, 3, 2),)),
    "max": lambda r: (cnp.max, (_c(r, 4) + np.arange(4),)),
    "sort": lambda r: (cnp.sort, (_c(r, 4) + np.arange(4)[::-1],)),
    "trace": lambda r: (cnp.trace, (_c(r, 3, 3),)),
    "norm": lambda r: (cnp.linalg.norm, (_c(r, 4),)),
    "norm_ord": lambda r: (lambda z: cnp.linalg.norm(z, 3, axis=0), (_c(r, 4, 2),)),
    "norm_inf": lambda r: (lambda z: cnp.linalg.norm(z, np.inf), (_c(r, 3) * [1, 2, 3],)),
    "norm_l1": lambda r: (lambda z: cnp.linalg.norm(z, 1), (_c(r, 4),)),
    "norm_fro": lambda r: (lambda z: cnp.linalg.norm(z, "fro"), (_c(r, 3, 2),)),
    "norm_nuc": lambda r: (lambda z: cnp.linalg.norm(z, "nuc"), (_spread(r, 3),)),
    "norm_2": lambda r: (lambda z: cnp.linalg.norm(z, 2), (_spread(r, 3),)),
    "logsumexp": lambda r: (cnp.logsumexp, (_c(r, 3),)),
    "matmul": lambda r: (cnp.matmul, (_c(r, 2, 3), _c(r, 3, 2))),
    "dot": lambda r: (cnp.dot, (_c(r, 3), _c(r, 3, 2))),
    "vdot": lambda r: (cnp.vdot, (_c(r, 3), _c(r, 3))),
    "inner": lambda r: (cnp.inner, (_c(r, 3), _c(r, 2, 3))),
    "outer": lambda r: (cnp.outer, (_c(r, 3), _c(r, 2))),
    "einsum": lambda r: (lambda a, b: cnp.einsum("ij,jk->ik", a, b), (_c(r, 2, 3), _c(r, 3, 2))),
    "kron": lambda r: (cnp.kron, (_c(r, 2), _c(r, 2))),
    "tensordot": lambda r: (lambda a, b: cnp.tensordot(a, b, 1), (_c(r, 2, 3), _c(r, 3, 2))),
    "real_times_complex": lambda r: (lambda x, z: cnp.sum(x * z), (r.standard_normal(3),
                                                                   _c(r, 3))),
    "astype": lambda r: (lambda x: cnp.astype(x, complex) * (1 + 2j), (r.standard_normal(3),)),
    "inv": lambda r: (cnp.linalg.inv, (_c(r, 3, 3) + 2 * np.eye(3),)),
    "solve": lambda r: (cnp.linalg.solve, (_c(r, 3, 3) + 2 * np.eye(3), _c(r, 3))),
    "det": lambda r: (cnp.linalg.det, (_c(r, 3, 3),)),
    "slogdet": lambda r: (cnp.linalg.slogdet, (_c(r, 3, 3) + 2 * np.eye(3),)),
    "cholesky": lambda r: (cnp.linalg.cholesky, (_hermitian(r, 3),)),
    "cholesky_upper": lambda r: (lambda a: cnp.linalg.cholesky(a, upper=True),
                                 (_hermitian(r, 3),)),
    "eigh": lambda r: (lambda a: (lambda w, v: (w, cnp.abs(v) ** 2, v @ (w[:, None] * v.conj().T)))
                       (*cnp.linalg.eigh(a)), (_hermitian(r, 3) + np.diag([0, 2, 5]),)),
    "eigh_upper": lambda r: (lambda a: cnp.linalg.eigvalsh(a, "U"), (_hermitian(r, 3),)),
    "svd": lambda r: (lambda a: (lambda u, s, vh: (s, u @ vh, cnp.abs(u) ** 2, cnp.abs(vh) ** 2))
                      (*cnp.linalg.svd(a, full_matrices=False)), (_spread(r, 3)[:, :2],)),
    "svd_wide": lambda r: (lambda a: (lambda u, s, vh: (u * s) @ vh)
                           (*cnp.linalg.svd(a, full_matrices=False)), (_spread(r, 3)[:2],)),
    "pinv": lambda r: (cnp.linalg.pinv, (_spread(r, 3)[:, :2],)),
    "qr": lambda r: (cnp.linalg.qr, (_c(r, 3, 2),)),
    "qr_wide": lambda r: (cnp.linalg.qr, (_c(r, 2, 3),)),
    "qr_square": lambda r: (cnp.linalg.qr, (_c(r, 3, 3),)),
    "getitem_concat": lambda r: (lambda z: cnp.concatenate([z[1:], z[::-1]]) * z[0], (_c(r, 3),)),
    "where_stack": lambda r: (lambda z: cnp.stack([cnp.where(np.array([1, 0, 1], bool), z, 2 * z),
                                                   z.T.conj()]), (_c(r, 3),)),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_rules_with_complex_inputs_match_finite_differences(name, seed):
    f, args = FAMILIES[name](np.random.default_rng(seed))
    cr.check_grad(f, *args, order=2, modes=("fwd", "rev"), warn_on_kink=False)


def test_check_grad_catches_a_missing_conjugation():
    @cr.custom_vjp
    def abs2(z):
        return cnp.real(z * cnp.conj(z))

    abs2.defvjp(lambda z: (abs2(z), z), lambda z, g: (2 * g * z,))   # right: 2·g·conj(z)
    z = np.array([1 + 2j, -0.5 + 1j])
    report = cr.check_grad(abs2, z, order=1, modes=("rev",), raise_on_fail=False)
    assert [ok for *_, ok in report.rows] == [True, False]         # real direction, imaginary
    with pytest.raises(AssertionError, match=r"\[imag\]"):
        cr.check_grad(abs2, z, order=1, modes=("rev",))


# -------------------------------------------------------------- dtypes, API
def test_complex64_stays_single_precision():
    z = cr.tensor(np.array([1 + 2j, 3 - 1j], np.complex64), requires_grad=True)
    loss = cnp.sum(cnp.abs(cnp.fft.fft(cnp.exp(z) * z)) ** 2)
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.complex64
    g = cr.grad(lambda a: cnp.sum(cnp.abs(a) ** 2))(z.data)
    assert g.dtype == np.complex64
    x = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    y = cnp.fft.rfft(x)
    assert y.dtype == np.complex64
    cnp.sum(cnp.abs(y)).backward()
    assert x.grad.dtype == np.float32
    a = np.eye(2, dtype=np.complex64) + np.array([[0, 1j], [0, 0]], np.complex64)
    assert cr.grad(lambda m: cnp.abs(cnp.linalg.det(m)))(a).dtype == np.complex64


SINGLE = {
    "eigh": lambda a: cnp.linalg.eigh(a)[0], "eigh_v": lambda a: cnp.abs(cnp.linalg.eigh(a)[1]),
    "cholesky": cnp.linalg.cholesky, "svd": lambda a: cnp.abs(cnp.linalg.svd(a)[0]),
    "qr": lambda a: cnp.linalg.qr(a)[1], "pinv": cnp.linalg.pinv,
    "eig": lambda a: cnp.linalg.eig(a)[1], "eigvals": cnp.linalg.eigvals,
    "slogdet": lambda a: cnp.linalg.slogdet(a)[0], "nuc": lambda a: cnp.linalg.norm(a, "nuc"),
    "var": cnp.var, "angle": cnp.angle, "sign": cnp.sign, "fft2": cnp.fft.fft2,
    "irfft": cnp.fft.irfft, "hfft": cnp.fft.hfft, "roots": lambda a: cnp.roots(a[0]),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_complex64_rules_stay_single_precision(name):
    rng = np.random.default_rng(0)
    a = crandn(rng, 3, 3)
    a = (a @ a.conj().T + 3 * np.eye(3)).astype(np.complex64)
    f = SINGLE[name]
    t = cr.tensor(a, requires_grad=True)
    y = f(t)
    plain = f(a)
    assert y.dtype == (plain[0] if isinstance(plain, tuple) else plain).dtype
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no ComplexWarning, no float64 detour
        cnp.sum(cnp.abs(y) ** 2).backward()
        _, tan = cr.jvp(f, (a,), (a,))
    assert t.grad.dtype == np.complex64 and tan.dtype == y.dtype


def test_real_input_gets_the_real_part_of_the_gradient():
    f = lambda x: cnp.abs(cnp.exp(1j * x) + 2.0) ** 2     # noqa: E731
    g = cr.grad(f)(0.7)
    assert isinstance(g, float) or np.asarray(g).dtype.kind == "f"
    assert np.isclose(g, -4 * np.sin(0.7))
    x = cr.tensor(0.7, requires_grad=True)
    f(x).backward()
    assert x.grad.dtype == np.float64 and np.isclose(x.grad, -4 * np.sin(0.7))


def test_tensor_real_imag_conj_and_inspection_functions():
    z0 = np.array([1 + 2j, 3.0 + 0j])
    z = cr.tensor(z0, requires_grad=True)
    # each of real, imag, conj checked on its own (gradient of Re(c·f(z)) = conj(c·f'))
    for f, expected in ((lambda t: t.real, 1.0), (lambda t: t.imag, 1j),
                        (lambda t: cnp.real(t.conj() * 1j), 1j)):
        t = cr.tensor(z0, requires_grad=True)
        cnp.sum(f(t)).backward()
        np.testing.assert_allclose(t.grad, [expected] * 2)
    assert np.array_equal(np.iscomplex(z), [True, False])
    assert np.array_equal(np.isreal(z), [False, True])
    assert np.iscomplexobj(z) and not np.isrealobj(z)
    assert np.array_equal(cnp.iscomplex(z), [True, False]) and cnp.iscomplexobj(z)


def test_angle_real_if_close_sort_complex():
    z = cr.tensor(np.array([1 + 1j, -2 + 0j]), requires_grad=True)
    np.testing.assert_allclose(cnp.angle(z, deg=True).data, np.angle(z.data, deg=True))
    assert np.array_equal(cnp.angle(cr.tensor([-1.0, -0.0, 2.0])).data,
                          np.angle(np.array([-1.0, -0.0, 2.0])))
    assert cr.grad(lambda x: cnp.sum(cnp.angle(x)))(np.array([-1.0, 2.0])).tolist() == [0, 0]
    near = cr.tensor(np.array([1 + 1e-20j, 2 + 0j]), requires_grad=True)
    r = cnp.real_if_close(near)
    assert r.dtype == np.float64 and np.array_equal(r.data, np.real_if_close(near.data))
    cnp.sum(r * 3).backward()
    np.testing.assert_allclose(near.grad, [3, 3])
    far = cnp.real_if_close(cr.tensor(np.array([1 + 1j])))
    assert far.dtype.kind == "c"
    s = cnp.sort_complex(cr.tensor(np.array([3.0, 1.0, 2.0], np.float32), requires_grad=True))
    assert s.dtype == np.sort_complex(np.array([3.0], np.float32)).dtype
    np.testing.assert_array_equal(s.data, np.sort_complex(np.array([3.0, 1.0, 2.0])))


# ------------------------------------------------------------- eig, roots errors
def test_eig_refuses_repeated_eigenvalues_in_both_modes():
    a = np.array([[2.0, 1.0], [0.0, 2.0]])
    for run in (lambda: cr.grad(lambda m: cnp.sum(cnp.abs(cnp.linalg.eigvals(m))))(a),
                lambda: cr.jvp(lambda m: cnp.linalg.eig(m)[1], (a,), (np.ones((2, 2)),))):
        with pytest.raises(cr.ChainruleError, match="repeated eigenvalues"):
            run()


def test_eigvals_gradient_follows_its_own_order():
    rng = np.random.default_rng(2)
    a = crandn(rng, 4, 4)
    c = crandn(rng, 4)
    g1 = cr.grad(lambda m: cnp.sum(cnp.real(cnp.linalg.eigvals(m) * c)))(a)
    w = np.linalg.eigvals(a)
    order = np.argmin(np.abs(w[:, None] - np.linalg.eig(a)[0][None, :]), axis=1)
    cw = np.zeros(4, complex)
    cw[order] = c
    g2 = cr.grad(lambda m: cnp.sum(cnp.real(cnp.linalg.eig(m)[0] * cw)))(a)
    np.testing.assert_allclose(g1, g2, rtol=1e-10)


def test_eigh_refuses_a_loss_that_depends_on_the_eigenvector_phase():
    rng = np.random.default_rng(4)
    h = _hermitian(rng, 3)
    with pytest.raises(cr.ChainruleError, match="phase"):
        cr.grad(lambda a: cnp.sum(cnp.real(cnp.linalg.eigh(a)[1])))(h)
    cr.grad(lambda a: cnp.sum(cnp.abs(cnp.linalg.eigh(a)[1])))(h)        # invariant: fine


def test_roots_errors_and_a_zero_root():
    with pytest.raises(cr.ChainruleError, match="leading coefficient"):
        cnp.roots(cr.tensor([0.0, 1.0, 2.0], requires_grad=True))
    # p = x² − 3x + c at c = 0: roots 3 and 0; dr/dc = −1/p'(r) = 1/3 and −1/3 (kept, not
    # stripped away with NumPy's trailing zero)
    p = np.array([1.0, -3.0, 0.0])
    np.testing.assert_allclose(cnp.roots(cr.tensor(p)).data, np.roots(p))
    jac = cr.jacrev(cnp.roots)(p)
    np.testing.assert_allclose(jac[:, 2], [-1 / 3, 1 / 3], atol=1e-12)


# ------------------------------------------------------------------- optimizers
OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.05, weight_decay=0.1, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=0.05),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
}
_RNG = np.random.default_rng(9)
_A, _B, _Z0 = crandn(_RNG, 3, 3), crandn(_RNG, 3), crandn(_RNG, 3)


def _loss(lib, z):
    return lib.sum(lib.abs(lib.matmul(lib.asarray(_A) if lib is cnp else torch.tensor(_A), z)
                           - (_B if lib is cnp else torch.tensor(_B))) ** 2)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_treat_a_complex_parameter_as_its_real_pair(name):
    z = cr.tensor(_Z0, requires_grad=True)
    x, y = cr.tensor(_Z0.real.copy(), requires_grad=True), cr.tensor(_Z0.imag.copy(),
                                                                     requires_grad=True)
    oz, oxy = OPTIMIZERS[name]([z]), OPTIMIZERS[name]([x, y])
    start = float(_loss(cnp, z.detach()).data)
    for _ in range(25):
        oz.zero_grad()
        _loss(cnp, z).backward()
        oz.step()
        oxy.zero_grad()
        _loss(cnp, x + 1j * y).backward()
        oxy.step()
    np.testing.assert_allclose(z.data, x.data + 1j * y.data, rtol=1e-12)
    assert float(_loss(cnp, z.detach()).data) < start
    state = oz.state_dict()
    fresh = OPTIMIZERS[name]([z])
    fresh.load_state_dict(state)                       # (..., 2) buffers load back


@needs_torch
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_on_complex_parameters_match_torch(name):
    z = cr.tensor(_Z0, requires_grad=True)
    zt = torch.tensor(_Z0, requires_grad=True)
    mine = OPTIMIZERS[name]([z])
    kw = {"SGD": dict(lr=0.01, momentum=0.9, nesterov=True),
          "Adam": dict(lr=0.05, weight_decay=0.1, amsgrad=True), "AdamW": dict(lr=0.05),
          "RMSprop": dict(lr=0.01, centered=True, momentum=0.5)}[name]
    theirs = getattr(torch.optim, name)([zt], **kw)
    for _ in range(25):
        mine.zero_grad()
        _loss(cnp, z).backward()
        mine.step()
        theirs.zero_grad()
        _loss(torch, zt).backward()
        theirs.step()
    np.testing.assert_allclose(z.data, zt.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_clipping_on_complex_gradients():
    z = cr.tensor(np.array([3 + 4j, 0j]), requires_grad=True)
    z.grad = np.array([3 + 4j, 0j])
    assert np.isclose(optim.clip_grad_norm_([z], 1.0), 5.0)
    np.testing.assert_allclose(np.abs(z.grad[0]), 1.0, rtol=1e-5)
    z.grad = np.array([3 - 4j, 0.5j])
    optim.clip_grad_value_([z], 1.0)
    np.testing.assert_array_equal(z.grad, [1 - 1j, 0.5j])


# ------------------------------------------------------------------------- fft
def test_fft_api_edges():
    x = cr.tensor(np.arange(4.0), requires_grad=True)
    with pytest.raises(cr.ChainruleError, match="out="):
        cnp.fft.fft(x, out=np.zeros(4, complex))
    y = np.fft.fft(x)                                   # NumPy's own function dispatches
    assert isinstance(y, cr.Tensor)
    cnp.sum(cnp.abs(cnp.fft.fft([x, 2 * x], axis=0)) ** 2).backward()   # a list of Tensors
    assert x.grad is not None
    with pytest.raises(ValueError, match="Invalid norm"):
        cnp.fft.fft(x, norm="bogus")
    with pytest.raises(ValueError, match="Invalid number"):
        cnp.fft.irfft(cr.tensor([1.0 + 0j]))
    np.testing.assert_allclose(cnp.fft.fftshift(cr.tensor(np.arange(5.0))).data,
                               np.fft.fftshift(np.arange(5.0)))
    assert cnp.fft.fftfreq(4).tolist() == np.fft.fftfreq(4).tolist()


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_rfft_irfft_round_trip_gradient_is_the_identity(norm):
    x = np.random.default_rng(1).standard_normal(6)
    jac = cr.jacrev(lambda a: cnp.fft.irfft(cnp.fft.rfft(a, norm=norm), 6, norm=norm))(x)
    np.testing.assert_allclose(jac, np.eye(6), atol=1e-12)


def test_irfft_ignores_the_imaginary_part_at_zero_and_nyquist():
    g = cr.grad(lambda z: cnp.sum(cnp.fft.irfft(z, 4) * np.arange(4.0)))(np.ones(3) + 0j)
    assert g[0].imag == 0 and g[2].imag == 0 and g[1].imag != 0


_ONE_ARRAY = ["var", "std", "nanvar", "nanstd", "mean", "nanmean", "sum", "nansum", "prod",
              "nanprod", "cumsum", "cumprod", "nancumsum", "cov", "corrcoef", "average", "ptp",
              "trace", "diff", "gradient", "ediff1d", "trapezoid", "sort", "median", "nanmedian",
              "round", "conj", "real", "imag", "angle", "abs", "square", "sqrt", "exp", "log",
              "sin", "tanh", "reciprocal", "sign", "outer", "vdot", "inner", "linalg.norm",
              "linalg.det", "linalg.inv", "linalg.slogdet", "linalg.pinv", "fft.fft",
              "fft.ifft2", "polyval", "convolve", "correlate", "kron", "tril", "flip", "cross"]


def _lookup(module, name):
    for part in name.split("."):
        module = getattr(module, part, None)
    return module


@pytest.mark.parametrize("name", _ONE_ARRAY)
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2 ** 16), shape=st.sampled_from([(3,), (3, 3), (2, 3)]))
def test_complex_tensors_get_numpys_values(name, seed, shape):
    """A complex Tensor gets NumPy's value from every function (or a chainrule error): the
    conjugations of var, cov, lstsq and the like included."""
    r = np.random.default_rng(seed)
    z = r.normal(size=shape) + 1j * r.normal(size=shape)
    np_fn, cr_fn = _lookup(np, name), _lookup(cnp, name)
    binary = name in ("outer", "vdot", "inner", "polyval", "convolve", "correlate", "kron",
                      "cross")
    args = (z.ravel(), z.ravel()[::-1] * 0.5) if binary else (z,)
    if name == "cross":
        args = (z.ravel()[:3], z.ravel()[::-1][:3])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np_fn(*args)
    except (ValueError, TypeError, IndexError, np.linalg.LinAlgError):
        return                                           # not an input NumPy takes
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = cr_fn(*(cr.tensor(a) for a in args))
    except cr.ChainruleError:
        return                                           # refused, loudly
    for g, w in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, want))):
        g = np.asarray(getattr(g, "data", g))
        assert g.shape == np.shape(w), name
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=name)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 16), m=st.integers(3, 6), n=st.integers(1, 2))
def test_complex_lstsq_and_interp_values_and_refusals(seed, m, n):
    r = np.random.default_rng(seed)
    A = r.normal(size=(m, n)) + 1j * r.normal(size=(m, n))
    b = r.normal(size=m) + 1j * r.normal(size=m)
    x, res, _, _ = cnp.linalg.lstsq(A, cr.tensor(b))
    xn, resn, _, _ = np.linalg.lstsq(A, b)
    np.testing.assert_allclose(x.data, xn, rtol=1e-10)
    np.testing.assert_allclose(res.data, resn, rtol=1e-10)         # |r|², real
    assert res.dtype == resn.dtype
    with pytest.raises(cr.ChainruleError, match="complex rectangular"):
        cnp.linalg.lstsq(cr.tensor(A, requires_grad=True), b)
    # interp is linear in fp, left and right: complex ones work in both modes
    xp = np.sort(r.uniform(0, 3, m))
    fp = b
    xq = r.uniform(-1, 4, 5)
    got = cnp.interp(xq, xp, cr.tensor(fp), left=cr.tensor(1j), right=2.0)
    np.testing.assert_allclose(got.data, np.interp(xq, xp, fp, left=1j, right=2.0), rtol=1e-12)
    cr.check_grad(lambda f: cnp.real(cnp.sum(cnp.interp(xq, xp, f) * (1 + 2j))), fp,
                  modes=("fwd", "rev"))
