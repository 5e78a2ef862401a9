"""cr.exercise and `chainrule exercise`: marking gradients worked out by hand."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.cli.main import main
from chainrule.explain import exercises

NAMES = exercises.names()


def test_five_exercises_ship():
    assert NAMES == ["chain", "logistic", "linreg", "softmax", "mlp"]


@pytest.mark.parametrize("name", NAMES)
def test_each_worked_solution_is_marked_right(name):
    ex = cr.exercise(name)
    report = ex.check(ex.solution())
    assert report.passed and report.first_wrong is None
    assert {r.status for r in report.results.values()} == {"exact"}, str(report)
    assert set(report.results) == set(ex.asked) and "all right" in str(report)


def test_seed_000_numbers():
    # ŷ = x·w1·w2·w3 = -0.546, ∂L/∂ŷ = 2(ŷ − y) = -2.092, ∂L/∂w1 = ∂L/∂ŷ · x·w2·w3 = 1.632
    ex = cr.exercise("chain")
    assert list(ex.asked) == ["y_hat", "w1", "w2", "w3"]
    assert float(ex.values["y_hat"]) == pytest.approx(1.5 * 0.7 * -1.3 * 0.4)
    sol = ex.solution()
    assert float(sol["y_hat"]) == pytest.approx(-2.092)
    assert float(sol["w1"]) == pytest.approx(1.63176)
    report = ex.check({"y_hat": -2.092, "w1": 1.632, "w2": -0.8786, "w3": 2.856})
    assert report.passed and report.results["w1"].status == "close"
    assert report.results["w1"].max_diff == pytest.approx(0.00024, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMES), st.data(), st.floats(0.01, 3.0), st.booleans())
def test_one_wrong_gradient_is_found_and_its_rule_shown(name, data, delta, sign):
    ex = cr.exercise(name)
    sol = ex.solution()
    target = data.draw(st.sampled_from(list(ex.asked)))
    true = np.asarray(sol[target], dtype=float)
    sol[target] = true + (delta if sign else -delta) * (1.0 + np.abs(true))
    report = ex.check(sol)
    assert not report.passed and report.first_wrong == target
    assert report.results[target].status == "wrong"
    assert report.results[target].max_diff >= 0.01
    assert all(r.status == "exact" for n, r in report.results.items() if n != target)
    hint = report.hint
    assert hint.startswith(f"first wrong: ∂L/∂{target}.")
    assert "local derivative" in hint and "the upstream gradient it needed" in hint


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(NAMES), st.integers(4, 7))
def test_rounded_answers_are_close(name, digits):
    ex = cr.exercise(name)
    rounded = {n: np.array([float(f"{v:.{digits}g}") for v in np.ravel(g)]).reshape(np.shape(g))
               for n, g in ex.solution().items()}
    report = ex.check(rounded)
    assert report.passed
    assert all(r.status in ("exact", "close") for r in report.results.values())


def test_wrong_shape_missing_and_the_hint_for_two_paths():
    ex = cr.exercise("linreg")
    sol = ex.solution()
    sol["w"] = sol["w"][:1]
    del sol["b"]
    report = ex.check(sol)
    assert report.results["w"].status == "wrong shape"
    assert report.results["w"].line() == "wrong shape: expected (2,), got (1,)"
    assert report.results["b"].status == "missing" and not report.passed
    sol = ex.solution()
    sol["w"] = 2 / 4 * exercises.LINREG_X.T @ ex.values["residual"]     # forgot the 2λw path
    hint = ex.check(sol).hint
    assert "w is used by 2 ops" in hint and "(add the paths)" in hint
    assert "2·w^(2-1) = [1.6, -0.8]" in hint                            # ∇‖w‖² = 2w


def test_broadcast_hint_and_relu_rule():
    ex = cr.exercise("mlp")
    sol = ex.solution()
    sol["b"] = sol["z"]                         # forgot to sum over the batch
    report = ex.check(sol)
    assert report.results["b"].status == "wrong shape"
    sol = ex.solution()
    sol["z"] = sol["h"]                         # forgot relu's gate
    hint = ex.check(sol).hint
    assert "h = relu(z)" in hint and "[z>0]" in hint and "(you had it exact)" in hint


def test_answers_as_a_function_of_the_forward_values():
    ex = cr.exercise("softmax")

    def by_hand(v):
        e = np.eye(4)[exercises.SOFTMAX_LABEL]
        v["y_hat"][0] = 99.0                   # the values handed over are copies
        return {"a": -(e - ex.values["y_hat"]), "y_hat": -e / ex.values["y_hat"][2]}
    assert ex.check(by_hand).passed
    assert ex.values["y_hat"][0] != 99.0


def test_custom_exercise_asks_for_named_nodes_and_arguments():
    def f(w, b):
        h = F.relu(w * 3.0 + b)
        h.name = "h"
        return cnp.sum(h ** 2)
    ex = cr.exercise(f, np.array([1.0, -1.0]), 0.5, names=["w", "b"])
    assert ex.asked == {"h": (2,), "w": (2,), "b": ()}
    h = np.maximum(np.array([3.0, -3.0]) + 0.5, 0.0)
    d_h = 2 * h
    d_z = d_h * (h > 0)
    report = cr.exercise(f, np.array([1.0, -1.0]), 0.5, names=["w", "b"],
                         answers={"h": d_h, "w": 3 * d_z, "b": d_z.sum()})
    assert report.passed
    with pytest.raises(cr.ChainruleError, match="no node named 'q'"):
        ex.check({"q": 1.0})
    with pytest.raises(cr.ChainruleError, match="a dict"):
        ex.check([1.0])
    assert ex.check({"h": "lots"}).results["h"].status == "wrong"
    assert ex.check({"h": [np.nan, 1.0]}).results["h"].status == "wrong"


def test_exercise_on_a_model_uses_parameter_paths():
    from chainrule import losses, nn
    model = nn.Sequential(nn.Linear(2, 1, seed=0))
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    y = np.array([[1.0], [0.0]])
    ex = cr.exercise(lambda m: losses.MSELoss()(m(X), y), model)
    assert set(ex.asked) == {"0.weight", "0.bias"}
    r = X @ model[0].weight.data + model[0].bias.data - y
    assert ex.check({"0.weight": X.T @ r, "0.bias": r.sum(0)}).passed      # 2/N with N = 2
    assert model[0].weight.grad is None


def test_unknown_exercise():
    with pytest.raises(cr.ChainruleError, match="no exercise called 'nope'"):
        cr.exercise("nope")


# ------------------------------------------------------------------ the CLI
def _run(capfd, *argv):
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def test_cli_lists_and_shows(capfd):
    code, out, _ = _run(capfd, "exercise")
    assert code == 0 and all(n in out for n in NAMES)
    code, out, _ = _run(capfd, "exercise", "chain")
    assert code == 0 and "y_hat = -0.546" in out and "∂L/∂w1" in out
    assert "--answer y_hat=...,w1=...,w2=...,w3=..." in out


def test_cli_marks_answers(capfd, tmp_path):
    code, out, _ = _run(capfd, "exercise", "chain", "--answer",
                        "y_hat=-2.092,w1=1.632,w2=-0.8786,w3=2.856")
    assert code == 0 and "4 of 4 gradients right" in out
    code, out, _ = _run(capfd, "exercise", "chain", "--answer", "y_hat=-2.092,w1=-1.632")
    assert code == 1 and "∂L/∂w1     wrong" in out and "missing" in out
    assert "first wrong: ∂L/∂w1" in out and "-0.8368" not in out.split("first wrong")[0]
    answers = tmp_path / "a.json"
    ex = cr.exercise("mlp")
    answers.write_text(json.dumps({k: np.asarray(v).tolist() for k, v in ex.solution().items()}))
    code, out, _ = _run(capfd, "exercise", "mlp", "--answers", str(answers))
    assert code == 0 and "6 of 6 gradients right (6 exact" in out
    code, out, _ = _run(capfd, "exercise", "softmax", "--solution", "--html",
                        str(tmp_path / "s.html"))
    assert code == 0 and "worked solution" in out and (tmp_path / "s.html").exists()


@pytest.mark.parametrize("argv, message", [
    (["nope"], "no exercise called"),
    (["chain", "--answer", "w1=__import__('os').system('echo hacked')"], "value of w1"),
    (["chain", "--answer", "zz=1"], "no node named 'zz'"),
    (["chain", "--answers", "/nonexistent/a.json"], "cannot read"),
    (["chain", "--rtol", "0"], "--rtol"),
])
def test_cli_mistakes_are_one_line(capfd, argv, message):
    code, out, err = _run(capfd, "exercise", *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and "hacked" not in out + err


def test_cli_bad_json(capfd, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = _run(capfd, "exercise", "chain", "--answers", str(bad))
    assert code == 2 and "not valid JSON" in err
    bad.write_text("[1, 2]")
    code, _, err = _run(capfd, "exercise", "chain", "--answers", str(bad))
    assert code == 2 and "JSON object" in err
