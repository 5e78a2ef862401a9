"""NumPy's construction, shape and padding functions on Tensors (chainrule/ops/assembly.py,
padding.py): NumPy's values, dtypes and errors for the keyword variants, float32 kept, lists
holding Tensors, empty arrays, and the choices at ties.  The finite-difference checks of
every function (both modes, second order) are in tests/coverage_cases."""
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.ops import assembly, padding

FAST = settings(max_examples=30, deadline=None)
RNG = np.random.default_rng(0)
X, V, W = RNG.standard_normal((3, 4)), RNG.standard_normal(5), RNG.standard_normal(3)
X3 = RNG.standard_normal((2, 3, 4))


def _values(r):
    if isinstance(r, (list, tuple)):
        return type(r)(_values(v) for v in r)
    return r.data if isinstance(r, cr.Tensor) else r


def assert_like_numpy(got, want):
    got = _values(got)
    if isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_like_numpy(g, w)
        return
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


def like_numpy(f, *arrays, grad=True):
    """f(cnp, Tensors...) has NumPy's values, dtype and container; with grad the result
    carries a gradient path back to the inputs."""
    ts = [cr.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    got = f(cnp, *ts)
    assert_like_numpy(got, f(np, *arrays))
    return got


# name -> f(module, *arrays), arrays: NumPy's values exactly (the same arithmetic)
VARIANTS = {
    "append_flat": (lambda m, a, b: m.append(a, b), X, V),
    "append_axis": (lambda m, a, b: m.append(a, b, axis=1), X, X[:, :2]),
    "block_2x2": (lambda m, a, b: m.block([[a, b], [b, a]]), X, X),
    "block_1d": (lambda m, a, b: m.block([a, b, 1.0]), V, W),
    "block_promote": (lambda m, a, b: m.block([[a], [b]]), V, V),
    "block_3d": (lambda m, a: m.block([[[a, a]], [[a, a]]]), X),
    "broadcast_arrays": (lambda m, a, b: m.broadcast_arrays(a, b), X, X[:1]),
    "unstack": (lambda m, a: m.unstack(a, axis=-1), X3),
    "diagflat": (lambda m, a: m.diagflat(a, 2), X),
    "vander": (lambda m, a: m.vander(a), V),
    "vander_N": (lambda m, a: m.vander(a, 2, True), V),
    "vander_0": (lambda m, a: m.vander(a, 0), V),
    "vander_zero_entry": (lambda m, a: m.vander(a, 4), np.array([0.0, 1.5, -2.0])),
    "rollaxis": (lambda m, a: m.rollaxis(a, -1, 1), X3),
    "rollaxis_same": (lambda m, a: m.rollaxis(a, 1, 1), X3),
    "vsplit": (lambda m, a: m.vsplit(a, [1, 5]), X),
    "hsplit_1d": (lambda m, a: m.hsplit(a, [2]), V),
    "dsplit": (lambda m, a: m.dsplit(a, 2), X3),
    "trim_zeros": (lambda m, a: m.trim_zeros(a), np.array([0, 0, 1.5, 0, 2.0, 0])),
    "trim_zeros_f": (lambda m, a: m.trim_zeros(a, "F"), np.array([0, 0, 1.5, 0, 2.0, 0])),
    "trim_zeros_all": (lambda m, a: m.trim_zeros(a), np.zeros(3)),
    "trim_zeros_2d": (lambda m, a: m.trim_zeros(a, axis=0),
                      np.array([[0, 0, 0], [0, 1.0, 0], [0, 0, 2.0], [0, 0, 0.0]])),
    "delete": (lambda m, a: m.delete(a, [0, -1], axis=1), X),
    "delete_mask": (lambda m, a: m.delete(a, np.array([True, False, True, False, False])), V),
    "insert_scalar": (lambda m, a: m.insert(a, 2, 7.5), V),
    "insert_axis": (lambda m, a, b: m.insert(a, 1, b, axis=1), X, W),
    "insert_many": (lambda m, a, b: m.insert(a, [0, 2, 2], b), V, W),
    "insert_broadcast": (lambda m, a, b: m.insert(a, [1], b, axis=0), X, V[:1]),
    "resize": (lambda m, a: m.resize(a, (4, 5)), X),
    "resize_smaller": (lambda m, a: m.resize(a, 3), X),
    "full": (lambda m, a: m.full((2, 3, 5), a), V),
    "full_dtype": (lambda m, a: m.full(4, a, dtype=np.float32), np.array(0.3)),
    "full_like": (lambda m, a, b: m.full_like(a, b), X, X[0]),
    "full_like_shape": (lambda m, a, b: m.full_like(a, b, shape=(2, 5)), X, V),
    "asanyarray": (lambda m, a: m.asanyarray(a, dtype=np.float32), X),
    "ascontiguousarray": (lambda m, a: m.ascontiguousarray(a.T), X),
    "ascontiguousarray_0d": (lambda m, a: m.ascontiguousarray(a), np.array(1.5)),
    "asfortranarray": (lambda m, a: m.asfortranarray(a), X),
    "require": (lambda m, a: m.require(a, requirements="FWO"), X),
    "asarray_chkfinite": (lambda m, a: m.asarray_chkfinite(a), X),
    "matrix_transpose": (lambda m, a: m.matrix_transpose(a), X3),
    "permute_dims": (lambda m, a: m.permute_dims(a), X3),
    "concat": (lambda m, a, b: m.concat((a, b), axis=None), X, V),
    "linspace": (lambda m, a, b: m.linspace(a, b, 7), np.array(0.25), V),
    "linspace_open": (lambda m, a, b: m.linspace(a, b, 5, endpoint=False, axis=-1), X, X + 1),
    "linspace_step": (lambda m, a, b: m.linspace(a, b, 4, retstep=True), np.array(1.0), W),
    "linspace_one": (lambda m, a, b: m.linspace(a, b, 1), np.array(1.0), W),
    "linspace_empty": (lambda m, a, b: m.linspace(a, b, 0), np.array(1.0), W),
    "linspace_constant": (lambda m, a: m.linspace(a, a, 3), W),
    "linspace_int": (lambda m, a, b: m.linspace(a, b, 6, dtype=int), np.array(0.5), W + 5),
    "logspace": (lambda m, a, b: m.logspace(a, b, 5), np.array(-1.0), W),
    "logspace_base": (lambda m, a, b, c: m.logspace(a, b, 3, base=c, axis=-1), W, W + 1,
                      np.array([2.0, 3.0, 10.0])),
    "geomspace": (lambda m, a, b: m.geomspace(a, b, 6), np.array(1.5), np.abs(W) + 1),
    "geomspace_negative": (lambda m, a, b: m.geomspace(a, b, 4, endpoint=False, axis=-1),
                           -np.abs(X) - 1, -np.abs(X) - 3),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_values_dtypes_and_containers_are_numpys(name):
    f, *arrays = VARIANTS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no stray warnings either
        like_numpy(f, *arrays)


def test_meshgrid_every_option():
    for sparse in (False, True):
        for indexing in ("xy", "ij"):
            for copy in (False, True):
                got = like_numpy(lambda m, *xs: m.meshgrid(*xs, copy=copy, sparse=sparse,
                                                           indexing=indexing), V, W, X[0])
                if copy:     # its own writeable buffer, as NumPy's copy
                    assert all(g.data.flags.writeable for g in got)
    like_numpy(lambda m, a: m.meshgrid(a), V)
    assert cnp.meshgrid() == ()
    with pytest.raises(ValueError, match="indexing"):
        cnp.meshgrid(cr.tensor(V), indexing="yx")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_float32_stays_float32_where_numpy_keeps_it(name):
    f, *arrays = VARIANTS[name]
    arrays32 = [a.astype(np.float32) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        like_numpy(f, *arrays32)


def test_lists_holding_tensors_are_followed():
    a = cr.tensor(V, requires_grad=True)
    y = cnp.append([a, a], [[1.0] * 5], axis=0)
    cnp.sum(y * y).backward()
    np.testing.assert_allclose(a.grad, 4 * V)
    assert isinstance(cnp.vander([a[0], a[1]]), cr.Tensor)
    assert isinstance(cnp.linspace([a[0], a[1]], 3.0, 4), cr.Tensor)
    assert isinstance(cnp.full((2,), [a[0], a[1]]), cr.Tensor)


def test_numpy_dispatches_to_these_functions():
    t = cr.tensor(X, requires_grad=True)
    for f in (lambda: np.append(t, 1.0), lambda: np.rollaxis(t, 1), lambda: np.diagflat(t),
              lambda: np.pad(t, 1, mode="reflect"), lambda: np.linspace(t, 2.0, 3),
              lambda: np.insert(t, 1, 0.5), lambda: np.resize(t, 7), lambda: np.concat([t, t])):
        assert isinstance(f(), cr.Tensor)


def test_repeated_entries_accumulate_gradients():
    a = cr.tensor(W, requires_grad=True)
    cnp.sum(cnp.resize(a, 7)).backward()                 # 7 = 3 + 3 + 1 copies
    np.testing.assert_array_equal(a.grad, [3.0, 2.0, 2.0])
    b = cr.tensor(0.5, requires_grad=True)
    cnp.sum(cnp.insert(np.zeros(4), [0, 1, 4], b)).backward()
    assert b.grad == 3.0
    c = cr.tensor(W, requires_grad=True)
    cnp.sum(cnp.full((4, 3), c)).backward()
    np.testing.assert_array_equal(c.grad, [4.0] * 3)


def test_linspace_end_points_are_exact_and_differentiable():
    g = cr.grad(lambda a, b: cnp.sum(cnp.linspace(a, b, 5) * np.arange(5.0)), argnums=(0, 1))
    ga, gb = g(1.0, 3.0)
    t = np.linspace(0, 1, 5)
    assert np.isclose(ga, np.sum((1 - t) * np.arange(5))) and np.isclose(gb, np.sum(t * np.arange(5)))
    y, step = cnp.linspace(cr.tensor(1.0, requires_grad=True), 3.0, 5, retstep=True)
    assert isinstance(step, cr.Tensor) and step.item() == 0.5 and y.data[-1] == 3.0
    assert np.isnan(cnp.linspace(cr.tensor(1.0), 2.0, 1, retstep=True)[1])


def test_geomspace_errors_like_numpy():
    with pytest.raises(ValueError, match="cannot include zero"):
        cnp.geomspace(cr.tensor(0.0, requires_grad=True), 2.0)
    with pytest.raises(ValueError, match="must be non-negative"):
        cnp.linspace(cr.tensor(0.0), 2.0, -1)


def test_block_checks_like_numpy():
    t = cr.tensor(X, requires_grad=True)
    with pytest.raises(ValueError, match="depths are mismatched"):
        cnp.block([[t], t])
    with pytest.raises(TypeError, match="tuple"):
        cnp.block([(t, t)])
    with pytest.raises(ValueError, match="cannot be empty"):
        cnp.block([[], [t]])
    b = cnp.block(t)                                     # depth 0: a copy, as np.block
    assert b is not t and np.array_equal(b.data, X)


def test_split_and_shape_errors_like_numpy():
    t = cr.tensor(V, requires_grad=True)
    for f, msg in ((lambda: cnp.vsplit(t, 2), "2 or more"), (lambda: cnp.dsplit(t, 2), "3 or more"),
                   (lambda: cnp.hsplit(cr.tensor(1.0), 1), "1 or more"),
                   (lambda: cnp.matrix_transpose(t), "at least 2-dimensional"),
                   (lambda: cnp.unstack(cr.tensor(1.0)), "at least 1-d"),
                   (lambda: cnp.vander(cr.tensor(X)), "one-dimensional"),
                   (lambda: cnp.trim_zeros(t, "x"), "unexpected character")):
        with pytest.raises(ValueError, match=msg):
            f()
    with pytest.raises(np.exceptions.AxisError):
        cnp.rollaxis(cr.tensor(X), 2)
    with pytest.raises(ValueError, match="infs or NaNs"):
        cnp.asarray_chkfinite(cr.tensor([1.0, np.nan]))


def test_row_stack_warns_as_numpy_does():
    with pytest.warns(DeprecationWarning, match="row_stack"):
        y = cnp.row_stack([cr.tensor(V, requires_grad=True), V])
    assert y.shape == (2, 5)


def test_empty_inputs():
    e = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    like_numpy(lambda m, a: m.append(a, a, axis=0), np.zeros((0, 3)))
    like_numpy(lambda m, a: m.delete(a, 0, axis=1), np.zeros((0, 3)))
    assert cnp.resize(e, (2, 2)).shape == (2, 2)          # NumPy fills with zeros
    like_numpy(lambda m, a: m.pad(a, 1), np.zeros((0, 3)))
    with pytest.raises(ValueError):
        cnp.pad(e, 1, mode="reflect")                      # NumPy cannot extend an empty axis


def test_trimmed_entries_get_no_gradient_and_kept_ones_get_one():
    x = np.array([0.0, 0.0, 1.5, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.trim_zeros(a)))(x),
                                  [0, 0, 1, 1, 1, 0])


def test_layout_functions_give_numpy_layouts():
    t = cr.tensor(X, requires_grad=True).T
    assert cnp.ascontiguousarray(t).data.flags.c_contiguous
    assert cnp.asfortranarray(t * 1.0).data.flags.f_contiguous
    r = cnp.require(t, requirements="O")
    assert r.data.flags.owndata and not np.shares_memory(r.data, t.data)
    assert cnp.asanyarray(t) is t and cnp.asarray(t, copy=True) is not t


def test_signatures_are_numpys():
    from chainrule.ops import signal
    names = assembly.__all__ + padding.__all__ + signal.__all__ + ["einsum", "concatenate",
                                                                   "array", "asarray", "dstack"]
    for name in names:
        assert str(inspect.signature(getattr(cnp, name))) == \
            str(inspect.signature(getattr(np, name))), name


# ------------------------------------------------------------------ pad
_MODES = [("constant", {}), ("constant", {"constant_values": ((1, 2), (3, 4))}), ("edge", {}),
          ("wrap", {}), ("reflect", {}), ("reflect", {"reflect_type": "odd"}), ("symmetric", {}),
          ("symmetric", {"reflect_type": "odd"}), ("linear_ramp", {}),
          ("linear_ramp", {"end_values": (5, -1)}), ("mean", {}), ("mean", {"stat_length": 1}),
          ("median", {}), ("median", {"stat_length": ((1, 2), (2, 3))}), ("maximum", {}),
          ("minimum", {"stat_length": 2})]


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.data())
def test_pad_values_are_numpys_in_every_mode(shape, data):
    mode, kw = data.draw(st.sampled_from(_MODES))
    widths = data.draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)),
                                min_size=len(shape), max_size=len(shape)))
    x = RNG.standard_normal(shape).astype(data.draw(st.sampled_from([np.float32, np.float64])))
    try:
        np.pad(x, widths, mode, **kw)
    except ValueError:                    # e.g. one (before, after) pair per axis too many
        with pytest.raises(ValueError):
            cnp.pad(cr.tensor(x, requires_grad=True), widths, mode, **kw)
        return
    like_numpy(lambda m, a: m.pad(a, widths, mode, **kw), x)


