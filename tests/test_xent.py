"""Softmax cross-entropy on arrays: the loss, its slope softmax(z)·Σt − t and the softmax,
computed together (chainrule/ops/nn.py, _xent_outputs), eagerly and in compiled programs.

The oracle is an extended-precision max-shifted log_softmax written here in plain NumPy;
Hypothesis draws shapes (1-D to 3-D, targets broadcast or not), dtypes, score scales up to
the float64 overflow range, soft and one-hot targets, and −inf scores where t = 0.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.ops import nn as nn_ops


def _reference(z, t):
    """(loss, slope) in long double; t = 0 ignores z = −inf."""
    z, t = np.broadcast_arrays(np.asarray(z, np.longdouble), np.asarray(t, np.longdouble))
    s = z - z.max(-1, keepdims=True)
    ls = s - np.log(np.exp(s).sum(-1, keepdims=True))
    with np.errstate(invalid="ignore"):
        loss = -np.where(t != 0, t * ls, 0).sum(-1)
    return loss, np.exp(ls) * t.sum(-1, keepdims=True) - t


@st.composite
def problems(draw, mask_targets=False):
    """(scores, targets); masked (−inf) scores where the target is 0, and with
    ``mask_targets`` also where it is not (an infinite loss), never a whole row."""
    lead = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    k = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([0.1, 3.0, 30.0] + ([300.0] if dtype == np.float64 else [])))
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    z = r.standard_normal((*lead, k)) * scale
    t_shape = draw(st.sampled_from([(*lead, k), (k,)] + ([(1, k)] if lead else [])))
    soft = draw(st.booleans())
    n = int(np.prod(t_shape[:-1]))
    t = (r.dirichlet(np.ones(k), n) if soft else np.eye(k)[r.integers(0, k, n)]).reshape(t_shape)
    if draw(st.booleans()) and k > 1:             # masked logits
        zb, tb = np.broadcast_arrays(z, t)
        pick = r.random(zb.shape)
        masked = (pick < 0.4) & ((tb == 0) | (mask_targets and draw(st.booleans())))
        masked &= pick > pick.min(axis=-1, keepdims=True)      # each row keeps one score
        z = np.where(masked, -np.inf, zb)
    return z.astype(dtype), t.astype(dtype)


def _tolerance(dtype):
    """float32 scores: float32 rounding of the exact value (computed in float64).  float64:
    rounding, plus the absolute ~1e-16 of log S for S = 1 + ε (as in torch and JAX)."""
    return dict(rtol=3e-7, atol=1e-14) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)


@settings(max_examples=80, deadline=None)
@given(problems(mask_targets=True))
def test_loss_slope_and_softmax_match_the_oracle(problem):
    z, t = problem
    want, want_slope = _reference(z, t)
    tol = _tolerance(z.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # masked logits give no nan and no warning
        loss, slope = nn_ops._xent_and_slope(z, t)
        loss2, p = nn_ops._xent_and_softmax(z, t)
        alone = nn_ops._softmax_xent(z, t), nn_ops._xent_slope(z, t)
    assert loss.dtype == slope.dtype == p.dtype == z.dtype
    assert slope.flags.c_contiguous and p.flags.c_contiguous
    np.testing.assert_allclose(loss, want.astype(np.float64), **tol)
    np.testing.assert_allclose(slope, want_slope.astype(np.float64), **tol)
    np.testing.assert_array_equal(loss, loss2)
    np.testing.assert_array_equal(loss, alone[0])
    np.testing.assert_array_equal(slope, alone[1])
    total = np.broadcast_to(t, slope.shape).sum(-1, keepdims=True)
    np.testing.assert_allclose(p * total - np.broadcast_to(t, slope.shape), slope,
                               rtol=1e-5 if z.dtype == np.float32 else 1e-12, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(problems(), st.integers(0, 2**16))
def test_compiled_training_step_equals_eager_on_new_inputs(problem, seed):
    """The compiled step computes loss and slope in one call (the FUSE pair) and agrees with
    eager mode on new scores and new targets."""
    z, t = problem
    k = z.shape[-1]
    w = (np.eye(k) + 0.3 * np.random.default_rng(seed).standard_normal((k, k))).astype(z.dtype)
    mask = np.isfinite(z)                       # masked logits stay −inf
    x = np.where(mask, z, 0).astype(z.dtype)

    def f(w, x, t, mask):
        return cnp.sum(nn_ops.softmax_cross_entropy(cnp.where(mask, x @ w, -np.inf), t))

    step = cr.compile(cr.value_and_grad(f))
    step(w, x[::-1] if x.ndim > 1 else -x, t, mask)
    assert "f_xent_and_slope" in step.source
    got, want = step(w, x, t, mask), cr.value_and_grad(f)(w, x, t, mask)
    assert np.isfinite(got[0]) and np.isfinite(got[1]).all()
    tol = dict(rtol=1e-5, atol=1e-5) if z.dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[0], want[0], **tol)
    np.testing.assert_allclose(got[1], want[1], **tol)


def test_infinite_and_nan_scores_are_never_finite():
    z = np.array([[np.inf, 0.0], [np.nan, 1.0], [-np.inf, -np.inf]])
    t = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    with np.errstate(all="ignore"):
        loss, slope = nn_ops._xent_and_slope(z, t)
    assert not np.isfinite(loss).any() and np.isnan(loss[1])
    assert np.isnan(slope[1]).all()
    finite = nn_ops._softmax_xent(np.array([[1.0, -np.inf]]), np.array([[0.5, 0.5]]))
    assert finite[0] == np.inf                  # a positive target on −inf: infinite loss


def test_empty_batches_and_zero_targets():
    loss, slope = nn_ops._xent_and_slope(np.zeros((0, 3)), np.zeros((0, 3)))
    assert loss.shape == (0,) and slope.shape == (0, 3)
    loss, slope = nn_ops._xent_and_slope(np.array([[1.0, 2.0]]), np.zeros((1, 2)))
    assert loss[0] == 0.0 and np.all(slope == 0.0)
    with pytest.raises(ChainruleError, match="class axis"):
        nn_ops._softmax_xent(np.array(1.0), np.array(1.0))


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), broadcast=st.booleans(),
       seed=st.integers(0, 2**16))
def test_slope_primitive_second_order_both_modes(n, c, broadcast, seed):
    """softmax_cross_entropy_slope has rules of its own (so a Hessian of the loss goes
    through them); both arguments, to second order, forward and reverse."""
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, c)) * 2
    t = r.dirichlet(np.ones(c), 1 if broadcast else n)[0 if broadcast else slice(None)]
    cr.check_grad(lambda v, s: cnp.sum(nn_ops.softmax_cross_entropy_slope(v, s) ** 2), z, t,
                  order=2, modes=("fwd", "rev"))
    hess = cr.hessian(lambda v: cnp.sum(nn_ops.softmax_cross_entropy(v, t)))(z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    total = np.broadcast_to(t, z.shape).sum(-1)
    want = np.zeros((n, c, n, c))
    for i in range(n):
        want[i, :, i, :] = total[i] * (np.diag(p[i]) - np.outer(p[i], p[i]))
    np.testing.assert_allclose(hess, want, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**16))
def test_complex_scores_follow_the_formula_quietly(n, k, seed):
    """Complex scores (kept as before: the holomorphic formula, no warning).  The complex
    log makes the loss defined up to multiples of 2πi, so losses are compared through exp."""
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, k)) + 1j * r.standard_normal((n, k))
    t = r.dirichlet(np.ones(k), n)
    ls = z - np.log(np.exp(z).sum(-1, keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, slope = nn_ops._xent_and_slope(z, t)
    np.testing.assert_allclose(np.exp(-loss), np.exp((t * ls).sum(-1)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(slope, np.exp(ls) * t.sum(-1, keepdims=True) - t,
                               rtol=1e-10, atol=1e-12)
