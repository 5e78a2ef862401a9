"""The misconception demos in examples/ run, and show what they claim (checked independently)."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def _run(name, tmp_path, capsys):
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(str(tmp_path))
    return module, result, capsys.readouterr().out


def test_topological_order(tmp_path, capsys):
    m, r, out = _run("misconception_topological_order", tmp_path, capsys)
    exact = 8 * m.X + 2                               # L = 2x(2x + 1): dL/dx = 8x + 2
    assert r["exact"] == exact
    assert r["topological"] == exact and r["chainrule"] == pytest.approx(exact, rel=1e-12)
    assert r["finite_difference"] == pytest.approx(exact, rel=1e-6)
    assert abs(r["naive"] - exact) > 1.0              # the naive walk really is wrong
    t = 2 * m.X + 1
    assert r["naive_pushed_s"] == t                   # s pushed on only L's direct share, t
    assert r["naive"] == 2 * t                        # ... and x got 2·t instead of 2·(t + s)
    assert r["paths_at_s"] == 2 and "sum of 2 paths" in out


def test_backward_twice_and_zero_grad(tmp_path, capsys):
    m, r, out = _run("misconception_backward_twice", tmp_path, capsys)
    assert "second time" in r["second_backward_error"] and "retain_graph=True" in out
    g = m.exact_grad(m.W0)
    np.testing.assert_allclose(r["grad_once"], g, rtol=1e-12)
    np.testing.assert_allclose(r["grad_twice"], 2 * g, rtol=1e-12)
    np.testing.assert_allclose(r["grad_after_zero"], g, rtol=1e-12)
    np.testing.assert_allclose(r["accumulated"], r["full_batch"], rtol=1e-12)
    np.testing.assert_allclose(r["full_batch"], m.exact_grad(m.W0 + 0.3), rtol=1e-12)
    # with zero_grad: gradient descent w ← w − η ∂E/∂w; without: w ← w − η Σ_k ∂E/∂w_k
    w, acc, v, right, wrong = m.W0.copy(), np.zeros(2), m.W0.copy(), [m.W0], [m.W0]
    for _ in range(m.STEPS):
        w = w - m.LR * m.exact_grad(w)
        acc = acc + m.exact_grad(v)
        v = v - m.LR * acc
        right.append(w)
        wrong.append(v)
    np.testing.assert_allclose(r["path_zero_grad"], right, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r["path_no_zero_grad"], wrong, rtol=1e-10, atol=1e-12)
    assert r["loss_no_zero_grad"] > r["loss_zero_grad"]


def test_forward_vs_reverse_cost(tmp_path, capsys):
    m, r, out = _run("misconception_forward_vs_reverse", tmp_path, capsys)
    n, fwd, rev = np.array(r["inputs"]).T            # m = 1 output, n inputs
    assert np.all(fwd == fwd[0] * n)                  # one JVP pass per input
    assert np.all(rev == rev[0])                      # one VJP pass, whatever n
    k, fwd_m, rev_m = np.array(r["outputs"]).T        # n = 1 input, m outputs
    assert np.all(fwd_m == fwd_m[0])
    slope = (rev_m[1] - rev_m[0]) / (k[1] - k[0])     # one VJP pass per output: linear in m
    assert slope > 0 and np.all(rev_m - rev_m[0] == slope * (k - k[0]))
    assert rev[-1] * 10 < fwd[-1] and fwd_m[-1] * 10 < rev_m[-1]
    from chainrule.core import primitive
    assert primitive.Primitive.__call__ is primitive.apply     # the counter was removed
    pytest.importorskip("matplotlib")
    assert (tmp_path / "forward_vs_reverse.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["misconception_topological_order",
                                  "misconception_backward_twice"])
def test_demos_run_from_the_command_line(tmp_path, name):
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name + ".py"), "--out",
                           str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
