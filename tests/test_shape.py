"""Shape and construction ops against central finite differences (float64), first and second
order, forward and reverse mode; shapes and axes (negative ones included) drawn by Hypothesis.

Each op is checked inside ``sin(...)``: the rules of a linear op are only differentiated again
when the gradient reaching them depends on the input, which a nonlinearity after it ensures.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.core.primitive import Primitive, defjvp, defvjp
from chainrule.explain.check import GradCheckError
from chainrule.ops import construction as C
from chainrule.ops import padding as P
from chainrule.ops import shape as S

FAST = settings(max_examples=25, deadline=None)


def _sin(y):
    return [cnp.sin(p) for p in y] if isinstance(y, (list, tuple)) else cnp.sin(y)


def check(f, *args):
    """f's derivatives (orders 1 and 2, both modes) agree with finite differences."""
    return cr.check_grad(lambda *a: _sin(f(*a)), *args, order=2, modes=("fwd", "rev"))


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def same_as_numpy(f_cnp, f_np, *args):
    got = f_cnp(*[cr.tensor(a) for a in args])
    want = f_np(*args)
    if isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.data, w)
    else:
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.data, want)


# ------------------------------------------------------------------- one case per op
X, X3, V, S0 = rand(3, 4), rand(2, 3, 4, seed=1), rand(5, seed=2), np.array(0.7)

