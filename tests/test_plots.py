"""Pictures: the numbers they draw (paths, slopes, fans) are checked, not just that a file appears."""
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import chainrule.functional as F  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule.explain import plots as P  # noqa: E402

A = np.diag([1.0, 4.0, 0.5])
C = np.array([1.0, -2.0, 0.5])


def bowl(theta):
    """½ (θ−c)ᵀA(θ−c): gradient A(θ−c), known in closed form."""
    d = theta - C
    return 0.5 * cnp.sum(d * cnp.matmul(A, d))


def _line(fig, label):
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_label() == label:
                return line
    raise AssertionError(f"no line labelled {label!r}")


def test_descent_path_is_gradient_descent_on_the_two_coordinates():
    start = np.array([3.0, 1.0, 7.0])
    run = P.descent_path(bowl, start, vary=(0, 1), steps=5, lr=0.1)
    expect = [start[:2].copy()]
    for _ in range(5):
        g = (A @ (np.r_[expect[-1], start[2]] - C))[:2]
        expect.append(expect[-1] - 0.1 * g)
    np.testing.assert_allclose(run["points"], np.array(expect), rtol=1e-12)
    np.testing.assert_allclose(run["grads"][0], (A @ (start - C))[:2])
    assert np.all(np.diff(run["losses"]) < 0)
    assert run["labels"] == ["θ[0]", "θ[1]"] and not run["diverged"]


def test_descent_path_reports_divergence():
    run = P.descent_path(lambda t: cnp.exp(t[0] ** 2) + t[1] ** 2, np.array([1.0, 1.0]),
                         steps=50, lr=5.0)
    assert run["diverged"] and len(run["points"]) < 51


def test_dict_params_and_vector_entries():
    params = {"w": np.array([0.5, -1.0, 2.0]), "b": 0.3}
    seen = []

    def loss(p):
        seen.append(type(p))
        return cnp.sum(p["w"] ** 2) + (p["b"] - 1.0) ** 2

    run = P.descent_path(loss, params, vary=("w[2]", "b"), steps=1, lr=0.25)
    np.testing.assert_allclose(run["grads"][0], [4.0, -1.4])
    np.testing.assert_allclose(run["points"][1], [2.0 - 0.25 * 4.0, 0.3 + 0.25 * 1.4])
    assert run["labels"] == ["w[2]", "b"] and set(seen) == {dict}


@pytest.mark.parametrize("vary, message", [
    ((0, 0), "same coordinate"), ((0,), "exactly two"), ((0, 9), "flat index"),
])
def test_bad_vary_for_arrays(vary, message):
    with pytest.raises(ValueError, match=message):
        P.descent_path(bowl, np.zeros(3), vary=vary)


@pytest.mark.parametrize("vary, message", [
    (("w", "b"), "pick one"), (("q", "b"), "not one of"), (("w[7]", "b"), "out of range"),
])
def test_bad_vary_for_dicts(vary, message):
    with pytest.raises(ValueError, match=message):
        P.descent_path(lambda p: cnp.sum(p["w"]) * p["b"], {"w": np.ones(3), "b": 1.0}, vary)


@pytest.mark.parametrize("kind, ext, magic", [("contour", "png", b"\x89PNG"),
                                              ("3d", "svg", b"<?xml")])
def test_error_surface_draws_the_path_it_computed(tmp_path, kind, ext, magic):
    start = np.array([3.0, 1.0, 7.0])
    path = tmp_path / f"surface.{ext}"
    fig = P.error_surface(bowl, start, vary=(0, 1), path=path, kind=kind, steps=6, lr=0.1)
    assert path.read_bytes()[:5].startswith(magic)
    run = P.descent_path(bowl, start, vary=(0, 1), steps=6, lr=0.1)
    line = _line(fig, "descent path")
    xs, ys = line.get_data_3d()[:2] if kind == "3d" else line.get_data()
    np.testing.assert_allclose(np.c_[xs, ys], run["points"])


