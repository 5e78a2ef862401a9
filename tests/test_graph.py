"""cr.graph: DOT text always; SVG/PNG through Graphviz when it is installed."""
import shutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.explain import graph as graph_fn

HAVE_DOT = shutil.which("dot") is not None


def _loss():
    w = cr.tensor([1.0, -2.0], requires_grad=True, name="w")
    return w, cnp.sum(cnp.sin(w) * w)


def test_tensor_graph_nodes_edges_values():
    w, loss = _loss()
    g = cr.graph(loss)
    src = g.source
    assert src.startswith("digraph chainrule {") and src.rstrip().endswith("}")
    for op in ("sum", "multiply", "sin"):
        assert f"label=\"{op}\\n" in src
    assert "w\\nshape (2,)\\nvalue [1, -2]" in src
    assert g.nodes == 4 and g.edges == 4          # w -> sin, w -> mul, sin -> mul, mul -> sum
    assert src.count(" -> ") == 4
    assert "grad" not in src                      # no gradients before backward


def test_tensor_graph_shows_leaf_gradients_after_backward():
    w, loss = _loss()
    loss.backward(retain_graph=True)
    src = cr.graph(loss).source
    expect = np.cos(w.data) * w.data + np.sin(w.data)
    assert f"grad [{expect[0]:.4g}, {expect[1]:.4g}]" in src


def test_freed_graph_says_so():
    w, loss = _loss()
    loss.backward()
    assert "freed by backward" in cr.graph(loss).source


def test_constants_are_drawn_dashed():
    w = cr.tensor(2.0, requires_grad=True)
    src = cr.graph(w * np.array([1.0, 3.0])).source
    assert "dashed" in src and "const\\nshape (2,)\\nvalue [1, 3]" in src


def test_trace_graph_labels_edges_with_gradients_sent():
    x = np.array([1.0, 2.0])
    t = cr.trace(lambda w1, w2: cnp.sum(x * w1 * w2), 3.0, 5.0, names=["w1", "w2"])
    src = cr.graph(t).source
    # ∂L/∂w1 = Σ x·w2 = 15, ∂L/∂w2 = Σ x·w1 = 9
    assert '"← 15"' in src and '"← 9"' in src
    assert "w1\\nshape ()\\nvalue 3\\ngrad 15" in src
    assert "L = sum" in src
    same = cr.graph(lambda w1, w2: cnp.sum(x * w1 * w2), 3.0, 5.0)   # f, *args form
    assert same.nodes == cr.graph(t).nodes


def test_deep_graph_is_walked_without_recursion():
    w = cr.tensor(1.0, requires_grad=True)
    y = w
    for _ in range(3000):
        y = y * 1.0001
    g = cr.graph(y, show_values=False)
    assert g.nodes == 3001 + 3000                 # every multiply has a constant
    assert g.edges == 6000


def test_labels_are_escaped():
    w = cr.tensor(1.0, requires_grad=True, name='say "hi"\\')
    src = cr.graph(w * 2.0).source
    assert 'say \\"hi\\"\\\\' in src


def test_save_without_graphviz(tmp_path, monkeypatch):
    w, loss = _loss()
    g = cr.graph(loss)
    out = g.save(tmp_path / "g.dot")
    assert out.read_text(encoding="utf-8") == g.source
    monkeypatch.setattr(shutil, "which", lambda name: None)
    svg = g.save(tmp_path / "pic.svg")                 # SVG is drawn in pure Python
    assert svg.read_text(encoding="utf-8").startswith("<svg")
    assert g._repr_svg_().startswith("<svg") and "<svg" in g._repr_html_()
    with pytest.raises(cr.ChainruleError, match="apt-get install graphviz") as err:
        g.save(tmp_path / "pic.png")
    assert isinstance(err.value, RuntimeError)    # callers catching RuntimeError see it too
    assert (tmp_path / "pic.dot").exists()        # the DOT text is written regardless
    assert not (tmp_path / "pic.png").exists()


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_save_svg_and_png(tmp_path):
    t = cr.trace(lambda v: cnp.sum(v ** 2), np.array([1.0, 2.0]))
    g = cr.graph(t)
    assert "<svg" in g.svg(engine="dot")
    png = g.save(tmp_path / "chain.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "chain.dot").exists()


def test_bad_input():
    with pytest.raises(cr.ChainruleError, match="a Tensor, a Trace"):
        graph_fn(np.ones(3))
