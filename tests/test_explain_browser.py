"""The explain page in a real browser: headless Chromium driven by Playwright.

Needs the ``browser`` extra (``pip install ".[browser]"``) and a Chromium: Debian's
``chromium`` package (``.ci/run`` installs both), or ``$CHAINRULE_CHROMIUM``, or the
browser Playwright downloads.  Without them these tests are skipped with a warning
saying so; with ``CHAINRULE_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once the install
worked) a missing browser is a failure instead.

``CHAINRULE_SCREENSHOT=docs/explain-page.png python -m pytest tests/test_explain_browser.py``
also refreshes the screenshot shown in docs/explain.md.
"""
import io
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import losses, nn

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _executable():
    given = os.environ.get("CHAINRULE_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None          # let Playwright try its own download


def _unavailable(reason):
    if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}", pytrace=False)
    message = (f"BROWSER TESTS SKIPPED: {reason}. Install them with: apt-get install chromium "
               "&& pip install '.[browser]' (or run .ci/run)")
    warnings.warn(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    manager = sync_playwright().start()
    try:
        try:
            ctx = manager.chromium.launch_persistent_context(
                profile, executable_path=_executable(), args=ARGS, headless=True,
                viewport={"width": 1400, "height": 1000})
        except Error as e:
            _unavailable(f"no Chromium could be started ({str(e).splitlines()[0]})")
        yield ctx
        ctx.close()
    finally:
        manager.stop()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """One opened page, with what it logged and everything it tried to fetch."""

    def __init__(self, ctx, path):
        self.errors, self.requests = [], []
        self.page = ctx.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file://") else route.abort())
        self.url = Path(path).resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready='1']")
        self.data = self.page.evaluate("JSON.parse(document.getElementById('cr-data').textContent)")

    def node(self, label):
        return self.page.locator(f"#cr-graph-wrap g.cr-node[data-label='{label}']")

    def index(self, label):
        return int(self.node(label).get_attribute("data-node"))

    def value(self, label):
        return self.node(label).locator(".cr-val .cr-v").text_content()

    def grad(self, label):
        return self.node(label).locator(".cr-grad .cr-v").text_content()

    def step(self):
        return int(self.page.locator("body").get_attribute("data-step"))

    def press(self, key, times=1):
        for _ in range(times):
            self.page.keyboard.press(key)

    def go(self, k):
        """Walk to step k with the arrow keys, one step at a time."""
        now = self.step()
        self.press("ArrowRight" if k > now else "ArrowLeft", abs(k - now))
        assert self.step() == k

    def clean(self):
        assert self.errors == [], self.errors
        assert self.requests == [self.url], self.requests      # the file itself, nothing else


# --------------------------------------------------- seed 000: ŷ = x·w1·w2·w3, MSE
X, Y, W = 1.5, 0.5, (0.7, -1.3, 0.4)


def _seed000(w1, w2, w3):
    y_hat = X * w1 * w2 * w3
    y_hat.name = "ŷ"
    return cnp.mean((Y - y_hat) ** 2)


@pytest.fixture
def chain_page(browser, tmp_path):
    path = cr.explain_html(_seed000, *W, names=["w1", "w2", "w3"], path=tmp_path / "chain.html",
                           title="seed 000: ŷ = x·w1·w2·w3, L = (y − ŷ)², x = 1.5, y = 0.5")
    p = Page(browser, path)
    yield p
    p.page.close()