def test_error_surface_arrow_points_down_the_gradient(tmp_path):
    fig = P.error_surface(bowl, np.array([3.0, 1.0, 7.0]), steps=3, lr=0.1)
    ax = fig.axes[0]
    arrow = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None][0]
    (x1, y1), (x0, y0) = arrow.xy, arrow.xyann
    g = (A @ (np.array([3.0, 1.0, 7.0]) - C))[:2]
    d = np.array([x1 - x0, y1 - y0])
    assert np.allclose(d / np.linalg.norm(d), -g / np.linalg.norm(g))


def test_error_surface_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        P.error_surface(bowl, np.zeros(3), kind="bars")
    with pytest.raises(ValueError, match="cannot save"):
        P.error_surface(bowl, np.zeros(3), path=tmp_path / "x.docx", steps=1)


def test_figures_stay_out_of_pyplot(tmp_path):
    import matplotlib.pyplot as plt
    before = list(plt.get_fignums())
    P.tangent_plot(lambda x: x ** 2, 1.0, tmp_path / "t.png")
    P.loss_curves([3.0, 2.0, 1.0], tmp_path / "l.png")
    assert plt.get_fignums() == before


@pytest.mark.parametrize("f, x0, expect", [
    (cnp.abs, 0.0, (-1.0, 1.0, 0.0)),
    (F.relu, 0.0, (0.0, 1.0, 0.0)),
    (lambda x: cnp.maximum(x, 2.0 * x), 0.0, (1.0, 2.0, 1.5)),
    (lambda x: x ** 3, 2.0, (12.0, 12.0, 12.0)),
    (cnp.abs, -3.0, (-1.0, -1.0, -1.0)),
])
def test_subdifferential(f, x0, expect):
    np.testing.assert_allclose(P.subdifferential(f, x0), expect, atol=1e-6)


def test_tangent_plot_smooth_draws_the_tangent(tmp_path):
    fig = P.tangent_plot(lambda x: x ** 2, 1.0, tmp_path / "sq.png")
    line = _line(fig, "tangent, slope f'(1) = 2")
    xs, ys = line.get_data()
    np.testing.assert_allclose(ys, 1.0 + 2.0 * (xs - 1.0))
    assert (tmp_path / "sq.png").stat().st_size > 1000


def test_tangent_plot_kink_draws_the_fan_and_highlights_the_choice():
    fig = P.tangent_plot(F.relu, 0.0, fan=7)
    ax = fig.axes[0]
    fan = [ln for ln in ax.lines if ln.get_alpha() == 0.35]
    slopes = sorted(np.polyfit(*ln.get_data(), 1)[0] for ln in fan)
    np.testing.assert_allclose(slopes, np.linspace(0, 1, 7), atol=1e-9)
    chosen = [ln for ln in ax.lines if "minimum-norm" in ln.get_label()]
    assert len(chosen) == 1 and np.allclose(chosen[0].get_data()[1], 0.0)
    assert "[0, 1]" in ax.get_title()


def test_loss_curves_accepts_the_usual_shapes(tmp_path):
    class History:
        history = [{"epoch": 0, "loss": 2.0, "val_loss": 2.5}, {"epoch": 1, "loss": 1.0,
                                                                "val_loss": 1.7}]
    fig = P.loss_curves(History(), tmp_path / "h.svg")
    assert sorted(ln.get_label() for ln in fig.axes[0].lines if not ln.get_label().startswith("_")) \
        == ["loss", "val_loss"]
    fig = P.loss_curves({"train": 10.0 ** -np.arange(5)}, x=np.arange(5) * 10)
    assert fig.axes[0].get_yscale() == "log"
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), np.arange(5) * 10)
    assert P.loss_curves([1.0, -1.0, 0.5]).axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="no sequences"):
        P.loss_curves({"a": 1.0})


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        P.loss_curves([1.0, 0.5])


def test_importing_plots_does_not_import_matplotlib():
    code = ("import sys, chainrule, chainrule.explain.plots; "
            "sys.exit(1 if 'matplotlib' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