def test_pad_empty_mode_differentiates_the_kept_part():
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, 2, mode="empty") ** 2))
    np.testing.assert_allclose(g(X), 2 * X)               # the border's values depend on nothing


def test_pad_tensor_constants_match_numpy_and_get_gradients():
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    for mode, key in (("constant", "constant_values"), ("linear_ramp", "end_values")):
        like_numpy(lambda m, a, b: m.pad(a, ((1, 2), (3, 1)), mode, **{key: b}), X, c)
    # each constant's gradient is the number of border entries it fills
    gc = cr.grad(lambda v: cnp.sum(cnp.pad(X, ((1, 2), (3, 1)), constant_values=v)))(c)
    np.testing.assert_array_equal(gc, [[4, 8], [18, 6]])
    # an integer array: NumPy truncates the constant, so no gradient (piecewise constant)
    got = cnp.pad(np.arange(3), 1, constant_values=cr.tensor(1.7, requires_grad=True))
    assert_like_numpy(got, np.pad(np.arange(3), 1, constant_values=1.7))


def test_pad_callable_mode_is_refused_with_the_fix():
    t = cr.tensor(V, requires_grad=True)

    def fill(vector, width, axis, kwargs):
        vector[:width[0]] = 1.0

    with pytest.raises(ChainruleError, match="callable mode"):
        cnp.pad(t, 1, mode=fill)
    np.testing.assert_array_equal(cnp.pad(cr.tensor(V), 1, mode=fill), np.pad(V, 1, mode=fill))