# name: (chainrule function, NumPy function, arguments)
CASES = {
    "reshape":        (lambda x: S.reshape(x, (4, -1)), lambda x: np.reshape(x, (4, -1)), (X,)),
    "reshape_F":      (lambda x: S.reshape(x, (2, 6), order="F"),
                       lambda x: np.reshape(x, (2, 6), order="F"), (X,)),
    "ravel":          (S.ravel, np.ravel, (X3,)),
    "flatten":        (S.flatten, lambda x: x.flatten(), (X3,)),
    "transpose":      (lambda x: S.transpose(x, (-1, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)),
                       (X3,)),
    "transpose_none": (S.transpose, np.transpose, (X3,)),
    "swapaxes":       (lambda x: S.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, 2), (X3,)),
    "moveaxis":       (lambda x: S.moveaxis(x, (0, -1), (-1, 0)),
                       lambda x: np.moveaxis(x, (0, 2), (2, 0)), (X3,)),
    "squeeze":        (lambda x: S.squeeze(x, -1), lambda x: np.squeeze(x, -1), (X[:, :, None],)),
    "squeeze_all":    (S.squeeze, np.squeeze, (X[None, :, None],)),
    "expand_dims":    (lambda x: S.expand_dims(x, (0, -1)), lambda x: np.expand_dims(x, (0, -1)),
                       (X,)),
    "broadcast_to":   (lambda x: S.broadcast_to(x, (2, 3, 4)),
                       lambda x: np.broadcast_to(x, (2, 3, 4)), (X[:, :1],)),
    "atleast_1d":     (S.atleast_1d, np.atleast_1d, (S0,)),
    "atleast_2d":     (S.atleast_2d, np.atleast_2d, (V,)),
    "atleast_3d":     (S.atleast_3d, np.atleast_3d, (X,)),
    "repeat":         (lambda x: S.repeat(x, 3, axis=-1), lambda x: np.repeat(x, 3, axis=-1), (X,)),
    "repeat_flat":    (lambda x: S.repeat(x, 2), lambda x: np.repeat(x, 2), (X,)),
    "repeat_each":    (lambda x: S.repeat(x, [2, 0, 3], axis=0),
                       lambda x: np.repeat(x, [2, 0, 3], axis=0), (X,)),
    "repeat_each_flat": (lambda x: S.repeat(x, np.arange(5) % 3),
                         lambda x: np.repeat(x, np.arange(5) % 3), (V,)),
    "tile":           (lambda x: S.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (X,)),
    "tile_short":     (lambda x: S.tile(x, 2), lambda x: np.tile(x, 2), (X3,)),
    "roll":           (lambda x: S.roll(x, 5), lambda x: np.roll(x, 5), (X,)),
    "roll_axes":      (lambda x: S.roll(x, (1, -2), (0, -1)),
                       lambda x: np.roll(x, (1, -2), (0, -1)), (X,)),
    "flip":           (S.flip, np.flip, (X3,)),
    "flip_axis":      (lambda x: S.flip(x, -2), lambda x: np.flip(x, -2), (X3,)),
    "flipud":         (S.flipud, np.flipud, (X,)),
    "fliplr":         (S.fliplr, np.fliplr, (X,)),
    "rot90":          (lambda x: S.rot90(x, 3, (1, 2)), lambda x: np.rot90(x, 3, (1, 2)), (X3,)),
    "rot90_neg":      (lambda x: S.rot90(x, -1), lambda x: np.rot90(x, -1), (X,)),
    "diag_embed":     (lambda x: S.diag(x, -2), lambda x: np.diag(x, -2), (V,)),
    "diag_read":      (lambda x: S.diag(x, 1), lambda x: np.diag(x, 1), (X,)),
    "diagonal":       (lambda x: S.diagonal(x, -1, 2, 0), lambda x: np.diagonal(x, -1, 2, 0),
                       (X3,)),
    "tril":           (lambda x: S.tril(x, -1), lambda x: np.tril(x, -1), (X3,)),
    "triu":           (lambda x: S.triu(x, 1), lambda x: np.triu(x, 1), (X,)),
    "triu_1d":        (S.triu, np.triu, (V,)),
    "sort":           (lambda x: S.sort(x, 0), lambda x: np.sort(x, 0), (X,)),
    "sort_flat":      (lambda x: S.sort(x, None), lambda x: np.sort(x, None), (X,)),
    "concatenate":    (lambda x, y: C.concatenate([x, y, np.ones((3, 1))], axis=-1),
                       lambda x, y: np.concatenate([x, y, np.ones((3, 1))], axis=-1),
                       (X, X[:, :2])),
    "concatenate_flat": (lambda x, y: C.concatenate((x, [1.5], y), axis=None),
                         lambda x, y: np.concatenate((x, [1.5], y), axis=None), (X, X3)),
    "stack":          (lambda x, y: C.stack([x, np.ones(5), y], axis=-1),
                       lambda x, y: np.stack([x, np.ones(5), y], axis=-1), (V, V[::-1])),
    "stack_scalars":  (lambda x, y: C.stack([x, 2.0, y]), lambda x, y: np.stack([x, 2.0, y]),
                       (S0, S0 + 1)),
    "vstack":         (lambda x, y: C.vstack([x, y]), lambda x, y: np.vstack([x, y]), (X[0], X)),
    "hstack":         (lambda x, y: C.hstack([x, y]), lambda x, y: np.hstack([x, y]), (V, X[0])),
    "hstack_2d":      (lambda x, y: C.hstack((x, y)), lambda x, y: np.hstack((x, y)),
                       (X, X[:, :1])),
    "dstack":         (lambda x, y: C.dstack([x, y]), lambda x, y: np.dstack([x, y]), (X, X)),
    "column_stack":   (lambda x, y: C.column_stack([x, y]), lambda x, y: np.column_stack([x, y]),
                       (X[:, 0], X)),
    "split":          (lambda x: C.split(x, 2, axis=-1), lambda x: np.split(x, 2, axis=-1), (X,)),
    "split_indices":  (lambda x: C.split(x, [1, -1, 9], axis=1),
                       lambda x: np.split(x, [1, -1, 9], axis=1), (X,)),
    "array_split":    (lambda x: C.array_split(x, 3), lambda x: np.array_split(x, 3), (V,)),
    "array":          (lambda x, y: C.array([[x, 1.0], [y, x * y]]),
                       lambda x, y: np.array([[x, 1.0], [y, x * y]]), (S0, S0 + 1)),
    "array_rows":     (lambda x, y: C.array([x, [1.0] * 5, y]),
                       lambda x, y: np.array([x, [1.0] * 5, y]),
                       (V, V + 1)),
    "asarray":        (lambda x, y: C.asarray((x, y)), lambda x, y: np.asarray((x, y)), (X, X)),
    "pad":            (lambda x: P.pad(x, ((1, 2), (0, 3)), constant_values=1.5),
                       lambda x: np.pad(x, ((1, 2), (0, 3)), constant_values=1.5), (X,)),
    "pad_scalar_width": (lambda x: P.pad(x, 1), lambda x: np.pad(x, 1), (X3,)),
    "pad_tensor_constant": (lambda x, c: P.pad(x, (2, 1), constant_values=c),
                            lambda x, c: np.pad(x, (2, 1), constant_values=c), (X, S0)),
    "diff":           (lambda x: C.diff(x), np.diff, (X,)),
    "diff_n_axis":    (lambda x: C.diff(x, 2, axis=0), lambda x: np.diff(x, 2, axis=0), (X,)),
    "diff_long":      (lambda x: C.diff(x, 4, axis=-1), lambda x: np.diff(x, 4, axis=-1), (X,)),
    "diff_too_far":   (lambda x: C.diff(x, 6), lambda x: np.diff(x, 6), (X,)),
    "diff_prepend":   (lambda x, p: C.diff(x, axis=0, prepend=p, append=X[:1]),
                       lambda x, p: np.diff(x, axis=0, prepend=p, append=X[:1]), (X, S0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_and_finite_differences(name):
    f, f_np, args = CASES[name]
    same_as_numpy(f, f_np, *args)
    check(f, *args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name):
    f, _, args = CASES[name]
    args32 = [np.asarray(a, dtype=np.float32) for a in args]

    def loss(*a):
        y = f(*a)
        return sum(cnp.sum(cnp.sin(p)) for p in (y if isinstance(y, list) else [y]))

    outs = f(*[cr.tensor(a) for a in args32])
    for o in outs if isinstance(outs, list) else [outs]:
        if name not in ("concatenate", "stack", "diff_prepend"):    # these mix in float64 arrays
            assert o.dtype == np.float32, name
    grads = cr.grad(loss, argnums=tuple(range(len(args32))))(*args32)
    assert all(g.dtype == np.float32 for g in grads)
    _, tangent = cr.jvp(lambda *a: _sin(f(*a)), tuple(args32), tuple(args32))
    assert all(t.dtype == o.dtype for t, o in zip(tangent if isinstance(tangent, list) else
                                                   [tangent], outs if isinstance(outs, list)
                                                   else [outs]))


# -------------------------------------------------------- 0-d, size-1 and empty inputs
EDGE = {
    "reshape_empty":     (lambda x: S.reshape(x, (3, 0)), np.zeros((0, 3))),
    "concat_with_empty": (lambda x: C.concatenate([np.zeros((0, 4)), x, np.zeros((0, 4))]), X),
    "array_split_empty_pieces": (lambda x: C.array_split(x, 5), X),
    "repeat_zero":       (lambda x: S.repeat(x, 0, axis=1), X),
    "tile_zero":         (lambda x: S.tile(x, (0, 2)), X),
    "pad_0d":            (lambda x: P.pad(x, 2), S0),
    "stack_0d":          (lambda x: C.stack([x, x * 2]), S0),
    "sort_size_1":       (S.sort, np.array([0.5])),
    "atleast_2d_0d":     (S.atleast_2d, S0),
    "array_ndmin":       (lambda x: C.array(x, ndmin=3), S0),
    "expand_dims_0d":    (lambda x: S.expand_dims(x, 0), S0),
    "squeeze_0d":        (S.squeeze, S0),
    "transpose_0d":      (S.transpose, S0),
    "repeat_0d":         (lambda x: S.repeat(x, 3), S0),
    "tile_0d":           (lambda x: S.tile(x, (2, 2)), S0),
    "roll_0d":           (lambda x: S.roll(x, 1), S0),
    "diag_empty":        (S.diag, np.zeros(0)),
    "tril_empty":        (S.tril, np.zeros((0, 3))),
    "diff_size_1":       (C.diff, np.array([0.3])),
    "split_size_1":      (lambda x: C.split(x, 1), np.array([0.3])),
}


@pytest.mark.parametrize("name", sorted(EDGE))
def test_edge_shapes(name):
    f, x = EDGE[name]
    check(f, x)


# ------------------------------------------------------------------------- Hypothesis
def _shape_and_axis(min_dims=1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4).flatmap(
        lambda s: st.tuples(st.just(s), st.integers(-len(s), len(s) - 1)))


@FAST
@given(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3).flatmap(
    lambda s: st.tuples(st.just(s), st.permutations(range(len(s))), st.lists(st.booleans(),
                                                                             min_size=len(s),
                                                                             max_size=len(s)))))
def test_transpose_any_permutation(case):
    shape, perm, negate = case
    axes = tuple(p - len(shape) if n else p for p, n in zip(perm, negate))
    x = rand(*shape)
    same_as_numpy(lambda a: S.transpose(a, axes), lambda a: np.transpose(a, axes), x)
    check(lambda a: S.transpose(a, axes), x)


@FAST
@given(_shape_and_axis(), st.data())
def test_axis_moving_ops(sa, data):
    shape, axis = sa
    other = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(*shape)
    for f, f_np in [(lambda a: S.swapaxes(a, axis, other), lambda a: np.swapaxes(a, axis, other)),
                    (lambda a: S.moveaxis(a, axis, other), lambda a: np.moveaxis(a, axis, other)),
                    (lambda a: S.expand_dims(a, other), lambda a: np.expand_dims(a, other)),
                    (lambda a: S.flip(a, axis), lambda a: np.flip(a, axis)),
                    (lambda a: S.roll(a, 2, axis), lambda a: np.roll(a, 2, axis))]:
        same_as_numpy(f, f_np, x)
        check(f, x)


@FAST
@given(_shape_and_axis(), st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_repeat_per_element(sa, reps):
    shape, axis = sa
    reps = (reps * 4)[:shape[axis]]
    x = rand(*shape)
    f = lambda a: S.repeat(a, reps, axis=axis)  # noqa: E731
    same_as_numpy(f, lambda a: np.repeat(a, reps, axis=axis), x)
    check(f, x)


@FAST
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
       st.lists(st.integers(0, 3), min_size=0, max_size=4))
def test_tile_any_reps(shape, reps):
    x = rand(*shape)
    same_as_numpy(lambda a: S.tile(a, reps), lambda a: np.tile(a, reps), x)
    check(lambda a: S.tile(a, reps), x)


@FAST
@given(hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), st.integers(-4, 4), st.data())
def test_diagonal_any_axes_and_offset(shape, offset, data):
    ax = st.integers(-len(shape), len(shape) - 1)
    a1 = data.draw(ax)
    a2 = data.draw(ax.filter(lambda a: a % len(shape) != a1 % len(shape)))
    x = rand(*shape)
    f = lambda a: S.diagonal(a, offset, a1, a2)  # noqa: E731
    same_as_numpy(f, lambda a: np.diagonal(a, offset, a1, a2), x)
    check(f, x)


