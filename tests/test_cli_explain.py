"""`chainrule explain | check | surface`: right numbers, one-line errors, hostile input never run."""
import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule.cli import expr as E
from chainrule.cli.main import main

COMMANDS = {
    "explain": [],
    "check": [],
    "surface": ["--vary", "x,y", "--out", "{tmp}/s.png"],
}
HOSTILE = [
    "__import__('os').system('echo hacked')",
    "x.__class__",
    "x.__class__.__mro__",
    "x['__class__']",
    "(lambda: __import__('os').system('echo hacked'))()",
    "lambda: 1",
    "[os for os in x]",
    "{k: 1 for k in x}",
    "f'{x}'",
    "9**9**9",
    "10**100000",
    "x**10**10",
    "getattr(x, '__class__')",
    "exec('import os')",
    "eval('1')",
    "open('/etc/passwd')",
    "x if y else x",
    "x; import os",
    "x == y",
    "'a' * 100",
    "x" + "+x" * 1200,                       # too long
    "(" * 200 + "x" + ")" * 200,            # too deeply nested (brackets)
    "+".join(["x"] * 80) + "+" + "-" * 500 + "x",   # too deep (operators)
    "_x + 1",
    "x @ y @ __builtins__",
]


def _run(capfd, *argv):
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def _argv(command, expression, at, tmp):
    return [command, expression, "--at", at] + [a.format(tmp=tmp) for a in COMMANDS.get(command, [])]


@pytest.fixture
def no_system(monkeypatch):
    """Fail loudly if anything tries to run a shell command."""
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    return calls


@pytest.mark.parametrize("command", sorted(COMMANDS) + ["grad"])
@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_expressions_are_refused_not_run(capfd, tmp_path, no_system, command, expression):
    code, out, err = _run(capfd, *_argv(command, expression, "x=1,y=2", tmp_path))
    assert code == 2
    assert "hacked" not in out + err and no_system == []
    assert err.count("\n") == 1 and err.startswith(f"chainrule {command}: error: ")
    assert "Traceback" not in err and not os.path.exists(tmp_path / "s.png")


@pytest.mark.parametrize("command", sorted(COMMANDS) + ["grad"])
@pytest.mark.parametrize("at, message", [
    ("y=2,x=__import__('os').system('echo hacked')", "value of x"),
    ("y=2,x=[1,2]+[3]", "value of x"), ("y=2,x=1,__y=2", "bad variable name"),
    ("y=2,x", "name=value"), ("y=2,x=[1,'a']", "value of x"), ("x=1,y=(lambda: 0)", "value of y"),
    ("x=1,y=2,x.__class__=3", "bad variable name"), ("x=1,y=" + "9" * 400, "too long"),
])
def test_hostile_values_are_refused(capfd, tmp_path, no_system, command, at, message):
    code, out, err = _run(capfd, *_argv(command, "x*y", at, tmp_path))
    assert code == 2 and message in err and err.count("\n") == 1
    assert "hacked" not in out + err and no_system == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("at", ["x=1e999,y=2", "x=1,y=[1,-1e999]"])
def test_infinite_values_are_refused(capfd, tmp_path, command, at):
    code, _, err = _run(capfd, *_argv(command, "x*sum(y)", at, tmp_path))
    assert code == 2 and "not a finite number" in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("expression, at, message", [
    ("x + y", "x=1", "no value given for y"),
    ("1 + 2", "x=1", "no variables"),
    ("w", "w=[1,2],x=1,y=1", "not a scalar"),
    ("frobnicate(x)", "x=1,y=1", "unknown function"),
    ("x +", "x=1,y=1", "not a valid expression"),
    ("dot(x)", "x=1,y=1", "dot()"),
])
def test_user_mistakes_are_one_line(capfd, tmp_path, command, expression, at, message):
    code, out, err = _run(capfd, *_argv(command, expression, at, tmp_path))
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_explain_prints_trace_gradient_and_kinks(capfd, tmp_path):
    code, out, err = _run(capfd, "explain", "relu(x)*y + x**2", "--at", "x=0,y=3",
                          "--graph", str(tmp_path / "g.dot"))
    assert code == 0, err
    assert "∂L/∂L = 1" in out and "relu" in out
    assert "∂f/∂x = 0, ∂f/∂y = 0" in out
    assert "[0, 1]" in out                       # relu's subdifferential from the kink report
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_explain_vector_and_no_kinks(capfd):
    code, out, _ = _run(capfd, "explain", "sum(w**2) + 3*b", "--at", "w=[1,2,3],b=0.5")
    assert code == 0
    assert "∂f/∂w = [2., 4., 6.], ∂f/∂b = 3" in out and "no kinks" in out


