"""SciPy interoperability: chainrule's gradients, Jacobians and Hessians plugged into
scipy.optimize, through ravel_pytree for models whose parameters are a pytree."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

so = pytest.importorskip("scipy.optimize")


def _data(seed=0, n=80, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = (X @ w_true + 0.3 * rng.standard_normal(n) > 0).astype(float)
    return X, y


def model_loss(params, X, y):
    """Logistic regression with an L2 penalty; params is a pytree {'w': (d,), 'b': ()}."""
    z = X @ params["w"] + params["b"]
    return cnp.mean(cnp.logaddexp(0.0, z) - y * z) + 0.01 * cnp.sum(params["w"] ** 2)


def test_minimize_with_value_and_grad_over_a_pytree_model():
    X, y = _data()
    params0 = {"w": np.zeros(3), "b": 0.0}
    flat0, unravel = cr.ravel_pytree(params0)
    fun = cr.value_and_grad(lambda v: model_loss(unravel(v), X, y))
    res = so.minimize(fun, flat0, jac=True, method="L-BFGS-B")
    assert res.success
    fitted = unravel(res.x)
    assert set(fitted) == {"w", "b"}
    g = cr.grad(model_loss)(fitted, X, y)                     # the optimum: gradient ~ 0
    assert np.abs(cr.ravel_pytree(g)[0]).max() < 1e-5
    numeric = so.minimize(lambda v: float(model_loss(unravel(v), X, y)), flat0, method="L-BFGS-B")
    np.testing.assert_allclose(res.x, numeric.x, atol=1e-4)
    assert res.nfev < numeric.nfev                          # no finite differences needed


def test_newton_with_chainrule_hessians():
    X, y = _data(1)
    f = lambda v: model_loss({"w": v[:3], "b": v[3]}, X, y)  # noqa: E731
    res = so.minimize(f, np.zeros(4), jac=cr.grad(f), hess=cr.hessian(f), method="trust-exact")
    assert res.success and np.abs(cr.grad(f)(res.x)).max() < 1e-4
    hvp = lambda v, p: cr.hvp(f, (v,), (p,))  # noqa: E731
    res2 = so.minimize(f, np.zeros(4), jac=cr.grad(f), hessp=hvp, method="Newton-CG",
                       options={"xtol": 1e-10})
    assert res2.success and np.abs(cr.grad(f)(res2.x)).max() < 1e-6
    np.testing.assert_allclose(res2.x, res.x, atol=1e-3)


def system(n=50, seed=3):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    c = rng.standard_normal(n)
    return lambda x: x + 0.5 * cnp.tanh(A @ x) + 0.1 * x ** 3 - c


def test_root_with_a_chainrule_jacobian():
    F = system()
    x0 = np.zeros(50)
    J = cr.jacobian(F)
    res = so.root(F, x0, jac=J)
    assert res.success and np.abs(F(res.x)).max() < 1e-8
    fd = so.root(F, x0)
    np.testing.assert_allclose(res.x, fd.x, atol=1e-7)
    assert res.nfev < fd.nfev                              # the Jacobian costs no F calls
    lm = so.root(F, x0, jac=cr.jacfwd(F), method="lm")
    np.testing.assert_allclose(lm.x, res.x, atol=1e-7)
    Jx = J(res.x)                                          # and it is the true Jacobian
    e = np.zeros(50)
    e[7] = 1e-6
    np.testing.assert_allclose(Jx[:, 7], (F(res.x + e) - F(res.x - e)) / 2e-6, atol=1e-7)


def test_scipy_buffers_are_never_left_read_only():
    # MINPACK hands its callbacks arrays over C memory without a base object: such an array
    # could never be made writeable again, so the transforms copy it instead of guarding it
    import gc

    from chainrule.core import saved
    gc.collect()                        # (what earlier tests left to the collector)
    before = saved.held_count()
    F = system()
    J = cr.jacobian(F)
    for _ in range(3):
        so.root(F, np.zeros(50), jac=J)
    assert saved.held_count() == before and not saved._pending