def test_stepping_forward_then_backward_shows_values_then_gradients(chain_page):
    p = chain_page
    w1, w2, w3 = W
    y_hat = X * w1 * w2 * w3
    loss = (Y - y_hat) ** 2                       # n = 1
    d_yhat = 2 * (y_hat - Y)
    d_w1 = d_yhat * X * w2 * w3
    assert f"{d_w1:.4g}" == "1.632"               # the number, from the seed's formula
    assert p.step() == 0 and p.value("w1") == "?" and p.grad("L") == "?"
    p.press("ArrowRight")                         # the inputs
    assert p.value("w1") == "0.7" and p.value("w3") == "0.4" and p.value("ŷ") == "?"
    p.go(p.data["vstep"][p.index("ŷ")])           # the forward pass reaches ŷ
    assert p.value("ŷ") == f"{y_hat:.4g}" == "-0.546"
    assert p.value("L") == "?" and p.grad("ŷ") == "?"
    assert "ŷ = multiply" in p.page.locator("#cr-title").text_content()
    p.go(p.data["gstep"][p.index("L")])           # the seed: a gradient of 1 on the output
    assert p.value("L") == f"{loss:.4g}" and p.grad("L") == "1"
    assert "seed" in p.page.locator("#cr-title").text_content().lower()
    assert p.grad("ŷ") == "?" and p.grad("w1") == "?"
    p.go(p.data["gstep"][p.index("ŷ")])           # ∂L/∂ŷ = 2(ŷ − y)/n arrives at ŷ
    assert p.grad("ŷ") == f"{d_yhat:.4g}" == "-2.092"
    assert p.grad("w1") == "?"
    lines = p.page.locator("#cr-lines").text_content()
    assert "arriving: ∂L/∂ŷ = -2.092" in lines and "local derivative" in lines
    leaf = p.data["gstep"][p.index("w1")]
    p.go(leaf)                                    # w1 is a leaf: its .grad
    assert p.grad("w1") == "1.632"
    assert "∂L/∂w1 = 1.632" in p.page.locator("#cr-title").text_content()
    p.press("End")
    assert p.grad("w2") == f"{d_yhat * X * w1 * w3:.4g}"
    assert p.grad("w3") == f"{d_yhat * X * w1 * w2:.4g}"
    p.go(leaf - 1)                                # and back again: the gradient is gone
    assert p.grad("w1") == "?" and p.grad("ŷ") == "-2.092"
    p.press("Home")
    assert p.step() == 0 and p.value("ŷ") == "?" and p.grad("ŷ") == "?"
    p.clean()


def test_edges_show_the_gradient_sent_only_once_it_is_sent(chain_page):
    p = chain_page
    edge = p.page.locator(f"#cr-graph-wrap g.cr-edge[data-src='{p.index('w1')}']")
    k = int(edge.get_attribute("data-row"))
    step = p.data["rowstep"][str(k)]
    p.go(step - 1)
    assert not edge.locator(".cr-sent").is_visible()
    p.go(step)
    assert edge.locator(".cr-sent").is_visible()
    assert edge.locator(".cr-sent").text_content() == "← 1.632"
    assert "swaps" in edge.locator(".cr-gate").text_content()
    p.clean()


def test_keyboard_buttons_and_slider(chain_page):
    p = chain_page
    last = len(p.data["steps"]) - 1
    p.press("End")
    assert p.step() == last and "done" in p.page.locator("#cr-counter").text_content()
    p.press("ArrowRight")
    assert p.step() == last                       # stays at the end
    p.press("ArrowUp", 2)
    assert p.step() == last - 2
    p.press("ArrowDown")
    assert p.step() == last - 1
    p.press("Home")
    p.page.click("#cr-next")
    p.page.click("#cr-next")
    assert p.step() == 2
    p.page.click("#cr-prev")
    assert p.step() == 1
    p.page.click("#cr-last")
    assert p.step() == last
    p.page.click("#cr-first")
    assert p.step() == 0
    p.page.focus("#cr-slider")                    # arrows on the slider move it by one, not two
    p.press("ArrowRight")
    assert p.step() == 1
    p.page.evaluate("(() => { const s = document.getElementById('cr-slider');"
                    " s.value = '5'; s.dispatchEvent(new Event('input')); })()")
    assert p.step() == 5
    p.page.click("#cr-first")
    p.page.click("#cr-play")                      # play advances on its own
    for _ in range(50):                           # the page's CSP forbids eval: poll from here
        if p.step() >= 1:
            break
        p.page.wait_for_timeout(100)
    p.page.click("#cr-play")                      # pause
    assert p.step() >= 1
    p.clean()


