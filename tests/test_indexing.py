"""Indexing (getitem) and its adjoint (index_add) against finite differences, first and second
order in both modes; repeated indices must accumulate; indices drawn by Hypothesis."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.ops import indexing as I

FAST = settings(max_examples=25, deadline=None)


def check(f, *args):
    """f's derivatives (orders 1 and 2, both modes) agree with finite differences."""
    return cr.check_grad(lambda *a: cnp.sin(f(*a)), *args, order=2, modes=("fwd", "rev"))


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


X = rand(4, 5)
X3 = rand(3, 4, 5, seed=1)
MASK = X > 0

# name: (array, index)
INDICES = {
    "int":                 (X, 2),
    "negative_int":        (X, -1),
    "int_pair":            (X, (1, -2)),
    "slice":               (X, slice(1, 3)),
    "negative_step":       (X, (slice(None, None, -2), slice(4, 0, -1))),
    "ellipsis":            (X3, (Ellipsis, 1)),
    "ellipsis_middle":     (X3, (0, Ellipsis, slice(1, None))),
    "newaxis":             (X, (None, slice(None), None, 0)),
    "int_array":           (X, np.array([3, 0, 1])),
    "repeats":             (X, [0, 0, 1]),
    "repeats_2d_index":    (X, np.array([[1, 1], [3, 1]])),
    "pairs_with_repeats":  (X, ([0, 0, 3], [1, 1, -1])),
    "bool_mask":           (X, MASK),
    "bool_rows":           (X, np.array([True, False, True, True])),
    "bool_then_slice":     (X, (np.array([True, False, True, False]), slice(None, None, 2))),
    "adv_adjacent":        (X3, (slice(None), [1, 1, 3], [0, 4, 4])),
    "adv_separated":       (X3, ([0, 2, 2], slice(1, 3), [4, 0, 4])),
    "adv_with_newaxis":    (X3, ([2, 2], None, Ellipsis, [1, 0])),
    "empty_selection":     (X, []),
    "empty_mask":          (X, np.zeros_like(MASK)),
    "empty_slice":         (X, slice(3, 1)),
    "0d_scalar":           (np.array(0.4), ()),
    "0d_newaxis":          (np.array(0.4), None),
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem_matches_numpy_and_finite_differences(name):
    x, index = INDICES[name]
    t = cr.tensor(x)
    np.testing.assert_array_equal(t[index].data, x[index])
    check(lambda a: a[index], x)


@pytest.mark.parametrize("name", sorted(INDICES))
def test_index_add_is_getitems_adjoint(name):
    x, index = INDICES[name]
    g = rand(*np.shape(x[index]), seed=3)
    check(lambda h: I.index_add(h, index, x.shape), g)
    # <x[index], g> == <x, index_add(g, index)>: the defining property of an adjoint
    np.testing.assert_allclose(np.sum(x[index] * g), np.sum(x * I.index_add(g, index, x.shape)))


@pytest.mark.parametrize("name", sorted(INDICES))
def test_float32_stays_float32(name):
    x, index = INDICES[name]
    x32 = x.astype(np.float32)
    assert cr.tensor(x32)[index].dtype == np.float32
    g = cr.grad(lambda a: cnp.sum(cnp.sin(a[index])))(x32)
    assert g.dtype == np.float32
    _, t = cr.jvp(lambda a: a[index], (x32,), (np.ones_like(x32),))
    assert t.dtype == np.float32


def test_repeated_indices_accumulate():
    t = cr.tensor(np.arange(1.0, 6.0), requires_grad=True)
    cnp.sum(t[[0, 0, 1]]).backward()
    np.testing.assert_array_equal(t.grad, [2.0, 1.0, 0.0, 0.0, 0.0])
    t.zero_grad()
    cnp.sum(t[[0, 0, 1]] * np.array([1.0, 10.0, 100.0])).backward()
    np.testing.assert_array_equal(t.grad, [11.0, 100.0, 0.0, 0.0, 0.0])


def test_repeated_pairs_accumulate_in_2d():
    t = cr.tensor(rand(3, 3), requires_grad=True)
    cnp.sum(t[[0, 0, 2, 0], [1, 1, 2, 1]]).backward()
    want = np.zeros((3, 3))
    want[0, 1], want[2, 2] = 3.0, 1.0
    np.testing.assert_array_equal(t.grad, want)


def test_second_order_through_repeats():
    x = np.array([0.5, -1.2, 2.0])
    idx = [0, 0, 2, 0]                       # counts (3, 0, 1)
    f = lambda a: cnp.sum(a[idx] ** 3)  # noqa: E731
    counts = np.array([3.0, 0.0, 1.0])
    np.testing.assert_allclose(cr.grad(f)(x), 3 * x ** 2 * counts)
    np.testing.assert_allclose(cr.hessian(f)(x), np.diag(6 * x * counts))
    np.testing.assert_allclose(cr.jacobian(cr.grad(f), mode="fwd")(x), np.diag(6 * x * counts))


def test_fan_out_of_one_tensor_into_many_indices():
    x = rand(5)
    def f(a):
        return cnp.sum(a[0] * a[[0, 0]]) + cnp.sum(a[1:] * a[:-1]) + cnp.sum(a[::-1] ** 2)
    want = np.zeros(5)
    want[0] += 4 * x[0]                      # a[0] * (a[0] + a[0]) = 2 a0^2
    want[1:] += x[:-1]
    want[:-1] += x[1:]
    want += 2 * x
    np.testing.assert_allclose(cr.grad(f)(x), want)
    check(lambda a: a[0] * a[[0, 0]] + a[[1, 2]] * a[-1], x)


def test_tensor_indices_are_constants():
    t = cr.tensor(rand(4), requires_grad=True)
    idx = cr.tensor(np.array([3, 3]))
    mask = t > 0
    cnp.sum(t[idx]).backward()
    np.testing.assert_array_equal(t.grad, [0, 0, 0, 2])
    np.testing.assert_array_equal(t[mask].data, t.data[t.data > 0])


def test_iterating_a_tensor_yields_differentiable_rows():
    x = rand(3, 2)
    g = cr.grad(lambda a: sum(cnp.sum(row * (i + 1)) for i, row in enumerate(a)))(x)
    np.testing.assert_array_equal(g, np.repeat([[1.0], [2.0], [3.0]], 2, axis=1))


# ------------------------------------------------------------------------- Hypothesis
@FAST
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(st.just(s), hnp.basic_indices(s, allow_newaxis=True))))
def test_basic_indices(case):
    shape, index = case
    x = rand(*shape)
    np.testing.assert_array_equal(cr.tensor(x)[index].data, x[index])
    check(lambda a: a[index], x)


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(st.just(s), hnp.integer_array_indices(
        s, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)))))
