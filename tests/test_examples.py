"""Each seed example reproduces its seed's worked result: checked here against the closed forms,
computed independently with plain NumPy."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def _load(name):
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, tmp_path, capsys):
    module = _load(name)
    result = module.main(str(tmp_path))
    return module, result, capsys.readouterr().out


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_seed000_gradient_of_one_and_taylor_terms(tmp_path, capsys):
    m, r, out = _run("seed000_gradient_of_one", tmp_path, capsys)
    x, w, eps = m.X, m.W, m.EPS
    y_hat = x * w.prod()
    target = m.Y[0]
    assert 2 * (y_hat - target) == pytest.approx(1.0)          # the setting: a gradient of 1
    assert r["grad_on_y_hat"] == pytest.approx(1.0, abs=1e-12)
    g = np.array([x * w[1] * w[2], x * w[0] * w[2], x * w[0] * w[1]])
    np.testing.assert_allclose(r["g"], g, rtol=1e-12)
    np.testing.assert_allclose(r["g_from_y_hat"], g, rtol=1e-12)
    H = np.array([[0, x * w[2], x * w[1]], [x * w[2], 0, x * w[0]], [x * w[1], x * w[0], 0]])
    t = r["taylor"]
    assert t["actual"] == pytest.approx(x * np.prod(w - eps * g) - y_hat, rel=1e-10)
    assert t["first_order"] == pytest.approx(-eps * g @ g, rel=1e-10)
    assert t["second_order"] == pytest.approx(0.5 * eps ** 2 * g @ H @ g, rel=1e-10)
    assert t["max_lr"] == pytest.approx(2 * (g @ g) / (g @ H @ g), rel=1e-10)
    # the loss (ŷ − y)²: gradient g (since ∂loss/∂ŷ = 1), Hessian 2ggᵀ + 2(ŷ−y)H = 2ggᵀ + H
    tl = r["taylor_loss"]
    new = x * np.prod(w - eps * g)
    assert tl["actual"] == pytest.approx((new - target) ** 2 - (y_hat - target) ** 2, rel=1e-10)
    assert tl["first_order"] == pytest.approx(-eps * g @ g, rel=1e-10)
    assert tl["second_order"] == pytest.approx(0.5 * eps ** 2 * g @ (2 * np.outer(g, g) + H) @ g,
                                               rel=1e-10)
    assert "ŷ" in out and "∂L/∂L = 1" in out
    assert (tmp_path / "seed000_taylor.png").stat().st_size > 5000
    assert (tmp_path / "seed000_graph.dot").read_text().startswith("digraph")


def test_seed001_steepest_descent(tmp_path, capsys):
    m, r, out = _run("seed001_steepest_descent", tmp_path, capsys)
    X, Y, eta = m.X, m.Y, m.ETA
    w = np.array([m.START["w0"], m.START["w1"]])
    grad = 2 / len(Y) * X.T @ (X @ w - Y)
    np.testing.assert_allclose(r["grad0"], grad, rtol=1e-12)
    assert (r["grad0"] < 0).all()                       # the seed's picture: increase both weights
    assert r["E0"] == pytest.approx(np.mean((X @ w - Y) ** 2))
    np.testing.assert_allclose(r["step1"], w - eta * grad, rtol=1e-12)
    for k in range(len(r["path"]) - 1):                 # every step is Δw = −η∇E
        p = r["path"][k]
        np.testing.assert_allclose(r["path"][k + 1], p - eta * 2 / len(Y) * X.T @ (X @ p - Y))
    assert np.all(np.diff(r["losses"]) < 0)
    np.testing.assert_allclose(r["path"][-1], np.linalg.lstsq(X, Y, rcond=None)[0], atol=0.02)
    for name in ("seed001_error_surface.png", "seed001_error_surface_3d.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_seed002_logistic_regression(tmp_path, capsys):
    m, r, out = _run("seed002_logistic_regression", tmp_path, capsys)
    s = _sigmoid(m.SIGMOID_AT)
    np.testing.assert_allclose(r["dsigmoid"], s * (1 - s), rtol=1e-12)
    x, y, w, b, alpha = m.XP, m.YP, m.W0, m.B0, m.ALPHA
    y_hat = _sigmoid(w @ x + b)
    assert r["y_hat"] == pytest.approx(y_hat)
    np.testing.assert_allclose(r["grad_w"], -(y - y_hat) * x, rtol=1e-10)
    assert r["grad_b"] == pytest.approx(-(y - y_hat), rel=1e-10)
    np.testing.assert_allclose(r["grad_w_bce"], -(y - y_hat) * x, rtol=1e-8)
    np.testing.assert_allclose(r["w1"], w + alpha * (y - y_hat) * x, rtol=1e-10)
    assert r["b1"] == pytest.approx(b + alpha * (y - y_hat), rel=1e-10)
    np.testing.assert_allclose(r["w1_sgd"], r["w1"], rtol=1e-10)
    assert r["b1_sgd"] == pytest.approx(r["b1"], rel=1e-10)
    gaps, norms = np.array(r["quiz"]).T                 # |∇E| = |y − ŷ|·‖(x, 1)‖
    np.testing.assert_allclose(norms, gaps * np.linalg.norm(np.append(x, 1)), rtol=1e-10)
    assert np.all(np.diff(gaps) < 0) and np.all(np.diff(norms) < 0)
    assert r["history"][0] == pytest.approx(np.log(2))  # w = 0, b = 0: ŷ = ½ everywhere
    assert np.all(np.diff(r["history"]) < 0) and r["accuracy"] > 0.85
    assert (tmp_path / "seed002_sigmoid_tangent.png").exists()
    assert (tmp_path / "seed002_loss.png").exists()


def test_seed003_gradient_basics(tmp_path, capsys):
    m, r, out = _run("seed003_gradients_basics", tmp_path, capsys)
    np.testing.assert_allclose(r["dx2"], [-3.0, 0.0, 2.0, 5.0])
    np.testing.assert_allclose(r["grad_squares"], [2.0, 8.0, 18.0])
    np.testing.assert_allclose(r["grad_norm4"], 2 * m.W4)
    x, y, z = m.POINT
    assert r["directional"] == pytest.approx(np.array([2 * x, 4 * y, 6 * z]) @ m.V)
    np.testing.assert_allclose(r["subgrad_abs"], (-1.0, 1.0, 0.0), atol=1e-9)
    np.testing.assert_allclose(r["subgrad_relu"], (0.0, 1.0, 0.0), atol=1e-9)
    assert r["abs_away"] == [-1.0, 1.0] and r["relu_away"] == [0.0, 1.0]
    assert r["chain"] == pytest.approx(2 * (2.0 + 1))
    np.testing.assert_allclose(r["grad_sqnorm"], 2 * m.W)
    np.testing.assert_allclose(r["grad_dot"], m.X)
    resid = m.XS @ m.W + m.B - m.YS
    n = len(m.YS)
    np.testing.assert_allclose(r["mse_grad_w"], 2 / n * (resid[:, None] * m.XS).sum(0), rtol=1e-12)
    assert r["mse_grad_b"] == pytest.approx(2 / n * resid.sum(), rel=1e-12)
    assert "∂L/∂L = 1" in out                            # the chain-rule trace is shown
    assert (tmp_path / "seed003_tangents.png").stat().st_size > 10000


def test_seed004_softmax_nll(tmp_path, capsys):
    m, r, out = _run("seed004_softmax_nll", tmp_path, capsys)
    a, label = m.A_L, m.LABEL
    p = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    e = np.eye(len(a))[label]
    np.testing.assert_allclose(r["y_hat"], p, rtol=1e-12)
    np.testing.assert_allclose(r["grad_y_hat"], -e / p[label], rtol=1e-12)
    np.testing.assert_allclose(r["grad_a"], -(e - p), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r["grad_a_cross_entropy"], -(e - p), rtol=1e-10, atol=1e-15)
    assert "softmax" in out
    assert (tmp_path / "seed004_gradients.png").exists()
    assert (tmp_path / "seed004_graph.dot").read_text().startswith("digraph")


def test_scripts_run_from_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    script = os.path.join(EXAMPLES, "seed003_gradients_basics.py")
    done = subprocess.run([sys.executable, script], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert "[ 2.  8. 18.]" in done.stdout
    assert (tmp_path / "examples-out" / "seed003_tangents.png").exists()   # the default --out
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "seed004_softmax_nll.py"),
                           "--out", str(tmp_path / "pics")], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pics" / "seed004_gradients.png").exists()