def test_table_rows_and_nodes_light_each_other(chain_page):
    p = chain_page
    row = p.page.locator("#cr-table tbody.cr-row[data-node='%d']" % p.index("ŷ")).first
    row.hover()
    assert "cr-lit" in p.node("ŷ").get_attribute("class")
    p.page.mouse.move(0, 0)
    assert "cr-lit" not in p.node("ŷ").get_attribute("class")
    p.node("w2").hover()
    lit = p.page.locator("#cr-table tbody.cr-lit")
    assert lit.count() >= 1 and lit.first.get_attribute("data-node") == str(p.index("w2"))
    p.page.mouse.move(0, 0)
    row.click()                                    # jumps to that row's backward step
    assert p.step() == p.data["rowstep"][row.get_attribute("data-row")]
    assert "Backward through ŷ" in p.page.locator("#cr-title").text_content()
    assert "cr-now" in row.get_attribute("class")
    p.clean()


def test_screenshot_is_not_blank(chain_page, tmp_path):
    image = pytest.importorskip("PIL.Image")
    p = chain_page
    p.go(p.data["gstep"][p.index("ŷ")])
    width = p.page.locator("#cr-graph-wrap svg").bounding_box()["width"]
    p.press("f")                                   # fit the whole picture in the page
    fitted = p.page.locator("#cr-graph-wrap svg").bounding_box()["width"]
    assert fitted != width and fitted <= 1400
    assert p.page.locator("#cr-fit").text_content() == "actual size"
    png = p.page.screenshot(full_page=True)
    target = os.environ.get("CHAINRULE_SCREENSHOT")
    if target:
        Path(target).write_bytes(png)
    img = np.asarray(image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape[0] > 400 and img.shape[1] > 800
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 50                       # text, boxes, edges: not a blank page
    ink = np.mean(np.any(img < 200, axis=-1))
    assert 0.01 < ink < 0.9
    box = p.page.locator("#cr-graph-wrap svg").bounding_box()
    assert box["width"] > 300 and box["height"] > 50
    p.clean()


def test_model_page_has_one_box_per_layer(browser, tmp_path):
    model = nn.MLP([3, 5, 2], seed=0)
    X_ = np.random.default_rng(0).normal(size=(6, 3))
    y = np.random.default_rng(1).normal(size=(6, 2))
    path = cr.explain_html(lambda m: losses.MSELoss()(m(X_), y), model,
                           path=tmp_path / "mlp.html")
    p = Page(browser, path)
    labels = p.page.eval_on_selector_all("#cr-graph-wrap g.cr-node",
                                         "els => els.map(e => e.dataset.label)")
    assert {"0", "1", "2", "0.weight", "0.bias", "2.weight", "2.bias"} <= set(labels)
    p.press("End")
    assert p.grad("0.weight").startswith("norm ")
    grad = np.asarray(cr.grad(lambda W: losses.MSELoss()(
        cnp.maximum(X_ @ W + model[0].bias.data, 0.0) @ model[2].weight.data
        + model[2].bias.data, y))(model[0].weight.data))
    assert p.grad("0.weight").startswith(f"norm {np.linalg.norm(grad):.4g}")
    assert model[0].weight.grad is None            # the user's model is left as it was
    p.clean()
    p.page.close()


def test_page_written_by_the_cli(browser, tmp_path):
    out = tmp_path / "cli.html"
    done = subprocess.run([sys.executable, "-m", "chainrule", "explain",
                           "mean((y - x*w1*w2*w3)**2)", "--at", "x=1.5,y=0.5,w1=0.7,w2=-1.3,w3=0.4",
                           "--wrt", "w1,w2,w3", "--html", str(out)], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    p = Page(browser, out)
    p.press("End")
    assert p.grad("w1") == "1.632" and p.value("w2") == "-1.3"
    p.clean()
    p.page.close()