@FAST
@given(_shape_and_axis(min_dims=2), st.integers(-3, 3), st.integers(-2, 2))
def test_rot90_tril_triu(sa, k, off):
    shape, axis = sa
    axes = (axis, (axis + 1) % len(shape))
    x = rand(*shape)
    for f, f_np in [(lambda a: S.rot90(a, k, axes), lambda a: np.rot90(a, k, axes)),
                    (lambda a: S.tril(a, off), lambda a: np.tril(a, off)),
                    (lambda a: S.triu(a, off), lambda a: np.triu(a, off))]:
        same_as_numpy(f, f_np, x)
        check(f, x)


@FAST
@given(_shape_and_axis(), st.integers(1, 3), st.data())
def test_concatenate_stack_split(sa, pieces, data):
    shape, axis = sa
    widths = data.draw(st.lists(st.integers(0, 3), min_size=pieces, max_size=pieces))
    xs = [rand(*(shape[:axis % len(shape)] + (w,) + shape[axis % len(shape) + 1:]), seed=i)
          for i, w in enumerate(widths)]
    cat = lambda *a: C.concatenate(a, axis=axis)  # noqa: E731
    same_as_numpy(cat, lambda *a: np.concatenate(a, axis=axis), *xs)
    check(cat, *xs)
    same = [rand(*shape, seed=i) for i in range(pieces)]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda *a: C.stack(a, axis=new_axis), *same)
    x = rand(*shape)
    check(lambda a: C.array_split(a, pieces + 1, axis=axis), x)


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.data())
def test_pad_any_widths(shape, data):
    widths = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                min_size=len(shape), max_size=len(shape)))
    x = rand(*shape)
    f = lambda a: P.pad(a, widths, constant_values=-0.5)  # noqa: E731
    same_as_numpy(f, lambda a: np.pad(a, widths, constant_values=-0.5), x)
    check(f, x)


