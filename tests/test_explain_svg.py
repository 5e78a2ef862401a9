"""Pictures without Graphviz: the pure-Python layered layout and the SVG drawn from it."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule import losses, nn
from chainrule.explain import layout
from chainrule.explain.graph import Graph, Node

SVG = "{http://www.w3.org/2000/svg}"


def _parse(text):
    root = ET.fromstring(text)                 # well-formed XML, or this raises
    assert root.tag == SVG + "svg"
    return root


def _nodes(root):
    return {g.get("data-label"): g for g in root.iter(SVG + "g")
            if "cr-node" in (g.get("class") or "")}


def _text(g, cls):
    return "".join(t.text or "" for e in g.iter() if (e.get("class") or "") == cls
                   for t in e.iter(SVG + "tspan") if t.get("class") == "cr-v")


# ------------------------------------------------------------------ layout
@st.composite
def dags(draw):
    n = draw(st.integers(1, 40))
    edges = []
    for v in range(1, n):
        for u in draw(st.lists(st.integers(0, v - 1), max_size=3, unique=True)):
            edges.append((u, v))
    sizes = [(draw(st.floats(20, 200)), draw(st.floats(16, 80))) for _ in range(n)]
    return sizes, edges


@settings(max_examples=60, deadline=None)
@given(dags(), st.sampled_from(["LR", "TB"]))
def test_layout_keeps_boxes_apart_and_edges_pointing_forward(dag, rankdir):
    sizes, edges = dag
    lay = layout.layered(sizes, edges, rankdir, node_gap=10.0)
    c = np.array(lay.centers)
    assert c.shape == (len(sizes), 2) and np.all(np.isfinite(c))
    along, across = (0, 1) if rankdir == "LR" else (1, 0)
    for row in lay.layers:                         # no overlap within a layer
        ordered = sorted(row, key=lambda i: c[i, across])
        for a, b in zip(ordered, ordered[1:]):
            room = (sizes[a][across] + sizes[b][across]) / 2 + 10.0
            assert c[b, across] - c[a, across] >= room - 1e-6
    for u, v in edges:                             # every edge goes to a later layer
        assert c[u, along] < c[v, along]
    for i, (w, h) in enumerate(sizes):             # everything inside the picture
        assert -1e-6 <= c[i, 0] - w / 2 and c[i, 0] + w / 2 <= lay.width + 1e-6
        assert -1e-6 <= c[i, 1] - h / 2 and c[i, 1] + h / 2 <= lay.height + 1e-6
    assert len(lay.routes) == len(edges)


def test_sources_sit_just_before_their_first_use():
    # 0 → 1 → 2 → 3, and the leaf 4 feeds only node 3: it belongs next to 3, not at the left
    layers = layout.layer_of(5, [(0, 1), (1, 2), (2, 3), (4, 3)])
    assert layers == [0, 1, 2, 3, 2]


def test_isotonic_is_the_least_squares_monotone_fit():
    assert layout.isotonic([1.0, 3.0, 2.0, 4.0]) == [1.0, 2.5, 2.5, 4.0]
    assert layout.isotonic([3.0, 2.0, 1.0]) == [2.0, 2.0, 2.0]


def test_500_nodes_lay_out():
    # the speed (well under 0.5 s) is measured in bench/explain_layout.py, not asserted here
    rng = np.random.default_rng(0)
    edges = [(int(rng.integers(max(0, v - 20), v)), v) for v in range(1, 500)]
    lay = layout.layered([(100.0, 40.0)] * 500, edges)
    assert len(lay.centers) == 500 and sum(len(r) for r in lay.layers) == 500


# --------------------------------------------------------------------- SVG
X, Y = 1.5, 0.5


def _seed000(w1, w2, w3):
    y_hat = X * w1 * w2 * w3
    y_hat.name = "ŷ"
    return cnp.mean((Y - y_hat) ** 2)


def test_svg_of_seed_000_shows_data_and_grad_records():
    g = cr.graph(cr.trace(_seed000, 0.7, -1.3, 0.4, names=["w1", "w2", "w3"]))
    root = _parse(g.svg())
    nodes = _nodes(root)
    assert {"w1", "w2", "w3", "ŷ", "L", "const"} <= set(nodes)
    # micrograd-style record: data | grad
    y_hat = X * 0.7 * -1.3 * 0.4
    d_yhat = 2 * (y_hat - Y)
    assert _text(nodes["ŷ"], "cr-val") == f"{y_hat:.4g}"
    assert _text(nodes["ŷ"], "cr-grad") == f"{d_yhat:.4g}"
    assert _text(nodes["w1"], "cr-grad") == f"{d_yhat * X * -1.3 * 0.4:.4g}" == "1.632"
    assert _text(nodes["L"], "cr-grad") == "1"
    edges = [e for e in root.iter(SVG + "g") if e.get("class") == "cr-edge"]
    assert len(edges) == g.edges
    labels = ["".join(t.itertext()) for e in edges for t in e.iter(SVG + "text")]
    assert "swaps" in labels and "← 1.632" in labels


def test_gates_are_named_on_the_edges():
    t = cr.trace(lambda a, b: cnp.sum(F.relu(cnp.maximum(a, b) + a * b)),
                 np.array([1.0, -2.0]), np.array([0.5, 3.0]), names=["a", "b"])
    gates = {e.gate for e in cr.graph(t).edge_list}
    assert {"swaps", "distributes", "routes (1 of 2 won)", "gates (1 of 2 open)"} <= gates
    t = cr.trace(lambda a: cnp.sum(F.relu(a)), np.array([-1.0, -2.0]))
    assert {e.gate for e in cr.graph(t).edge_list} >= {"gates (closed)"}


def test_kinks_are_marked_with_their_subdifferential():
    t = cr.trace(lambda a: cnp.sum(F.relu(a) * 2.0), np.array([0.0, 1.0]))
    g = cr.graph(t)
    relu = next(n for n in g.node_list if n.op == "relu")
    assert relu.kinks == 1 and "[0, 1]" in relu.kink_note and "used 0" in relu.kink_note
    root = _parse(g.svg())
    box = _nodes(root)[relu.label]
    assert "⚠ 1 at a kink" in "".join(box.itertext())
    assert box.find(SVG + "rect").get("stroke") == "#ea580c"


def test_arrays_show_shape_and_summaries_with_norm():
    x = np.linspace(-1.0, 2.0, 30)
    g = cr.graph(cr.trace(lambda v: cnp.sum(v ** 2), x, names=["v"]))
    text = "".join(_parse(g.svg()).itertext())
    assert "shape (30,)" in text
    assert f"norm {np.linalg.norm(x):.4g}" in text            # ‖v‖
    assert f"norm {np.linalg.norm(2 * x):.4g}" in text        # ‖∂L/∂v‖ = ‖2v‖


def test_labels_are_escaped_in_svg():
    w = cr.tensor(1.0, requires_grad=True, name='<b> & "q"')
    root = _parse(cr.graph(w * 2.0).svg())
    assert '<b> & "q"' in _nodes(root)


def test_tensor_graph_svg_without_a_trace():
    w = cr.tensor([1.0, -2.0], requires_grad=True, name="w")
    root = _parse(cr.graph(cnp.sum(cnp.sin(w) * w)).svg())
    assert {"w"} <= set(_nodes(root))


def test_model_parameters_are_named_by_module_path():
    model = nn.MLP([3, 4, 2], seed=0)
    X_ = np.random.default_rng(1).normal(size=(5, 3))
    loss = losses.MSELoss()(model(X_), np.zeros((5, 2)))
    labels = {n.label for n in cr.graph(loss, model=model).node_list}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= labels
    assert not any(lbl.startswith("leaf") for lbl in labels)


def test_model_layers_become_one_box_each():
    model = nn.MLP([3, 4, 2], seed=0)
    X_ = np.random.default_rng(1).normal(size=(5, 3))
    y = np.random.default_rng(2).normal(size=(5, 2))
    t = cr.trace(lambda m: losses.MSELoss()(m(X_), y), model)
    g = cr.graph(t)
    layers = {n.label: n for n in g.node_list if n.kind.startswith("layer")}
    assert set(layers) == {"0", "1", "2"}
    assert layers["0"].op == "Linear(3→4)" and layers["1"].op == "ReLU"
    assert layers["0"].shape == (5, 4) and sorted(layers["0"].ops) == ["add", "matmul"]
    # the layer box carries ‖∂L/∂output‖ of the layer's output, checked by hand
    h = X_ @ model[0].weight.data + model[0].bias.data
    z = np.maximum(h, 0) @ model[2].weight.data + model[2].bias.data
    d_z = 2 * (z - y) / z.size
    d_relu = d_z @ model[2].weight.data.T
    assert layers["1"].grad.norm == pytest.approx(np.linalg.norm(d_relu))
    edges = {(g.node_list[e.src].label, g.node_list[e.dst].label) for e in g.edge_list}
    assert {("0.weight", "0"), ("0", "1"), ("1", "2"), ("2.bias", "2")} <= edges
    flat = cr.graph(t, layers=False)
    assert not any(n.kind.startswith("layer") for n in flat.node_list)
    assert flat.nodes > g.nodes


def test_huge_graph_degrades_to_a_summary():
    w = cr.tensor(1.0, requires_grad=True, name="w")
    y = w
    for _ in range(50_000):
        y = y * 1.0                            # a multiply and a constant: 100,001 nodes
    g = cr.graph(y, show_values=False)
    assert g.nodes == 100_001 and g.summarised
    text = g.svg()
    root = _parse(text)
    assert "cr-summary" in root.get("class")
    body = "".join(root.itertext())
    assert "Graph too large to draw: 100,001 nodes" in body and "multiply ×50,000" in body
    assert "depth 50,001 layers" in body and "leaves: w" in body
    assert len(text) < 5000


def test_rankdir_top_to_bottom_and_bad_engine():
    g = cr.graph(cr.trace(_seed000, 0.7, -1.3, 0.4))
    g.rankdir = "TB"
    _parse(g.svg())
    with pytest.raises(cr.ChainruleError, match="engine"):
        g.svg(engine="cairo")


def test_graph_of_hand_built_nodes():
    g = Graph([Node("a", "leaf", value=np.array(1.0)), Node("b", "op", "sin")], [])
    assert g.nodes == 2 and _parse(g.svg()) is not None
