"""Every op family, compiled: value, gradient and Hessian-vector product on new inputs after
tracing equal eager mode's (Hypothesis draws the op, the shape and the values)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.ops import elementwise

# domain of each unary op's argument: where it is differentiable and finite
_POSITIVE = {"sqrt", "log", "log2", "log10", "cbrt", "reciprocal"}
_UNIT = {"arcsin", "arccos", "arctanh"}


def _domain(name):
    if name in _POSITIVE:
        return lambda x: np.abs(x) + 0.5
    if name in _UNIT:
        return lambda x: np.tanh(x) * 0.9
    if name == "arccosh":
        return lambda x: np.abs(x) + 1.5
    if name == "log1p":
        return lambda x: np.abs(x)
    return lambda x: x


def _cases():
    c = {}
    for name in elementwise.UNARY:
        fn = getattr(cnp, name)
        c[f"elementwise.{name}"] = (lambda x, fn=fn: fn(x), _domain(name))
    for name in ("add", "subtract", "multiply", "divide", "maximum", "minimum", "fmax", "fmin",
                 "logaddexp", "logaddexp2", "arctan2", "hypot"):
        fn = getattr(cnp, name)
        c[f"elementwise.{name}"] = (lambda x, fn=fn: fn(x, cnp.flip(x, -1) + 0.25), None)
    c["elementwise.power"] = (lambda x: cnp.power(cnp.abs(x) + 0.5, cnp.flip(x, -1)), None)
    c["elementwise.mod"] = (lambda x: cnp.mod(x, 0.7), None)
    c["elementwise.where"] = (lambda x: cnp.where(x > 0, x * 2, cnp.sin(x)), None)
    c["elementwise.clip"] = (lambda x: cnp.clip(x, -0.5, 0.5) * x, None)
    for name in ("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod"):
        fn = getattr(cnp, name)
        c[f"reductions.{name}"] = (lambda x, fn=fn: fn(x, axis=-1) * cnp.sum(x), None)
        c[f"reductions.{name}.all"] = (lambda x, fn=fn: fn(x) * cnp.sum(x * x), None)
    c["reductions.logsumexp"] = (lambda x: F.logsumexp(x, axis=-1), None)
    c["reductions.norm"] = (lambda x: cnp.linalg.norm(x, axis=-1), None)
    c["reductions.norm.1"] = (lambda x: cnp.linalg.norm(x, ord=1, axis=-1), None)
    c["shape.reshape"] = (lambda x: cnp.reshape(x, (-1,)) ** 2, None)
    c["shape.transpose"] = (lambda x: cnp.transpose(x) * cnp.exp(cnp.transpose(x)), None)
    c["shape.swapaxes"] = (lambda x: cnp.swapaxes(x, 0, -1) ** 3, None)
    c["shape.expand_squeeze"] = (lambda x: cnp.squeeze(cnp.expand_dims(x, 0), 0) ** 2, None)
    c["shape.repeat"] = (lambda x: cnp.repeat(x, 2, axis=-1) ** 2, None)
    c["shape.tile"] = (lambda x: cnp.tile(x, 2) ** 2, None)
    c["shape.roll_flip"] = (lambda x: cnp.roll(x, 1, axis=-1) * cnp.flip(x, -1), None)
    c["shape.broadcast_to"] = (lambda x: cnp.broadcast_to(x, (2,) + x.shape) * cnp.sin(x), None)
    c["indexing.slices"] = (lambda x: x[..., 1:] * x[..., :-1], None)
    c["indexing.integers"] = (lambda x: x[..., np.array([0, 0, 2, 1])] ** 2, None)
    c["indexing.mask"] = (lambda x: x[..., np.arange(x.shape[-1]) % 2 == 0] ** 2, None)
    c["indexing.sort"] = (lambda x: cnp.sort(x, axis=-1) * np.arange(x.shape[-1]), None)
    c["indexing.take"] = (lambda x: cnp.take(x, np.array([2, 0]), axis=-1) ** 3, None)
    c["linalg.matmul"] = (lambda x: cnp.tanh(x @ cnp.transpose(x)), None)
    c["linalg.einsum"] = (lambda x: cnp.einsum("...i,...i->...", x, cnp.sin(x)), None)
    c["linalg.outer"] = (lambda x: cnp.outer(x, cnp.cos(x)), None)
    c["linalg.square"] = (lambda x: _square(x), None)
    c["nn.relu"] = (lambda x: F.relu(x) * x, None)
    c["nn.leaky_relu"] = (lambda x: F.leaky_relu(x) * x, None)
    c["nn.sigmoid"] = (lambda x: F.sigmoid(x), None)
    c["nn.softplus"] = (lambda x: F.softplus(x), None)
    c["nn.softmax"] = (lambda x: F.softmax(x) * x, None)
    c["nn.log_softmax"] = (lambda x: F.log_softmax(x) * x, None)
    c["construction.concatenate"] = (lambda x: cnp.concatenate([x, cnp.sin(x)], axis=-1) ** 2,
                                     None)
    c["construction.stack"] = (lambda x: cnp.stack([x, x * x]) ** 2, None)
    c["construction.pad"] = (lambda x: cnp.pad(x, 1) ** 2, None)
    c["construction.diff"] = (lambda x: cnp.diff(x, axis=-1) ** 2, None)
    return c


def _square(x):
    """Matrix functions on a well-conditioned square matrix made from x's entries."""
    v = cnp.reshape(x, (-1,))[:4]
    m = cnp.reshape(v, (2, 2)) + 3.0 * np.eye(2)
    spd = m @ cnp.transpose(m)
    return cnp.concatenate([cnp.reshape(cnp.linalg.inv(m), (-1,)),
                            cnp.reshape(cnp.linalg.det(m), (1,)),
                            cnp.reshape(cnp.linalg.solve(m, v[:2]), (-1,)),
                            cnp.reshape(cnp.linalg.cholesky(spd), (-1,)),
                            cnp.linalg.eigvalsh(spd)])