@FAST
@given(_shape_and_axis(), st.integers(0, 4))
def test_diff_any_order_and_axis(sa, n):
    shape, axis = sa
    x = rand(*shape)
    same_as_numpy(lambda a: C.diff(a, n, axis), lambda a: np.diff(a, n, axis), x)
    check(lambda a: C.diff(a, n, axis), x)


@FAST
@given(_shape_and_axis())
def test_sort_gradient_follows_the_permutation(sa):
    shape, axis = sa
    x = rand(*shape)
    u = rand(*shape, seed=5)
    g = cr.grad(lambda a: cnp.sum(S.sort(a, axis) * u))(x)
    # the entry that landed at position p receives u[p]
    order = np.argsort(x, axis=axis, kind="stable")
    want = np.zeros_like(x)
    np.put_along_axis(want, order, u, axis)
    np.testing.assert_array_equal(g, want)
    check(lambda a: S.sort(a, axis), x)


# ---------------------------------------------------------------------- behaviour
def test_argsort_is_not_differentiable_but_works():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(np.asarray(S.argsort(t)), [1, 2, 0])
    assert not getattr(S.argsort(t), "requires_grad", False)


def test_sort_ties_give_each_entry_one_share():
    x = np.array([1.0, 1.0, 0.0])
    g = cr.grad(lambda a: cnp.sum(S.sort(a) * np.array([1.0, 2.0, 3.0])))(x)
    np.testing.assert_array_equal(g, [2.0, 3.0, 1.0])


