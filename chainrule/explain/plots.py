"""Pictures of gradients: error surfaces with descent paths, tangents and subgradient fans, loss curves.

Every number drawn comes from chainrule itself (``value_and_grad`` along the
path, ``grad`` for slopes), so a picture is also a check of the engine.
matplotlib is imported only inside these functions (``pip install
'chainrule[plot]'``).  Figures are built as ``matplotlib.figure.Figure``
objects, never through ``pyplot``: nothing is shown, no backend is switched,
and no global figure registry keeps them alive, so there is nothing to leak.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from ..core.transforms import grad, value_and_grad

INSTALL_HINT = "plots need matplotlib: pip install 'chainrule[plot]'"


class PlotDependencyError(ImportError):
    """matplotlib is missing; the message says how to install it."""


def _figure(**kw):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotDependencyError(INSTALL_HINT) from None
    return Figure(**kw)


def _save(fig, path, dpi=120):
    if path is None:
        return fig
    path = str(path)
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    supported = fig.canvas.get_supported_filetypes()
    if ext not in supported:
        raise ValueError(f"cannot save {path!r}: use one of ." + ", .".join(sorted(supported)))
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


def _scalar(v):
    return float(np.asarray(getattr(v, "data", v), dtype=float).reshape(()))


# ------------------------------------------------------------ two coordinates
class _Slice:
    """The loss as a function of two chosen coordinates, all other parameters held fixed."""

    def __init__(self, loss_fn, params, vary):
        self.loss_fn = loss_fn
        if isinstance(params, dict):
            self.names = list(params)
            self.base = {k: np.array(v, dtype=float) for k, v in params.items()}
        else:
            self.names = None
            self.base = np.array(params, dtype=float)
        if vary is None or len(vary) != 2:
            raise ValueError("vary must name exactly two coordinates, e.g. vary=(0, 1) or ('w0', 'w1')")
        self.coords = [self._locate(v) for v in vary]
        if self.coords[0] == self.coords[1]:
            raise ValueError(f"vary names the same coordinate twice: {vary!r}")
        self.labels = [self._label(c) for c in self.coords]
        self.start = np.array([self._get(c) for c in self.coords])

    def _locate(self, v):
        """(entry name or None, flat index or None) for one entry of ``vary``."""
        if self.names is None:
            if not isinstance(v, numbers.Integral) or not 0 <= int(v) < self.base.size:
                raise ValueError(f"vary entry {v!r}: use a flat index 0..{self.base.size - 1}")
            return (None, int(v))
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?\s*", str(v))
        if not m or m.group(1) not in self.base:
            raise ValueError(f"vary entry {v!r} is not one of the parameters "
                             f"({', '.join(self.names)}); use a name or name[i]")
        name, idx = m.group(1), m.group(2)
        size = self.base[name].size
        if idx is None:
            if size != 1:
                raise ValueError(f"{name} has {size} entries; pick one, e.g. {name}[0]")
            return (name, None)
        if int(idx) >= size:
            raise ValueError(f"{name}[{idx}] is out of range: {name} has {size} entries")
        return (name, int(idx))

    def _label(self, c):
        name, idx = c
        if name is None:
            return f"θ[{idx}]"
        return name if idx is None else f"{name}[{idx}]"

    def _get(self, c):
        name, idx = c
        arr = self.base if name is None else self.base[name]
        return float(arr.reshape(-1)[idx or 0])

    def _unit(self, c):
        name, idx = c
        arr = self.base if name is None else self.base[name]
        e = np.zeros(arr.size)
        e[idx or 0] = 1.0
        return e.reshape(arr.shape)

    def params_at(self, a, b):
        """The parameters with the two coordinates set to ``a`` and ``b`` (Tensors allowed)."""
        out = {None: self.base} if self.names is None else dict(self.base)
        for c, v in zip(self.coords, (a, b)):     # base − old·e + new·e keeps the graph linear
            unit = self._unit(c)
            moved = out[c[0]] - self._get(c) * unit
            out[c[0]] = moved + v * unit if unit.ndim else moved + v
        return out[None] if self.names is None else out

    def loss(self, a, b):
        return self.loss_fn(self.params_at(a, b))


def descent_path(loss_fn, params, vary=(0, 1), steps=20, lr=0.1):
    """Plain gradient descent on the two ``vary`` coordinates, gradients from chainrule.

    Only the two drawn coordinates move, so every point of the path lies on
    the surface ``error_surface`` draws.  Returns a dict with ``points``
    (steps+1, 2), ``losses``, ``grads`` (the gradient at each point), ``labels``
    and ``diverged`` (True if the loss stopped being finite: lower ``lr``).
    """
    s = _Slice(loss_fn, params, vary)
    return _descend(s, steps, lr)


def _descend(s, steps, lr):
    vg = value_and_grad(s.loss, argnums=(0, 1))
    a, b = s.start
    points, losses, grads, diverged = [], [], [], False
    for k in range(int(steps) + 1):
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported, not warned
            value, (ga, gb) = vg(float(a), float(b))
        value, ga, gb = _scalar(value), _scalar(ga), _scalar(gb)
        if not np.isfinite([value, ga, gb]).all():
            diverged = True
            break
        points.append((a, b))
        losses.append(value)
        grads.append((ga, gb))
        if k < steps:
            a, b = a - lr * ga, b - lr * gb
    return {"points": np.array(points).reshape(-1, 2), "losses": np.array(losses),
            "grads": np.array(grads).reshape(-1, 2), "labels": list(s.labels),
            "lr": float(lr), "diverged": diverged}


def _window(points, span):
    if span is not None and np.ndim(span) == 2:
        (a0, a1), (b0, b1) = span
        return (float(a0), float(a1)), (float(b0), float(b1))
    lo, hi = points.min(axis=0), points.max(axis=0)
    center = (lo + hi) / 2
    if span is None:
        half = max(0.65 * float(np.max(hi - lo)), 0.25 * max(1.0, *np.abs(points[0])))
    else:
        half = float(span)
    return (center[0] - half, center[0] + half), (center[1] - half, center[1] + half)


def _grid_loss(s, A, B):
    Z = np.empty(A.shape)
    with np.errstate(all="ignore"):      # the window may reach where the loss overflows
        for idx in np.ndindex(A.shape):
            try:
                Z[idx] = _scalar(s.loss(A[idx], B[idx]))
            except (FloatingPointError, OverflowError, ZeroDivisionError):
                Z[idx] = np.nan
    return Z


def _levels(Z, n=24):
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("the loss is not finite anywhere in the window; choose another span")
    # equal-area bands: quantile levels stay readable when the loss spans decades
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, n)))
    return levels if levels.size >= 2 else np.array([finite.min(), finite.min() + 1.0])


def error_surface(loss_fn, params, vary=(0, 1), path=None, kind="contour", steps=20, lr=0.1,
                  span=None, resolution=60, title=None):
    """Draw the loss over two parameters with the gradient-descent path and −∇ arrows.

    ``params`` is an array (``vary`` = two flat indices) or a dict of named
    values (``vary`` = two names, ``"w[i]"`` for an entry of a vector);
    ``loss_fn(params)`` gets the same kind of object back.  ``span`` is the
    half-width of the square window (or ``((a0, a1), (b0, b1))``); by default
    it fits the path.  Saves to ``path`` (format by extension) and returns the
    Figure.
    """
    if kind not in ("contour", "3d"):
        raise ValueError(f"kind must be 'contour' or '3d', not {kind!r}")
    s = _Slice(loss_fn, params, vary)
    run = _descend(s, steps, lr)
    pts, G = run["points"], run["grads"]
    (a0, a1), (b0, b1) = _window(pts, span)
    A, B = np.meshgrid(np.linspace(a0, a1, resolution), np.linspace(b0, b1, resolution))
    Z = _grid_loss(s, A, B)
    levels = _levels(Z)
    fig = _figure(figsize=(7.5, 6.2) if kind == "contour" else (8.5, 6.5))
    la, lb = s.labels
    if kind == "contour":
        ax = fig.add_subplot()
        filled = ax.contourf(A, B, Z, levels=levels, cmap="viridis", extend="both")
        ax.contour(A, B, Z, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
        fig.colorbar(filled, ax=ax, label="loss", format="%.3g")
        _arrow_field(s, ax, (a0, a1), (b0, b1))
        ax.plot(pts[:, 0], pts[:, 1], "-o", color="#ff7f0e", ms=3.5, lw=1.8, label="descent path")
        ax.plot(*pts[0], "o", color="red", ms=8, label=f"start, loss {run['losses'][0]:.4g}")
        ax.plot(*pts[-1], "*", color="white", mec="black", ms=13,
                label=f"after {len(pts) - 1} steps, loss {run['losses'][-1]:.4g}")
        g = G[0]
        norm = float(np.hypot(*g))
        if norm > 0:
            length = 0.18 * (a1 - a0)
            ax.annotate("", xy=(pts[0, 0] - length * g[0] / norm, pts[0, 1] - length * g[1] / norm),
                        xytext=tuple(pts[0]),
                        arrowprops=dict(arrowstyle="-|>", color="red", lw=2.2))
            ax.plot([], [], color="red", lw=2.2, label=f"−∇loss at start = ({-g[0]:.3g}, {-g[1]:.3g})")
        ax.set_xlim(a0, a1)
        ax.set_ylim(b0, b1)
        ax.set_aspect("equal", adjustable="box")
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    else:
        ax = fig.add_subplot(projection="3d", computed_zorder=False)  # path above the surface
        Zc = np.clip(Z, levels[0], levels[-1])
        ax.plot_surface(A, B, Zc, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True,
                        zorder=1)
        floor = levels[0] - 0.15 * (levels[-1] - levels[0])
        ax.contour(A, B, Zc, levels=levels[::2], offset=floor, cmap="viridis", linewidths=0.6,
                   zorder=0)
        ax.plot(pts[:, 0], pts[:, 1], run["losses"], "-o", color="#ff7f0e", ms=3, lw=2,
                label="descent path", zorder=10)
        ax.plot(pts[:, 0], pts[:, 1], np.full(len(pts), floor), "--", color="#ff7f0e", lw=1)
        # steepest descent along the surface: horizontal −g, height change −|g|²,
        # normalised in display units so the arrows lie on the drawn surface
        scale = np.array([a1 - a0, b1 - b0, levels[-1] - floor])
        d = np.column_stack([-G[:, 0], -G[:, 1], -(G ** 2).sum(axis=1)]) / scale
        d = 0.12 * scale * d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-300)
        ax.quiver(pts[:, 0], pts[:, 1], run["losses"], d[:, 0], d[:, 1], d[:, 2],
                  color="red", lw=1.5, arrow_length_ratio=0.3, label="−∇loss (along the surface)",
                  zorder=11)
        ax.set_zlim(floor, levels[-1])
        ax.set_zlabel("loss")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel(la)
    ax.set_ylabel(lb)
    note = " (diverged: lower lr)" if run["diverged"] else ""
    ax.set_title(title or f"loss over ({la}, {lb}): {len(pts) - 1} gradient-descent steps, "
                          f"lr={lr:g}{note}", fontsize=10)
    return _save(fig, path)


def _arrow_field(s, ax, xr, yr, n=9):
    """Unit −∇ arrows on a coarse grid: the local direction of steepest descent."""
    vg = value_and_grad(s.loss, argnums=(0, 1))
    xs = np.linspace(*xr, n + 2)[1:-1]
    ys = np.linspace(*yr, n + 2)[1:-1]
    X, Y = np.meshgrid(xs, ys)
    U, V = np.zeros_like(X), np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        _, (ga, gb) = vg(float(X[idx]), float(Y[idx]))
        g = np.array([_scalar(ga), _scalar(gb)])
        norm = np.hypot(*g)
        if np.isfinite(norm) and norm > 0:
            U[idx], V[idx] = -g / norm
    ax.quiver(X, Y, U, V, color="white", alpha=0.55, angles="xy", scale_units="xy",
              scale=1.0 / (0.45 * (xr[1] - xr[0]) / n), width=0.003)


# --------------------------------------------------------------- 1-D tangents
def subdifferential(f, x0, delta=1e-6):
    """(lo, hi, chosen): the one-sided slopes of f around x0 and chainrule's f'(x0).

    For a smooth f, lo == hi == chosen (up to ~delta·f'').  At a kink
    [lo, hi] is the (Clarke) subdifferential and ``chosen`` is the element
    chainrule returns: the minimum-norm one for |x|, relu, max...
    """
    df = grad(f)
    x0 = float(x0)
    h = delta * max(1.0, abs(x0))
    left, right, chosen = _scalar(df(x0 - h)), _scalar(df(x0 + h)), _scalar(df(x0))
    if abs(left - right) <= 1e-4 * max(1.0, abs(left), abs(right)):
        return chosen, chosen, chosen
    return min(left, right), max(left, right), chosen


def _curve(f, xs):
    try:
        ys = np.asarray(getattr(f(xs), "data", f(xs)), dtype=float)
        if ys.shape == xs.shape:
            return ys
    except Exception:  # noqa: BLE001 - not vectorizable: fall back to one call per point
        pass
    return np.array([_scalar(f(float(x))) for x in xs])


def tangent_plot(f, x0, path=None, *, xlim=None, ax=None, title=None, fan=9):
    """Draw f near x0 with its tangent line; at a kink, the fan of subgradient lines.

    The fan's slopes sweep the subdifferential [lo, hi]; the slope chainrule
    returns (the minimum-norm subgradient at |x|, relu...) is drawn bold.
    Draws into ``ax`` if given; returns the Figure.
    """
    x0 = float(x0)
    lo, hi, chosen = subdifferential(f, x0)
    kink = hi > lo
    if xlim is None:
        xlim = (x0 - 2.0, x0 + 2.0)
    xs = np.linspace(xlim[0], xlim[1], 401)
    ys = _curve(f, xs)
    y0 = _scalar(f(x0))
    fig = _figure(figsize=(6, 4.5)) if ax is None else ax.figure
    if ax is None:
        ax = fig.add_subplot()
    name = getattr(f, "__name__", "f")
    name = "f" if name == "<lambda>" else name
    ax.plot(xs, ys, color="black", lw=2, label=f"{name}(x)")
    if kink:
        for k, m in enumerate(np.linspace(lo, hi, fan)):
            ax.plot(xs, y0 + m * (xs - x0), color="#1f77b4", alpha=0.35, lw=1,
                    label=f"subgradients, slopes in [{lo:.3g}, {hi:.3g}]" if k == 0 else None)
        minimal = float(np.clip(0.0, lo, hi))
        what = "minimum-norm subgradient" if np.isclose(chosen, minimal) else "chainrule's choice"
        ax.plot(xs, y0 + chosen * (xs - x0), color="#d62728", lw=2.4,
                label=f"chainrule: slope {chosen:.3g} ({what})")
        heading = f"{name} at x={x0:g}: kink, ∂{name}({x0:g}) = [{lo:.3g}, {hi:.3g}]"
    else:
        ax.plot(xs, y0 + chosen * (xs - x0), color="#d62728", lw=2,
                label=f"tangent, slope {name}'({x0:g}) = {chosen:.4g}")
        heading = f"{name} at x={x0:g}: slope {chosen:.4g}"
    ax.plot([x0], [y0], "o", color="#d62728", ms=7, zorder=5)
    pad = 0.15 * (ys.max() - ys.min() or 1.0)
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_xlim(*xlim)
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_xlabel("x")
    ax.set_title(title or heading, fontsize=10)
    ax.legend(loc="upper center", fontsize=8, framealpha=0.9)
    return _save(fig, path)


# ---------------------------------------------------------------- loss curves
def _series(history):
    """{name: list of floats} from a dict, a list of numbers, a list of per-epoch dicts,
    or an object carrying one of those as ``.history``."""
    for attr in ("history", "records", "losses"):
        if not isinstance(history, (dict, list, tuple, np.ndarray)) and hasattr(history, attr):
            return _series(getattr(history, attr))
    if isinstance(history, dict):
        out = {}
        for k, v in history.items():
            arr = np.asarray(v, dtype=float).reshape(-1) if not np.isscalar(v) else None
            if arr is not None and arr.size:
                out[str(k)] = arr
        if not out:
            raise ValueError("loss_curves: the dict holds no sequences of numbers")
        return out
    seq = list(history)
    if seq and all(isinstance(r, dict) for r in seq):
        keys = [k for k in seq[0] if all(isinstance(r.get(k), numbers.Real) for r in seq)
                and k not in ("epoch", "step")]
        return {k: np.array([float(r[k]) for r in seq]) for k in keys}
    return {"loss": np.asarray(seq, dtype=float).reshape(-1)}


def loss_curves(history, path=None, *, x=None, xlabel="step", ylabel="loss", title=None,
                logy="auto", ax=None):
    """Draw one curve per series (train/val loss, accuracy...), minimum of each marked.

    ``history`` is a dict of sequences, a list of numbers, a list of per-epoch
    dicts, or an object with such a ``.history``.  ``logy='auto'`` uses a log
    axis when every value is positive and they span more than two decades.
    """
    series = _series(history)
    fig = _figure(figsize=(6.5, 4.2)) if ax is None else ax.figure
    if ax is None:
        ax = fig.add_subplot()
    values = np.concatenate([v[np.isfinite(v)] for v in series.values()] or [np.zeros(0)])
    for name, ys in series.items():
        xs = np.arange(len(ys)) if x is None else np.asarray(x, dtype=float)[:len(ys)]
        line, = ax.plot(xs, ys, lw=1.8, label=name)
        if np.isfinite(ys).any():
            i = int(np.nanargmin(np.where(np.isfinite(ys), ys, np.nan)))
            ax.plot(xs[i], ys[i], "o", color=line.get_color(), ms=5)
    if logy == "auto":
        logy = values.size > 0 and values.min() > 0 and values.max() / values.min() > 100
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)