CASES = _cases()
SHAPES = [(4,), (2, 4), (3, 4)]


def _draw(seed, shape, domain):
    x = np.random.default_rng(seed).normal(size=shape)
    return domain(x) if domain else x


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CASES)), shape=st.sampled_from(SHAPES),
       seeds=st.lists(st.integers(0, 2 ** 16), min_size=3, max_size=3, unique=True))
def test_op_compiled_first_and_second_order(name, shape, seeds):
    fn, domain = CASES[name]
    w = np.random.default_rng(seeds[0] + 1).normal(size=np.shape(fn(np.ones(shape) * 0.3)))

    def loss(x):
        return cnp.sum(fn(x) * w)
    vg = cr.value_and_grad(loss)
    hv = lambda x, v: cr.hvp(loss, (x,), (v,))            # noqa: E731
    fast_vg, fast_hv = cr.compile(vg, check=0), cr.compile(hv, check=0)
    xs = [_draw(s, shape, domain) for s in seeds]
    v = np.random.default_rng(seeds[1]).normal(size=shape)
    with np.errstate(all="ignore"):
        fast_vg(xs[0])
        fast_hv(xs[0], v)
        for x in xs[1:]:                                 # new inputs after the trace
            (value, grad), (value_e, grad_e) = fast_vg(x), vg(x)
            np.testing.assert_allclose(value, value_e, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(grad, grad_e, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(fast_hv(x, v), hv(x, v), rtol=1e-9, atol=1e-11)


def test_every_lowering_row_names_a_primitive():
    from chainrule.compile import lower
    assert not lower.STALE, f"rows for ops that are not primitives (moved?): {lower.STALE}"
    assert len(lower.LOWER) > 60


def test_cross_entropy_labels_and_binary_losses_compiled():
    rng = np.random.default_rng(3)

    def loss(z, labels, targets):
        return F.cross_entropy(z, labels) + F.binary_cross_entropy_with_logits(z, targets) + \
            F.mse_loss(F.sigmoid(z), targets) + F.nll_loss(F.log_softmax(z), labels)
    vg = cr.value_and_grad(loss)
    fast = cr.compile(vg)
    for _ in range(3):
        z, y, t = rng.normal(size=(5, 3)), rng.integers(0, 3, 5), rng.random((5, 3))
        out, expected = fast(z, y, t), vg(z, y, t)
        np.testing.assert_allclose(out[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(out[1], expected[1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype):
    f = cr.value_and_grad(lambda x: cnp.mean(cnp.tanh(x) * 3.0 + x * x))
    fast = cr.compile(f)
    for _ in range(3):
        x = np.random.default_rng(0).normal(size=(4, 3)).astype(dtype)
        (v, g), (ve, ge) = fast(x), f(x)
        assert v.dtype == ve.dtype and g.dtype == ge.dtype == dtype
        np.testing.assert_allclose(g, ge, rtol=1e-6)