def test_fan_out_through_shape_ops():
    # x is used by three different shape ops; its gradient is the sum of the three adjoints
    x = rand(2, 3)
    def f(a):
        return cnp.sum(S.transpose(a) ** 2) + cnp.sum(S.tile(a, 2)) + cnp.sum(C.stack([a, a]))
    np.testing.assert_allclose(cr.grad(f)(x), 2 * x + 2 + 2)
    check(lambda a: C.concatenate([S.ravel(a), S.ravel(S.flip(a)) * a[0, 0]]), x)


def test_hessian_through_repeat_and_split():
    x = np.array([0.3, -0.7, 1.1])
    # f = sum over repeated copies of x_i^3: copies counts (2, 0, 3) -> H = diag(6 x_i * count_i)
    f = lambda a: cnp.sum(S.repeat(a, [2, 0, 3]) ** 3)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(f)(x), np.diag(6 * x * np.array([2, 0, 3])))
    g = lambda a: sum(cnp.sum(p ** 3) for p in C.split(a, [1]))  # noqa: E731
    np.testing.assert_allclose(cr.hessian(g)(x), np.diag(6 * x))


def test_astype_keeps_gradient_dtypes():
    x32 = rand(2, 3).astype(np.float32)
    g = cr.grad(lambda a: cnp.sum(cnp.astype(a, "float64") ** 2))(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x32)
    x64 = rand(2, 3)
    g = cr.grad(lambda a: cnp.sum(a.astype(np.float32) ** 2))(x64)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x64, rtol=1e-6)
    t = cr.tensor(x64, requires_grad=True)
    assert t.astype("float32").dtype == np.float32
    check(lambda a: cnp.astype(a, np.float64) * 2.0, x64)


def test_plain_arrays_pass_straight_to_numpy():
    assert type(S.repeat(np.ones(2), 2)) is np.ndarray
    assert type(C.concatenate([np.ones(2), [3.0]])) is np.ndarray
    assert type(C.array([1.0, 2.0])) is np.ndarray
    np.testing.assert_array_equal(P.pad(np.arange(3.0), 1, mode="reflect"),
                                  np.pad(np.arange(3.0), 1, mode="reflect"))
    assert isinstance(C.split(np.arange(4.0), 2), list)


