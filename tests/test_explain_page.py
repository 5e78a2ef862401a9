"""The explain page as a file: self-contained, the right steps, written safely by the CLI.

(The page in a browser is tested in test_explain_browser.py.)
"""
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.cli.main import main
from chainrule.explain import page as page_module

X, Y, W = 1.5, 0.5, (0.7, -1.3, 0.4)


def _seed000(w1, w2, w3):
    y_hat = X * w1 * w2 * w3
    y_hat.name = "ŷ"
    return cnp.mean((Y - y_hat) ** 2)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)


def _data(html):
    m = re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_page_is_self_contained():
    html = cr.explain_html(_seed000, *W, names=["w1", "w2", "w3"])
    parser = _Tags()
    parser.feed(html)
    assert "link" not in parser.tags and "img" not in parser.tags and "iframe" not in parser.tags
    for tag, key, value in parser.attrs:            # nothing to fetch: no src, no outside href
        assert key != "src", (tag, key, value)
        if key == "href":
            assert value.startswith("#"), (tag, key, value)
    assert "@import" not in html and "@font-face" not in html
    assert re.findall(r"url\(([^)]*)\)", html) == ["#cr-arrow"] * len(
        re.findall(r"url\(", html))                  # only the arrowhead marker
    for url in re.findall(r"https?://[^\s\"'<>]+", html):
        assert url == "http://www.w3.org/2000/svg"  # the SVG namespace, never fetched
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp
    assert html.count("<script>") == 1 and "fetch(" not in html and "XMLHttpRequest" not in html


def test_steps_reveal_values_forward_then_gradients_backward():
    html = cr.explain_html(_seed000, *W, names=["w1", "w2", "w3"])
    data = _data(html)
    steps = data["steps"]
    phases = [s["phase"] for s in steps]
    assert phases[0] == "start" and phases[-1] == "done"
    seed = phases.index("seed")
    assert set(phases[1:seed]) == {"forward"} and set(phases[seed + 1:-1]) <= {"backward", "leaf"}
    assert "= 1" in steps[seed]["title"] and "gradient of 1" in " ".join(steps[seed]["lines"])
    labels = dict(re.findall(r'data-node="(\d+)" data-label="([^"]+)"', html))
    node = {label: int(i) for i, label in labels.items()}
    v, g = data["vstep"], data["gstep"]
    assert all(v[i] < seed for i in range(len(v)))               # every value before the seed
    assert g[node["L"]] == seed                                   # the seed lands on L
    assert v[node["w1"]] < v[node["ŷ"]] < v[node["L"]]            # forward order
    assert seed < g[node["ŷ"]] < g[node["w1"]]                    # backward order
    leaf = steps[g[node["w1"]]]
    assert leaf["phase"] == "leaf" and leaf["title"] == "∂L/∂w1 = 1.632"
    at_yhat = " ".join(steps[g[node["ŷ"]]]["lines"])
    assert "arriving: ∂L/∂ŷ = -2.092" in at_yhat and "multiply swaps" in at_yhat
    assert "∂ŷ/∂w3 = v3 = -1.365" in at_yhat                      # inputs' own names


def test_fan_in_says_sum_of_paths_and_kinks_name_the_subgradient():
    data = _data(cr.explain_html(lambda a: cnp.sum(F.relu(a) * a), np.array([0.0, 2.0])))
    text = " ".join(line for s in data["steps"] for line in s["lines"])
    assert "sum of 2 paths" in text
    assert "kink" in text and "subdifferential there is [0, 1]" in text and "subgradient 0" in text


def test_model_page_and_parameter_names():
    from chainrule import losses, nn
    model = nn.MLP([2, 3, 1], seed=0)
    X_ = np.array([[0.5, -1.0], [1.0, 2.0]])
    html = cr.explain_html(lambda m: losses.MSELoss()(m(X_), np.zeros((2, 1))), model)
    assert 'data-label="0.weight"' in html and 'data-label="1"' in html
    assert "Linear(2→3)" in html and "f(MLP)" in html
    assert model[0].weight.grad is None


def test_path_is_written_atomically_and_returned(tmp_path):
    out = cr.explain_html(_seed000, *W, path=tmp_path / "p.html")
    assert out == tmp_path / "p.html" and page_module.is_ours(out)
    assert [p.name for p in tmp_path.iterdir()] == ["p.html"]     # no temporary left behind
    t = cr.trace(_seed000, *W)
    assert "<svg" in cr.explain_html(t, title="from a trace")
    with pytest.raises(cr.ChainruleError, match="a function"):
        cr.explain_html(3.0)


def test_long_traces_are_cut_and_huge_graphs_summarised(monkeypatch):
    def f(a):
        return cnp.sum(cnp.sin(cnp.cos(cnp.exp(a)))) * 2.0
    whole = _data(cr.explain_html(f, 0.3))["steps"]
    monkeypatch.setattr(page_module, "MAX_ROWS", 5)
    html = cr.explain_html(f, 0.3)
    assert "Only the first 5 of 7 rows" in html
    cut = _data(html)["steps"]
    assert len(cut) == len(whole) - 3                 # exp's forward and backward, x0's leaf
    html = cr.explain_html(_seed000, *W, max_nodes=3)
    assert "Graph too large to draw" in html and _data(html)["summarised"] is True


# ------------------------------------------------------------------ the CLI
def test_cli_writes_the_page(capsys, tmp_path):
    out = tmp_path / "chain.html"
    code = main(["explain", "mean((y - x*w1*w2*w3)**2)", "--at",
                 "x=1.5,y=0.5,w1=0.7,w2=-1.3,w3=0.4", "--wrt", "w1,w2,w3", "--html", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and f"wrote {out}" in text and "∂f/∂w1 = 1.63176" in text
    html = out.read_text(encoding="utf-8")
    assert "mean((y - x*w1*w2*w3)**2)" in html and "x=1.5" in html
    assert "∂L/∂w1 = 1.632" in " ".join(s["title"] for s in _data(html)["steps"])
    assert main(["explain", "x*y", "--at", "x=1,y=2", "--html", str(out)]) == 2   # kept...
    assert "mean((y" in out.read_text(encoding="utf-8")
    code = main(["explain", "x*y", "--at", "x=1,y=2", "--html", str(out), "--force"])  # ...unless
    assert code == 0 and "x*y" in out.read_text(encoding="utf-8")


def test_cli_never_overwrites_a_file_it_did_not_write(capfd, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    code = main(["explain", "x*y", "--at", "x=1,y=2", "--html", str(mine)])
    err = capfd.readouterr().err
    assert code == 2 and "--force" in err and err.count("\n") == 1
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    assert main(["explain", "x*y", "--at", "x=1,y=2", "--html", str(mine), "--force"]) == 0
    assert page_module.is_ours(mine)
    for bad, message in ((tmp_path / "p.txt", "must end in"),
                         (tmp_path / "nowhere" / "p.html", "does not exist")):
        assert main(["explain", "x*y", "--at", "x=1,y=2", "--html", str(bad)]) == 2
        assert message in capfd.readouterr().err