def test_integer_array_indices_count_repeats(case):
    shape, index = case
    x = rand(*shape)
    g = cr.grad(lambda a: cnp.sum(a[index]))(x)
    counts = np.zeros(shape)
    np.add.at(counts, index, 1.0)             # how often each entry was picked
    np.testing.assert_array_equal(g, counts)
    check(lambda a: a[index], x)


@FAST
@given(hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
def test_boolean_masks(mask):
    x = rand(*mask.shape)
    g = cr.grad(lambda a: cnp.sum(a[mask] * 2.0))(x)
    np.testing.assert_array_equal(g, 2.0 * mask)
    check(lambda a: a[mask], x)


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(st.just(s), st.integers(-len(s), len(s) - 1))), st.data())
def test_take_and_take_along_axis(sa, data):
    shape, axis = sa
    n = shape[axis]
    x = rand(*shape)
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=5)), dtype=int)
    np.testing.assert_array_equal(I.take(cr.tensor(x), idx, axis).data, np.take(x, idx, axis))
    check(lambda a: I.take(a, idx, axis), x)
    along = np.argsort(x, axis=axis)
    np.testing.assert_array_equal(I.take_along_axis(cr.tensor(x), along, axis).data,
                                  np.take_along_axis(x, along, axis))
    check(lambda a: I.take_along_axis(a, along, axis), x)


def test_take_flat_and_errors():
    x = rand(2, 3)
    check(lambda a: I.take(a, [5, 0, 5]), x)
    t = cr.tensor(x)
    with pytest.raises(ChainruleError, match="integer indices"):
        I.take(t, np.array([0.5]))
    with pytest.raises(ChainruleError, match="dimensions"):
        I.take_along_axis(t, np.array([0, 1]), axis=1)
    with pytest.raises(IndexError):
        t[5]