def test_array_of_tensors_keeps_gradients():
    a, b = cr.tensor(1.5, requires_grad=True), cr.tensor([2.0, 3.0], requires_grad=True)
    y = C.array([[a, 1.0, a * a], [b[0], b[1], 4.0]])
    assert isinstance(y, cr.Tensor) and y.shape == (2, 3)
    cnp.sum(y * y).backward()
    np.testing.assert_allclose(a.grad, 2 * 1.5 + 4 * 1.5 ** 3)
    np.testing.assert_allclose(b.grad, [4.0, 6.0])
    t = cr.tensor([1.0, 2.0])
    assert C.asarray(t) is t
    assert C.array(t, dtype=np.float32).dtype == np.float32
    c = C.array(t)
    assert c is not t and not np.shares_memory(c.data, t.data)
    check(lambda x: C.array(x) * x, np.array([0.3, -1.2]))


def test_numpy_namespace_uses_these_ops():
    """cnp's and NumPy's own construction functions reach these ops: the same values and
    gradients as calling them directly."""
    x = np.array([1.0, 2.0])
    w = np.array([[0.5, -1.0], [2.0, 3.0]])
    for build in (cnp.array, cnp.stack, np.stack):
        t = cr.tensor(x, requires_grad=True)
        out = build([t, 2 * t])
        assert isinstance(out, cr.Tensor)
        cnp.sum(out * w).backward()
        np.testing.assert_allclose(t.grad, w[0] + 2 * w[1])
    for join in (cnp.concatenate, np.concatenate, C.concatenate):
        t = cr.tensor(x, requires_grad=True)
        cnp.sum(join([t, 2 * t]) * w.ravel()).backward()
        np.testing.assert_allclose(t.grad, w[0] + 2 * w[1])
    # np.array has no dispatch protocol: it refuses, naming cnp's function, never drops the gradient
    with pytest.raises(cr.TensorConversionError, match="cnp"):
        np.array([cr.tensor(x, requires_grad=True)])


def test_tensor_methods():
    t = cr.tensor(rand(2, 3), requires_grad=True)
    assert t.reshape(3, 2).shape == (3, 2) and t.flatten().shape == (6,)
    assert t.transpose(-1, 0).shape == (3, 2) and t.T.shape == (3, 2)
    assert t.repeat(2).shape == (12,) and t.squeeze().shape == (2, 3)
    cnp.sum(t.transpose(1, 0) * t.T).backward()
    np.testing.assert_allclose(t.grad, 2 * t.data)


def test_clear_errors():
    t = cr.tensor(rand(3, 4), requires_grad=True)
    with pytest.raises(ChainruleError, match="callable mode"):
        P.pad(t, 1, mode=lambda vector, width, axis, kw: None)
    with pytest.raises(ChainruleError, match="non-negative"):
        P.pad(t, -1)
    with pytest.raises(ValueError, match="not supported"):
        P.pad(t, 1, mode="nope")
    with pytest.raises(ChainruleError, match="1-D or 2-D"):
        S.diag(cr.tensor(rand(2, 2, 2)))
    with pytest.raises(ChainruleError, match="out="):
        C.concatenate([t, t], out=np.zeros((6, 4)))
    with pytest.raises(ValueError, match="equal division"):
        C.split(t, 3, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        C.split(t, 2, axis=2)
    with pytest.raises(ValueError):
        C.stack([t, t[:2]])


@pytest.mark.parametrize("wrong", ["rev", "fwd"])
def test_a_wrong_rule_is_caught(wrong):
    # the old transpose rule inverted the permutation with argsort(axes): wrong for negative axes
    bad = Primitive("bad_transpose", np.transpose)
    good_vjp = lambda g, ans, a, axes: S.transpose(g, S._inverse_perm(axes, 3))  # noqa: E731
    bad_vjp = lambda g, ans, a, axes: S.transpose(g, tuple(np.argsort(axes)))  # noqa: E731
    defvjp(bad, bad_vjp if wrong == "rev" else good_vjp)
    defjvp(bad, lambda t, ans, a, axes: bad(t, (1, 0, 2) if wrong == "fwd" else axes))
    x = rand(3, 3, 3)
    with pytest.raises(GradCheckError):
        check(lambda a: bad(a, (-1, 0, 1)), x)
