"""cr.trace / cr.tracing: the backward pass written out row by row, checked against hand derivations."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.core import backward as core_backward
from chainrule.explain.trace import Summary, Trace


def _arr(v):
    return np.asarray(v, dtype=float)


def _check_chain(t):
    """Every node's arriving gradient is the sum of what its consumers sent it."""
    sent = {}
    for row in t.rows:
        for inp in row.inputs:
            if inp.node is not None:
                sent[inp.node] = sent.get(inp.node, 0) + _arr(inp.sent)
    for row in t.rows:
        if row.kind in ("op", "leaf") and row.node in sent:
            np.testing.assert_allclose(_arr(row.upstream), sent[row.node], rtol=1e-12)


# ------------------------------------------------- seed 000: ŷ = x·w1·w2·w3, MSE
X = np.array([1.0, 2.0, 3.0, -1.0])
Y = np.array([2.0, 1.0, 0.0, 0.5])
W = (0.5, 1.5, -1.0)


def _mse_chain(w1, w2, w3):
    y_hat = X * w1 * w2 * w3
    y_hat.name = "ŷ"
    return cnp.mean((Y - y_hat) ** 2)


def test_seed_000_trace_matches_hand_derived_chain_rule():
    t = cr.trace(_mse_chain, *W, names=["w1", "w2", "w3"])
    w1, w2, w3 = W
    n = X.size
    y_hat = X * w1 * w2 * w3
    dL_dyhat = 2 * (y_hat - Y) / n                      # the loss puts this gradient on ŷ
    # first row: the seed ∂L/∂L = 1
    seed = t.rows[0]
    assert seed.kind == "seed" and seed.label == "L" and float(seed.upstream) == 1.0
    assert float(seed.value) == pytest.approx(np.mean((Y - y_hat) ** 2))
    # the 1 becomes ∂L/∂ŷ = 2(ŷ − y)/n
    row = t["ŷ"]
    assert row.op == "multiply"
    np.testing.assert_allclose(row.upstream, dL_dyhat, rtol=1e-12)
    np.testing.assert_allclose(row.value, y_hat)
    # ŷ = (x·w1·w2)·w3: the local derivative for w3 is x·w1·w2, the gradient sent its weighted sum
    w3_in = [i for i in row.inputs if i.label == "w3"][0]
    np.testing.assert_allclose(w3_in.local, X * w1 * w2)
    assert w3_in.formula == "x"
    # and each ∂L/∂wi = Σ 2(ŷ−y)/n · ∂ŷ/∂wi
    expect = {"w1": np.sum(dL_dyhat * X * w2 * w3), "w2": np.sum(dL_dyhat * X * w1 * w3),
              "w3": np.sum(dL_dyhat * X * w1 * w2)}
    for name, g in expect.items():
        assert t[name].kind == "leaf"
        assert float(t[name].upstream) == pytest.approx(g, rel=1e-12)
    np.testing.assert_allclose(t.grads, [expect["w1"], expect["w2"], expect["w3"]], rtol=1e-12)
    # the leaves come last, in argument order
    assert [r.label for r in t.rows[-3:]] == ["w1", "w2", "w3"]
    _check_chain(t)
    # the mean row: local derivative 1/n per element
    mean_row = t.rows[1]
    assert mean_row.op == "mean" and mean_row.inputs[0].formula == "1/n"
    np.testing.assert_allclose(mean_row.inputs[0].local, np.full(n, 1 / n))


def test_seed_000_text_shows_the_seed_and_the_formulas():
    text = cr.trace(_mse_chain, *W, names=["w1", "w2", "w3"]).to_text()
    first_data_line = text.splitlines()[2]
    assert "seed" in first_data_line and "∂L/∂L = 1" in first_data_line
    assert "ŷ" in text and "→ w1.grad" in text
    assert "1/4 = [0.25, 0.25, 0.25, 0.25]" in text     # mean's 1/n, with n = 4 written out


def test_default_names_are_argument_positions():
    t = cr.trace(lambda a, b: cnp.sum(a * b), np.ones(2), np.arange(2.0))
    assert [r.label for r in t.rows if r.kind == "leaf"] == ["x0", "x1"]
    named = cr.tensor([1.0, 2.0], name="weights")
    t = cr.trace(lambda a: cnp.sum(a ** 2), named)
    assert t.rows[-1].label == "weights"
    np.testing.assert_allclose(t.grads[0], [2.0, 4.0])
    assert named.grad is None                       # trace works on copies


# ------------------------------------------ seed 004: softmax + negative log-likelihood
def test_seed_004_softmax_nll_output_layer_gradient():
    a = np.array([0.3, -1.2, 2.0, 0.1])
    label = 2

    def nll(a_L):
        e = cnp.exp(a_L)
        y_hat = e / cnp.sum(e)
        y_hat.name = "ŷ"
        return -cnp.log(y_hat[label])

    t = cr.trace(nll, a, names=["a_L"])
    y_hat = np.exp(a) / np.exp(a).sum()
    e_l = np.eye(4)[label]
    np.testing.assert_allclose(t["ŷ"].upstream, -e_l / y_hat[label], rtol=1e-12)   # −1_{i=l}/ŷ_l
    np.testing.assert_allclose(t["a_L"].upstream, -(e_l - y_hat), rtol=1e-12)     # −(e(l) − ŷ)
    _check_chain(t)


