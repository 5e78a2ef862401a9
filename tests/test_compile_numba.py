"""backend="numba": fused elementwise kernels give eager mode's results (within rounding), and
without numba the NumPy program is used after one warning."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.compile import fuse

needs_numba = pytest.mark.skipif(not fuse.AVAILABLE, reason="numba not installed")


def chain(x):
    for i in range(40):
        k = i % 5
        x = (x * 0.9 if k == 0 else x + 0.1 if k == 1 else cnp.tanh(x) if k == 2 else
             cnp.exp(x) if k == 3 else cnp.sin(x))
    return x


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_chain_equals_eager(dtype):
    f = cr.value_and_grad(lambda x: cnp.sum(chain(x)))
    fast = cr.compile(f, backend="numba")
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.uniform(-1, 1, 16).astype(dtype)
        (v, g), (ve, ge) = fast(x), f(x)
        assert g.dtype == ge.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(v, ve, rtol=tol)
        np.testing.assert_allclose(g, ge, rtol=tol, atol=tol)
    assert "numba kernel" in fast.source


@needs_numba
def test_fused_kernels_beside_numpy_lines_masks_nan_and_views():
    def loss(W, X, s):
        h = F.relu(X @ W)                       # relu, its mask, products: mixed kernels
        z = cnp.maximum(h * s - 0.5, h) + cnp.where(h > 1.0, h * 2.0, -h)
        return cnp.mean(z ** 2)
    f = cr.value_and_grad(loss, argnums=(0, 2))
    fast = cr.compile(f, backend="numba")
    rng = np.random.default_rng(1)
    for k in range(3):
        W, X = rng.normal(size=(4, 6)), rng.normal(size=(5, 4))
        s = np.asarray(rng.normal())             # a 0-d input
        if k == 2:
            X = np.asfortranarray(X)            # not C-contiguous
        out, expected = fast(W, X, s), f(W, X, s)
        np.testing.assert_allclose(out[0], expected[0], rtol=1e-12)
        for a, b in zip(out[1], expected[1]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    nan = cr.compile(lambda x: cnp.maximum(x * 2.0, x - 1.0) + F.relu(x) * 3.0,
                     backend="numba")
    x = np.array([np.nan, -1.0, 2.0, 0.5])
    np.testing.assert_array_equal(nan(x), cnp.maximum(x * 2.0, x - 1.0) + F.relu(x) * 3.0)


def test_without_numba_the_numpy_program_is_used(monkeypatch):
    monkeypatch.setattr(fuse, "AVAILABLE", False)
    with pytest.warns(cr.ChainruleWarning, match="needs numba"):
        fast = cr.compile(lambda x: cnp.sum(chain(x)), backend="numba")
    x = np.linspace(-1, 1, 4)
    assert fast(x) == cnp.sum(chain(x)) and "numba kernel" not in fast.source
    with pytest.raises(cr.ChainruleError, match="backend"):
        cr.compile(lambda x: x, backend="cuda")
