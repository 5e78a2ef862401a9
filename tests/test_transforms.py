"""JAX-style transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp, custom rules."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import pytree as cr_pytree
from chainrule import ChainruleError


def test_grad_of_seed_003_example():
    f = lambda x, y, z: x ** 2 + 2 * y ** 2 + 3 * z ** 2  # noqa: E731
    g = cr.grad(f, argnums=(0, 1, 2))(1.0, 2.0, 3.0)
    assert g == (2.0, 8.0, 18.0)
    w = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(v ** 2))(w), 2 * w)


def test_grad_returns_the_input_kind():
    f = lambda x: cnp.sum(x * x)  # noqa: E731
    assert isinstance(cr.grad(f)(np.ones(2)), np.ndarray)
    assert isinstance(cr.grad(lambda x: x * x)(3.0), (float, np.floating))
    assert isinstance(cr.grad(f)(cr.tensor(np.ones(2))), cr.Tensor)
    with pytest.raises(TypeError, match="3.0"):      # as in JAX: integers have no derivative
        cr.grad(lambda x: x * x)(3)


def test_grad_keeps_float32():
    g = cr.grad(lambda x: cnp.sum(cnp.sin(x)))(np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32


def test_negative_argnums_and_out_of_range():
    f = lambda a, b: a * b * b  # noqa: E731
    assert cr.grad(f, argnums=-1)(2.0, 3.0) == 12.0
    with pytest.raises(ChainruleError, match="argnums"):
        cr.grad(f, argnums=2)(2.0, 3.0)


def test_has_aux_and_value_and_grad():
    def f(x):
        return cnp.sum(x ** 2), {"norm": cnp.sqrt(cnp.sum(x ** 2))}
    (value, aux), g = cr.value_and_grad(f, has_aux=True)(np.array([3.0, 4.0]))
    assert value == 25.0 and float(aux["norm"]) == 5.0
    np.testing.assert_allclose(g, [6.0, 8.0])
    g2, aux2 = cr.grad(f, has_aux=True)(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g2, [6.0, 8.0])
    with pytest.raises(TypeError, match="pair"):
        cr.grad(lambda x: x * 2, has_aux=True)(1.0)


def test_grad_over_pytrees_keeps_the_structure():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5, "layers": [np.ones((2, 2)), (np.zeros(1),)]}

    def loss(p):
        return (cnp.sum(p["w"] ** 2) + p["b"] * 3 + cnp.sum(p["layers"][0] * 2)
                + cnp.sum(p["layers"][1][0]))
    g = cr.grad(loss)(params)
    assert set(g) == {"w", "b", "layers"}
    np.testing.assert_allclose(g["w"], [2.0, 4.0])
    assert g["b"] == 3.0
    np.testing.assert_allclose(g["layers"][0], np.full((2, 2), 2.0))
    assert isinstance(g["layers"][1], tuple)
    np.testing.assert_allclose(g["layers"][1][0], [1.0])


def test_grad_rejects_non_scalar_and_bool_outputs():
    with pytest.raises(TypeError) as e:
        cr.grad(lambda x: x * 2)(np.ones(3))
    assert "scalar" in str(e.value) and "(3,)" in str(e.value) and "jacobian" in str(e.value)
    with pytest.raises(TypeError, match="floating"):
        cr.grad(lambda x: x > 0)(1.0)
    with pytest.raises(TypeError, match="float"):
        cr.grad(lambda x: x * 2.0)(np.array([1, 2]))


def test_gradient_of_an_unused_input_is_zero():
    g = cr.grad(lambda x, y: x * 2.0, argnums=(0, 1))(1.0, np.array([1.0, 2.0]))
    assert g[0] == 2.0
    np.testing.assert_array_equal(g[1], [0.0, 0.0])
    assert cr.grad(lambda x: 3.0)(1.0) == 0.0


def test_nested_grad_to_third_order():
    f = lambda x: x ** 4 + cnp.sin(x)  # noqa: E731
    x = 0.7
    assert np.isclose(cr.grad(f)(x), 4 * x ** 3 + np.cos(x))
    assert np.isclose(cr.grad(cr.grad(f))(x), 12 * x ** 2 - np.sin(x))
    assert np.isclose(cr.grad(cr.grad(cr.grad(f)))(x), 24 * x - np.cos(x))
    assert np.isclose(cr.grad(cr.grad(cr.grad(cr.grad(f))))(x), 24 + np.sin(x))


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x*y)] = d/dx x² = 2x, in every combination of modes
    f_rr = lambda x: x * cr.grad(lambda y: x * y)(2.0)  # noqa: E731
    assert cr.grad(f_rr)(1.5) == 3.0
    f_ff = lambda x: x * cr.jvp(lambda y: x * y, (2.0,), (1.0,))[1]  # noqa: E731
    assert cr.jvp(f_ff, (1.5,), (1.0,))[1] == 3.0
    assert cr.grad(f_ff)(1.5) == 3.0
    assert cr.jvp(f_rr, (1.5,), (1.0,))[1] == 3.0


def test_jvp_is_forward_mode():
    x = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -2.0])
    out, t = cr.jvp(lambda a: cnp.sin(a) * a, (x,), (v,))
    np.testing.assert_allclose(out, np.sin(x) * x)
    np.testing.assert_allclose(t, (np.cos(x) * x + np.sin(x)) * v)
    with pytest.raises(ChainruleError, match="shape"):
        cr.jvp(cnp.sin, (x,), (np.ones(2),))
    with pytest.raises(TypeError, match="tuple"):
        cr.jvp(cnp.sin, x, v)


def test_jvp_costs_one_pass_not_one_per_input():
    calls = []

    def f(a):
        calls.append(1)
        return cnp.sum(cnp.exp(a))
    cr.jvp(f, (np.ones(50),), (np.ones(50),))
    assert len(calls) == 1


def test_directional_derivative_equals_gradient_dot_direction():
    # seed 003: ∇f · v is the rate of change of f along v
    f = lambda p: p[0] ** 2 + 2 * p[1] ** 2 + 3 * p[2] ** 2  # noqa: E731
    p = np.array([1.0, 2.0, 3.0])
    v = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    _, dd = cr.jvp(f, (p,), (v,))
    assert np.isclose(dd, np.dot([2.0, 8.0, 18.0], v))


def test_vjp_pullback():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out, pull = cr.vjp(lambda x: cnp.tanh(A @ x), np.array([0.1, -0.2]))
    u = np.array([1.0, -1.0, 2.0])
    (g,) = pull(u)
    J = (1 - np.tanh(A @ [0.1, -0.2]) ** 2)[:, None] * A
    np.testing.assert_allclose(g, u @ J)
    with pytest.raises(ChainruleError, match="shape"):
        pull(np.ones(2))


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_both_modes(mode):
    x = np.array([0.5, -1.0, 2.0])

    def f(a):
        return cnp.stack([a[0] * a[1], cnp.sin(a[2]), a[0] + a[2] ** 2, a[1]])
    J = cr.jacobian(f, mode=mode)(x)
    expected = np.array([[x[1], x[0], 0], [0, 0, np.cos(x[2])], [1, 0, 2 * x[2]], [0, 1, 0]])
    np.testing.assert_allclose(J, expected)


def test_jacobian_shape_is_out_shape_plus_in_shape():
    J = cr.jacobian(lambda a: cnp.exp(a))(np.ones((2, 3)))
    assert J.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(J.reshape(6, 6), np.e * np.eye(6))


def test_hessian_and_hvp():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    f = lambda x: 0.5 * cnp.sum(x * (A @ x)) + cnp.sum(x ** 3)  # noqa: E731
    x = np.array([1.0, -2.0])
    H = A + np.diag(6 * x)
    np.testing.assert_allclose(cr.hessian(f)(x), H)
    v = np.array([0.3, 0.7])
    np.testing.assert_allclose(cr.hvp(f, (x,), (v,)), H @ v)


@settings(max_examples=15, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-2, 2)))
def test_hvp_matches_hessian_times_vector(x):
    f = lambda a: cnp.sum(cnp.sin(a) * a ** 2)  # noqa: E731
    v = np.linspace(-1, 1, x.size)
    np.testing.assert_allclose(cr.hvp(f, (x,), (v,)), cr.hessian(f)(x) @ v, atol=1e-10)


def test_custom_vjp_is_used_by_grad_and_backward():
    @cr.custom_vjp
    def clip_gradient(x):
        return x * 1.0

    clip_gradient.defvjp(lambda x: (x * 1.0, None), lambda res, g: (cnp.clip(g, -1.0, 1.0),))
    assert cr.grad(lambda x: 5.0 * clip_gradient(x))(2.0) == 1.0
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cnp.sum(clip_gradient(x) * 0.5).backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5])
    np.testing.assert_allclose(clip_gradient(np.array([3.0])), [3.0])  # plain call


def test_custom_jvp_used_in_both_modes_and_second_order():
    @cr.custom_jvp
    def log1pexp(x):
        return cnp.log1p(cnp.exp(x))

    @log1pexp.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * (1.0 / (1.0 + cnp.exp(-x)))

    x = 100.0  # the naive derivative exp(x)/(1+exp(x)) overflows; the rule does not
    with np.errstate(over="ignore"):
        assert cr.grad(log1pexp)(x) == 1.0
        assert cr.jvp(log1pexp, (x,), (2.0,))[1] == 2.0
    s = 1 / (1 + np.exp(-0.3))
    assert np.isclose(cr.grad(cr.grad(log1pexp))(0.3), s * (1 - s))
    cr.check_grad(log1pexp, np.array([0.3, -1.0]))


def test_check_grad_reports_a_wrong_rule():
    @cr.custom_vjp
    def bad_square(x):
        return x * x

    bad_square.defvjp(lambda x: (x * x, x), lambda x, g: (3 * x * g,))  # should be 2x
    with pytest.raises(AssertionError) as e:
        cr.check_grad(bad_square, np.array([1.0, 2.0]), order=1, modes=("rev",))
    msg = str(e.value)
    assert "argument 0" in msg and "Worst element" in msg


def test_check_grad_passes_on_correct_functions_and_returns_report():
    rep = cr.check_grad(lambda a, b: cnp.sum(cnp.exp(a) * b), np.array([0.1, 0.2]), np.array(3.0))
    assert rep.passed and "rev-over-fwd" in str(rep)


@settings(max_examples=20, deadline=None)
@given(tree=st.recursive(st.floats(-5, 5), lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
    st.sampled_from("abc"), kids, max_size=3), max_leaves=8))
def test_tree_map_keeps_structure_and_refuses_mismatched_trees(tree):
    doubled = cr.tree_map(lambda a, b: a + b, tree, tree)
    leaves, treedef = cr_pytree.flatten(tree)
    new_leaves, new_def = cr_pytree.flatten(doubled)
    assert new_def == treedef and new_leaves == [2 * x for x in leaves]
    with pytest.raises(cr.ChainruleError, match="another structure"):
        cr.tree_map(lambda a, b: a + b, tree, [tree, 1.0])


def test_jit_is_compile():
    f = cr.jit(cr.grad(lambda x: cnp.sum(cnp.sin(x))))
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(f(x), np.cos(x), rtol=1e-14)
    assert cr.jit is cr.compile