# ----------------------------------------------------------------- local derivatives
def test_sigmoid_formula_and_value():
    x = np.array([-1.0, 0.0, 2.0])
    t = cr.trace(lambda v: cnp.sum(F.sigmoid(v)), x)
    row = next(r for r in t.rows if r.op == "sigmoid")
    s = 1 / (1 + np.exp(-x))
    assert row.inputs[0].formula == "σ(x)(1−σ(x))"
    np.testing.assert_allclose(row.inputs[0].local, s * (1 - s))
    assert "σ(x0)(1−σ(x0))" in str(t)               # written with the input's own label


def test_local_derivative_is_exact_even_where_upstream_is_zero():
    # upstream to the sin node is 0 in one element; the local derivative cos(x) must still show
    x = np.array([0.5, 1.0])
    t = cr.trace(lambda v: cnp.sum(cnp.sin(v) * np.array([0.0, 1.0])), x)
    row = next(r for r in t.rows if r.op == "sin")
    np.testing.assert_allclose(row.inputs[0].local, np.cos(x))
    np.testing.assert_allclose(row.inputs[0].sent, [0.0, np.cos(1.0)])


def test_non_elementwise_op_shows_the_gradient_sent():
    A = np.arange(6.0).reshape(2, 3)
    t = cr.trace(lambda w: cnp.sum(cnp.matmul(A, w) ** 2), np.ones((3, 2)))
    row = next(r for r in t.rows if r.op == "matmul")
    w_in = [i for i in row.inputs if i.node is not None][0]
    assert w_in.local is None and w_in.formula == "Aᵀ·g"
    np.testing.assert_allclose(w_in.sent, t.grads[0])


def test_two_paths_add_up():
    t = cr.trace(lambda v: v * v, 3.0)
    assert t["x0"].paths == 2 and float(t["x0"].upstream) == 6.0
    assert "sum of 2 paths" in str(t)


def test_given_gradient_seeds_a_vector_output():
    t = cr.trace(lambda v: v * 2.0, np.ones(2), gradient=np.array([1.0, 3.0]))
    np.testing.assert_allclose(t.rows[0].upstream, [1.0, 3.0])
    np.testing.assert_allclose(t.grads[0], [2.0, 6.0])


def test_identity_function_still_has_seed_and_leaf():
    t = cr.trace(lambda v: v, 2.0)
    assert [r.kind for r in t.rows] == ["seed", "leaf"]
    assert float(t.rows[1].upstream) == 1.0


# ----------------------------------------------------------------------- tracing()
def test_tracing_records_backward_passes_and_given_seed():
    w = cr.tensor([1.0, -2.0], requires_grad=True, name="w")
    b = cr.tensor(0.5, requires_grad=True)
    with cr.tracing() as t:
        y = w * 3.0 + b
        y.backward(gradient=np.array([1.0, 10.0]))
        (w * w).sum().backward()
    assert t.passes == 2
    assert t.rows[0].kind == "seed"
    np.testing.assert_allclose(t.rows[0].upstream, [1.0, 10.0])
    leaves = [r for r in t.rows if r.kind == "leaf"]
    assert {r.label for r in leaves if r.backward_pass == 0} == {"w", "leaf"}
    assert float(t["leaf"].upstream) == 11.0
    np.testing.assert_allclose(t["w"].upstream, 2 * w.data)   # last pass
    assert "backward pass 2" in t.to_text()
    _check_chain(t)


def test_hook_is_removed_even_on_error():
    before = list(core_backward._state.hooks)
    with pytest.raises(RuntimeError):
        with cr.tracing():
            raise RuntimeError("boom")
    assert core_backward._state.hooks == before
    cr.trace(lambda v: v * 2.0, 1.0)
    assert core_backward._state.hooks == before


def test_output_not_depending_on_arguments_is_an_error():
    with pytest.raises(cr.ChainruleError, match="does not depend"):
        cr.trace(lambda v: cnp.sum(np.ones(3)), 1.0)


# ---------------------------------------------------------------------- rendering
def test_large_arrays_are_summarised_unless_kept():
    x = np.linspace(-1, 1, 50)
    t = cr.trace(lambda v: cnp.sum(v ** 2), x)
    assert isinstance(t["x0"].value, Summary) and t["x0"].value.max == pytest.approx(1.0)
    assert "min -1 / mean" in str(t)
    kept = cr.trace(lambda v: cnp.sum(v ** 2), x, keep_arrays=True)
    np.testing.assert_allclose(kept["x0"].upstream, 2 * x)


def test_markdown_and_html():
    t = cr.trace(_mse_chain, *W)
    md = t.to_markdown().splitlines()
    assert md[0].startswith("| #") and md[1].startswith("|---")
    assert len(md) == len(t.to_text().splitlines()) - 1     # no underline row, no footer
    html = t._repr_html_()
    assert html.startswith("<table") and "∂L/∂L = 1" in html and html.count("<tr>") > len(t.rows)


def test_kinks_are_marked_in_the_trace():
    t = cr.trace(lambda v: cnp.sum(F.relu(v)), np.array([0.0, 1.0, 0.0]))
    assert t.kinks.total == 2
    assert "⚠ 2 at kink" in str(t) and "subgradient" in str(t)
    assert isinstance(t, Trace) and len(t) == len(t.rows)
    with pytest.raises(KeyError):
        t["nope"]