def test_explain_graph_without_graphviz_is_one_line(capfd, tmp_path, monkeypatch):
    from chainrule.explain import graph as graph_module
    monkeypatch.setattr(sys.modules[graph_module.__module__].shutil, "which", lambda name: None)
    code, _, err = _run(capfd, "explain", "x*y", "--at", "x=1,y=2", "--graph",
                        str(tmp_path / "g.png"))
    assert code == 2 and err.count("\n") == 1 and "dot" in err
    assert (tmp_path / "g.dot").exists()         # the DOT text is kept for later rendering
    code, out, err = _run(capfd, "explain", "x*y", "--at", "x=1,y=2", "--graph",
                          str(tmp_path / "g.svg"))
    assert code == 0, err                        # SVG needs no Graphviz
    assert (tmp_path / "g.svg").read_text(encoding="utf-8").startswith("<svg")


def test_explain_rejects_unknown_graph_format(capfd, tmp_path):
    code, _, err = _run(capfd, "explain", "x*y", "--at", "x=1,y=2", "--graph",
                        str(tmp_path / "g.jpeg"))
    assert code == 2 and ".dot" in err


def test_check_passes_on_smooth_expression(capfd):
    code, out, err = _run(capfd, "check", "sin(x)*y**2 + exp(sum(w*x))", "--at",
                          "x=0.3,y=2,w=[0.1,-0.2]")
    assert code == 0, out + err
    rows = [ln for ln in out.splitlines() if ln.strip().startswith(("1 ", "2 "))]
    assert len(rows) == 3 * 2 + 3 * 4 and all(ln.rstrip().endswith("yes") for ln in rows)
    assert "ok:" in out


def test_check_fails_with_exit_1_on_a_wrong_rule(capfd, monkeypatch):
    import chainrule as cr
    import chainrule.numpy as cnp

    @cr.custom_jvp              # a rule for both modes, off by a factor of 2
    def bad_sin(x):
        return cnp.sin(x)

    @bad_sin.defjvp
    def _(primals, tangents):
        return bad_sin(primals[0]), tangents[0] * 2.0 * cnp.cos(primals[0])
    monkeypatch.setitem(E.FUNCTIONS, "sin", bad_sin)
    code, out, _ = _run(capfd, "check", "sin(x)", "--at", "x=0.3", "--order", "1")
    assert code == 1 and "FAILED" in out and " NO" in out


def test_check_at_a_kink_is_inconclusive_not_a_failure(capfd):
    # finite differences average the one-sided slopes of |x| at 0: no evidence of a bad rule
    code, out, _ = _run(capfd, "check", "abs(x)", "--at", "x=0")
    assert code == 0 and "inconclusive" in out and "kink" in out and "FAILED" not in out


def test_surface_prints_the_descent_and_writes_the_picture(capfd, tmp_path):
    pic = tmp_path / "surface.png"
    code, out, err = _run(capfd, "surface", "(a-1)**2 + 4*(b+2)**2", "--at", "a=-2,b=1",
                          "--vary", "a,b", "--out", str(pic), "--steps", "3", "--lr", "0.1")
    assert code == 0, err
    assert pic.read_bytes()[:4] == b"\x89PNG"
    assert "gradient (-6, 24)" in out                       # (2(a−1), 8(b+2)) at (−2, 1)
    assert "= (-1.4, -1.4)" in out                          # (−2, 1) − 0.1·(−6, 24)
    a, b = -2.0, 1.0
    for _ in range(3):
        a, b = a - 0.1 * 2 * (a - 1), b - 0.1 * 8 * (b + 2)
    assert f"a={a:.10g}" in out and f"b={b:.10g}" in out