def test_pad_statistic_ties_share_the_gradient():
    x = np.array([3.0, 1.0, 3.0, 2.0])                  # the maximum 3 is tied twice
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="maximum")))(x)
    np.testing.assert_array_equal(g, [1.5, 1.0, 1.5, 1.0])
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="minimum")))(x)
    np.testing.assert_array_equal(g, [1.0, 2.0, 1.0, 1.0])
    # median of 4 entries: the mean of the 2nd and 3rd order statistics, ½ each
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="median")))(np.array([4.0, 1, 3, 2]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.5, 1.5])
    # the 2nd and 3rd order statistics tied (3 entries equal the median): 1/3 each
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="median")))(np.array([2.0, 2, 5, 2]))
    np.testing.assert_allclose(g, [1 + 1 / 3, 1 + 1 / 3, 1.0, 1 + 1 / 3])


def test_pad_ties_keep_numpys_values_exactly():
    x = np.full(3, 0.1)                                   # 0.1/3 · 3 is not 0.1 in floating point
    np.testing.assert_array_equal(cnp.pad(cr.tensor(x, requires_grad=True), 2, "median").data,
                                  np.pad(x, 2, "median"))


# ------------------------------------------------------------------ einsum
def test_einsum_sublist_form_matches_the_string_form():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 5))
    like_numpy(lambda m, x: m.einsum(x, [0, 1], [1, 0]), a)
    like_numpy(lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    like_numpy(lambda m, x, y: m.einsum(x, [Ellipsis, 1], y, [1, 27]), X3, b)
    like_numpy(lambda m, x: m.einsum(x, [0, 0]), a[:3, :3])              # implicit: the trace
    ga = cr.grad(lambda x, y: cnp.sum(cnp.sin(cnp.einsum(x, [0, 1], y, [1, 2]))), argnums=(0, 1))
    gs = cr.grad(lambda x, y: cnp.sum(cnp.sin(cnp.einsum("ij,jk", x, y))), argnums=(0, 1))
    for g1, g2 in zip(ga(a, b), gs(a, b)):
        np.testing.assert_allclose(g1, g2)
    with pytest.raises(ValueError, match="valid range"):
        cnp.einsum(cr.tensor(a), [0, 60])


@pytest.mark.parametrize("optimize", [False, True, "greedy", "optimal", "path"])
def test_einsum_every_optimize_value(optimize):
    a, b, c = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 5)), RNG.standard_normal((5, 2))
    if optimize == "path":
        optimize = np.einsum_path("ij,jk,kl->il", a, b, c, optimize="optimal")[0]
    like_numpy(lambda m, *x: m.einsum("ij,jk,kl->il", *x, optimize=optimize), a, b, c)
    cr.check_grad(lambda *x: cnp.sin(cnp.einsum("ij,jk,kl->il", *x, optimize=optimize)), a, b, c)


def test_einsum_keywords():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    like_numpy(lambda m, x: m.einsum("ij->j", x, dtype=np.float64), a)
    with pytest.raises(TypeError):
        cnp.einsum("ij->j", cr.tensor(a.astype(np.float64)), dtype=np.float32)
    with pytest.raises(ChainruleError, match="out="):
        cnp.einsum("ij->j", cr.tensor(a), out=np.zeros(4, np.float32))
    buf = np.zeros(4, np.float32)                          # plain arrays: NumPy's own einsum
    assert cnp.einsum(a, [0, 1], [1], out=buf) is buf and np.allclose(buf, a.sum(0))


def test_pad_statistics_with_nan_give_numpys_values():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 0.5, -1.0]])
    for mode in ("maximum", "minimum", "median", "mean"):
        with np.errstate(invalid="ignore"):
            like_numpy(lambda m, a: m.pad(a, 1, mode), x)
