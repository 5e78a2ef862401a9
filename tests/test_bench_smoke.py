"""The benchmark suite's correctness machinery, at tiny sizes (no timing assertions).

The suite's promise is that every timed framework computed the right thing, so these
tests check the float64 hand-written reference against finite differences, that the
comparison really rejects a wrong answer, and that chainrule and the NumPy reference pass
it on every workload; one end-to-end run goes through the worker processes.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import fw_chainrule, fw_numpy  # noqa: E402
from bench import workloads as W  # noqa: E402


def _check(fw, name):
    spec = W.SPECS[name]
    p = W.cast(W.problem(name, "tiny"), spec["dtype"])
    ref = W.reference(name, W.problem(name, "tiny"))
    run, outputs = fw.build(spec["kind"], p)
    return W.compare(outputs(run()), ref, W.RTOL[spec["dtype"]])


@pytest.mark.parametrize("name", W.ORDER)
@pytest.mark.parametrize("fw", [fw_numpy, fw_chainrule], ids=["numpy", "chainrule"])
def test_workload_matches_reference(fw, name):
    worst, bad = _check(fw, name)
    assert bad == []
    assert worst <= W.RTOL[W.SPECS[name]["dtype"]]


# ------------------------------------------- the reference against finite differences
def _fd_grad(f, arrays, eps=1e-6):
    """Central differences of scalar f with respect to every entry of every array."""
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            hi = f()
            a[i] = old - eps
            lo = f()
            a[i] = old
            g[i] = (hi - lo) / (2 * eps)
        out.append(g)
    return out


def _close(a, b, tol=1e-6):
    for x, y in zip(a, b):
        assert np.max(np.abs(x - y)) <= tol * max(1.0, np.max(np.abs(y)))


def test_reference_mlp_gradient_is_the_derivative():
    p = W.problem("W1_f64", "tiny")
    params, X, Y = p["params"], p["X"], p["Y"]
    _, grads = W.mlp_loss_grad(params, X, Y)
    _close(grads, _fd_grad(lambda: W.mlp_loss_grad(params, X, Y)[0], params))


def test_reference_moons_gradient_is_the_derivative():
    p = W.problem("W3", "tiny")
    params, X, y = p["params"], p["X"], p["y"]
    _, grads = W.moons_loss_grad(params, X, y)
    _close(grads, _fd_grad(lambda: W.moons_loss_grad(params, X, y)[0], params))


def test_reference_chain_gradient_is_the_derivative():
    p = W.problem("W2", "tiny")
    x = p["x"].copy()
    _, g = W.chain_value_grad(x, p["ops"])
    _close([g], _fd_grad(lambda: W.chain_value_grad(x, p["ops"])[0], [x]))


def test_reference_logreg_step_is_gradient_descent():
    p = W.problem("W4", "tiny")
    X, s, w, b = p["X"], p["s"], p["w"].copy(), p["b"].copy()
    loss = lambda: np.mean(np.log1p(np.exp(-s * (X @ w + b))))  # noqa: E731
    gw, gb = _fd_grad(loss, [w, b])
    _, w1, b1 = W.logreg_fit(X, s, w, b, 0.5, 1)
    _close([(w - w1) / 0.5, (b - b1) / 0.5], [gw, gb])


def test_reference_hvp_is_the_derivative_of_the_gradient():
    p = W.problem("W5", "tiny")
    params, V, X, Y = [a.astype(np.float64) for a in p["params"]], p["V"], p["X"], p["Y"]
    hv = W.mlp_hvp(params, V, X, Y)
    eps = 1e-6
    plus = W.mlp_loss_grad([a + eps * v for a, v in zip(params, V)], X, Y)[1]
    minus = W.mlp_loss_grad([a - eps * v for a, v in zip(params, V)], X, Y)[1]
    _close(hv, [(a - b) / (2 * eps) for a, b in zip(plus, minus)])


def test_inputs_stay_away_from_relu_kinks():
    p = W.problem("W1", "tiny")
    W1, b1 = p["params"][:2]
    z1 = p["X"] @ W1 + b1
    assert np.min(np.abs(z1)) >= W.KINK_MARGIN * z1.std()


# ------------------------------------------------------------- the check itself
def test_compare_rejects_wrong_answers():
    ref = {"loss": np.asarray(1.5), "grad0": np.array([1.0, -2.0, 1e-9])}
    assert W.compare(dict(ref), ref, 1e-8)[1] == []
    assert W.compare({"loss": 1.5, "grad0": ref["grad0"] * (1 + 1e-7)}, ref, 1e-8)[1]
    assert W.compare({"loss": 1.5, "grad0": ref["grad0"] * (1 + 1e-7)}, ref, 1e-4)[1] == []
    assert W.compare({"loss": 1.5}, ref, 1e-4)[1] == ["grad0: missing"]
    assert "shape" in W.compare({"loss": 1.5, "grad0": np.zeros(2)}, ref, 1e-4)[1][0]
    nan = np.array([np.nan, 0, 0])
    assert "not finite" in W.compare({"loss": 1.5, "grad0": nan}, ref, 1e-4)[1][0]


def test_flops_count_of_an_mlp_step():
    n, (a, b, c, d) = 8, W.SPECS["W6"]["tiny"]["layers"]
    fwd = 2 * n * (a * b + b * c + c * d)
    assert W.flops("W6", "tiny") == 2 * fwd + 2 * n * (b * c + c * d)
    assert W.flops("W2", "tiny") is None


# ------------------------------------------------------------------ end to end
def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_worker_fails_loudly_on_a_wrong_reference(tmp_path):
    ref = W.reference("W2", W.problem("W2", "tiny"))
    ref["grad"] = ref["grad"] * 1.001
    path = tmp_path / "bad.npz"
    np.savez(path, **ref)
    proc = subprocess.run([sys.executable, "-m", "bench.worker", "--framework", "numpy",
                           "--workload", "W2", "--mode", "tiny", "--ref", str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert proc.returncode == 3
    msg = json.loads(proc.stdout.split("BENCH ", 1)[1])
    assert msg["status"] == "mismatch" and "grad" in msg["reason"]


def test_bench_entry_point_tiny_run(tmp_path):
    md, js = tmp_path / "bench.md", tmp_path / "out.json"
    md.write_text("# B\n\nintro\n\n<!-- bench:results:start -->\nold\n<!-- bench:results:end -->\ntail\n")
    proc = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--workloads", "W2,W3",
                           "--frameworks", "chainrule", "--markdown", str(md), "--json", str(js)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "W2" in proc.stdout and "chainrule" in proc.stdout
    res = json.loads(js.read_text())["results"]
    for name in ("W2", "W3"):
        assert {f: r["status"] for f, r in res[name].items()} == {"numpy": "ok", "chainrule": "ok"}
    text = md.read_text()
    assert text.startswith("# B\n\nintro") and text.endswith("tail\n") and "old" not in text
    assert "| W2 | chainrule |" in text and "µs/op" in text


def test_missing_peer_is_skipped():
    code = ("import sys; sys.modules['mygrad'] = None\n"
            "from bench.worker import main\n"
            "main(['--framework', 'mygrad', '--workload', 'W2', '--mode', 'tiny', '--ref', 'x'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=_env(), timeout=120)
    msg = json.loads(proc.stdout.split("BENCH ", 1)[1])
    assert proc.returncode == 0 and msg["status"] == "skipped" and "mygrad" in msg["reason"]


@pytest.mark.skipif(subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                   capture_output=True).returncode != 0,
                    reason="not a git checkout")
def test_baseline_rows_run_the_baseline_code(tmp_path):
    """A chainrule@REV row imports the unpacked revision, not this checkout (`python -m` puts
    the working folder first on sys.path, so a worker started in the checkout shadowed it)."""
    js = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--workloads", "W2",
                           "--frameworks", "chainrule,chainrule-compiled", "--baseline", "HEAD",
                           "--json", str(js)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(js.read_text())["results"]["W2"]
    rows = {f: r for f, r in res.items() if "@" in f}
    assert sorted(f.split("@")[0] for f in rows) == ["chainrule", "chainrule-compiled"]
    here = os.path.join(ROOT, "chainrule")
    for f, r in rows.items():
        assert r["status"] == "ok", (f, r)
        assert r["chainrule_from"] != here and r["chainrule_from"].endswith(
            os.path.join("baseline", "chainrule")), r["chainrule_from"]
    assert res["chainrule"]["chainrule_from"] == here