def test_surface_vector_entries_and_defaults(capfd, tmp_path):
    code, out, err = _run(capfd, "surface", "sum((w-1)**2) + c", "--at", "w=[3,-1,2],c=0.5",
                          "--vary", "w[0],w[2]", "--out", str(tmp_path / "v.svg"), "--kind", "3d")
    assert code == 0, err
    assert (tmp_path / "v.svg").exists()
    assert "start: w[0]=3, w[2]=2" in out
    code, out, err = _run(capfd, "surface", "x**2 + y**2 + z", "--at", "x=1,y=2,z=0",
                          "--out", str(tmp_path / "d.png"), "--steps", "0")
    assert code == 0 and "start: x=1, y=2" in out and "after 0 steps" in out


@pytest.mark.parametrize("extra, message", [
    (["--vary", "x"], "exactly two"),
    (["--vary", "x,q"], "not a variable"),
    (["--vary", "x,w"], "pick one"),
    (["--vary", "w[5],x"], "out of range"),
    (["--vary", "x,x"], "same coordinate"),
    (["--vary", "x,w[0]", "--steps", "-1"], "--steps"),
    (["--vary", "x,w[0]", "--lr", "0"], "--lr"),
    (["--vary", "x,w[0]", "--lr", "nan"], "--lr"),
    (["--vary", "x,w[0]", "--span", "-1"], "--span"),
])
def test_surface_mistakes(capfd, tmp_path, extra, message):
    code, _, err = _run(capfd, "surface", "x**2 + sum(w**2)", "--at", "x=1,w=[1,2]",
                        "--out", str(tmp_path / "s.png"), *extra)
    assert code == 2 and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("out, message", [("s.gif", "must end in"), ("nowhere/s.png", "does not exist")])
def test_surface_bad_output(capfd, tmp_path, out, message):
    code, _, err = _run(capfd, "surface", "x**2+y**2", "--at", "x=1,y=1",
                        "--out", str(tmp_path / out))
    assert code == 2 and message in err


def test_surface_divergence_is_reported(capfd, tmp_path):
    code, out, _ = _run(capfd, "surface", "exp(x**2) + y**2", "--at", "x=1,y=1", "--vary", "x,y",
                        "--out", str(tmp_path / "d.png"), "--lr", "5", "--span", "3")
    assert code == 0 and "smaller --lr" in out


def test_entry_point_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chainrule", "explain", "x**2 + 2*y**2 + 3*z**2",
                           "--at", "x=1,y=2,z=3"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__)))})
    assert done.returncode == 0, done.stderr
    assert "∂f/∂x = 2, ∂f/∂y = 8, ∂f/∂z = 18" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "chainrule", "check",
                          "__import__('os').system('echo hacked')", "--at", "x=1"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))})
    assert bad.returncode == 2 and "hacked" not in bad.stdout + bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(c in text for c in ("explain", "check", "surface"))
    assert np.argsort([text.index(" grad "), text.index(" explain ")]).tolist() == [0, 1]


@pytest.mark.parametrize("argv, flag", [
    (["explain", "relu(w*x + b)", "--at", "w=2,x=0.5,b=-1", "--html", "{tmp}/p.html"], "--html"),
    (["explain", "relu(w*x + b)", "--at", "w=2,x=0.5,b=-1", "--graph", "{tmp}/g.svg"], "--graph"),
    (["exercise", "chain", "--html", "{tmp}/e.html"], "--html"),
])
def test_an_existing_output_is_refused_naming_the_flag_used(capfd, tmp_path, argv, flag):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, _, err = _run(capfd, *argv)
    assert code == 0, err
    target = argv[argv.index(flag) + 1]
    before = open(target, "rb").read()
    code, _, err = _run(capfd, *argv)
    assert code != 0
    assert "already exists" in err and f"choose another {flag}" in err, err
    assert open(target, "rb").read() == before                 # untouched
