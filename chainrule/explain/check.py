"""``check_grad``: compare chainrule's derivatives with central finite differences, in float64.

For a random input direction v and a random output weighting u it compares
  numeric:  (<u, f(x + εv)> − <u, f(x − εv)>) / 2ε
  reverse:  <vjp(f)(u), v>
  forward:  <u, jvp(f)(x; v)>
one argument at a time.  For ``order=2`` the same check is run on the
derivative functions themselves (reverse-over-reverse, forward-over-reverse,
...), which is what makes higher-order rules trustworthy.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core.pytree import flatten, unflatten
from ..core.tensor import Tensor
from ..core.transforms import jvp, quiet_unused, vjp


class GradCheckError(AssertionError):
    """A derivative disagreed with finite differences."""


class GradCheckReport:
    def __init__(self):
        self.rows = []          # (order, path, argument, numeric, analytic, ok)
        self.kink = ""          # e.g. "relu: 1 element at 0" when the point sits on a kink

    @property
    def passed(self):
        return all(r[-1] for r in self.rows)

    @property
    def inconclusive(self):
        """Disagreement at a kink: expected there, so it is not evidence of a wrong rule."""
        return bool(self.kink) and not self.passed

    def __bool__(self):
        return self.passed

    def __str__(self):
        width = max([len("mode")] + [len(r[1]) for r in self.rows])
        lines = [f"{'order':>5}  {'mode':<{width}} {'arg':>3}  {'numeric':>14}  {'chainrule':>14}  ok"]
        for order, path, arg, num, ana, ok in self.rows:
            lines.append(f"{order:>5}  {path:<{width}} {arg:>3}  {num:>14.8g}  {ana:>14.8g}  "
                         f"{'yes' if ok else 'NO'}")
        if self.inconclusive:
            lines.append(f"inconclusive: the point sits on a kink ({self.kink}); finite "
                         "differences average the two one-sided slopes there")
        return "\n".join(lines)

    __repr__ = __str__


def _f64(x):
    """float64, or complex128 for complex values (checked along real and imaginary directions)."""
    if isinstance(x, Tensor):
        x = x.data
    return np.array(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)


def _out_leaves(y):
    leaves, _ = flatten(y)
    return [_f64(_plain(v)) for v in leaves]


def _plain(v):
    return v.data if isinstance(v, Tensor) else v


def _inner(us, ys):
    """<u, y> = Re Σ u·y: the pairing under which vjp is the transpose of jvp (JAX's)."""
    return float(sum(np.real(np.sum(u * y)) for u, y in zip(us, ys)))


def _random_like(x, rng):
    """A random direction (or weighting): complex for complex ``x``."""
    r = rng.standard_normal(x.shape)
    return r + 1j * rng.standard_normal(x.shape) if np.iscomplexobj(x) else r


def _directions(x, rng):
    """(label, v): one random real direction, and for a complex argument an imaginary one."""
    out = [("", rng.standard_normal(x.shape))]
    if np.iscomplexobj(x):
        out.append((" [imag]", 1j * rng.standard_normal(x.shape)))
    return out


def check_grad(f, *args, order=2, modes=("fwd", "rev"), eps=1e-6, rtol=1e-5, atol=1e-7,
               seed=0, raise_on_fail=True, warn_on_kink=True):
    """Check first (and higher) derivatives of ``f`` at ``args`` against finite differences.

    Returns a report (truthy when everything agrees); raises ``GradCheckError``
    naming the argument and its worst element when ``raise_on_fail``.  At a kink
    (relu or |x| at 0, max ties, ...) finite differences cannot judge the chosen
    subgradient: it warns, and a disagreement there marks the report
    ``inconclusive`` instead of raising.
    """
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grad: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    rng = np.random.default_rng(seed)
    args = [_f64(a) for a in args]
    report = GradCheckReport()
    if warn_on_kink:
        report.kink = _kinks(f, args)
        if report.kink:
            warnings.warn("check_grad: the point sits on a kink (" + report.kink + "); finite "
                          "differences are not meaningful there, so disagreement is expected — "
                          "move the point off the kink to check the rule", stacklevel=2)
    with quiet_unused():                # a zero derivative is an ordinary thing to check
        _check(f, args, order, 1, "", modes, eps, rtol, atol, rng, report,
               raise_on_fail and not report.kink)
    return report


def _kinks(f, args):
    from .kinks import kinks_at
    return kinks_at(f, args)


def _check(f, args, max_order, order, path, modes, eps, rtol, atol, rng, report, raise_on_fail):
    y0 = _out_leaves(f(*args))
    us = [_random_like(y, rng) for y in y0]
    for k, x, (label, v) in [(k, x, d) for k, x in enumerate(args) for d in _directions(x, rng)]:
        def along(s, k=k, v=v):
            a = list(args)
            a[k] = args[k] + s * v
            return _inner(us, _out_leaves(f(*a)))

        numeric = (along(eps) - along(-eps)) / (2 * eps)
        for mode in modes:
            if mode == "rev":
                _, pull = vjp(f, *args)
                cot = unflatten(flatten(f(*args))[1], us) if len(us) != 1 else us[0]
                g = pull(cot)[k]
                analytic = float(np.real(np.sum(np.asarray(_plain(g)) * v)))
            else:
                tangents = tuple(v if j == k else np.zeros_like(a) for j, a in enumerate(args))
                _, t = jvp(f, tuple(args), tangents)
                analytic = _inner(us, _out_leaves(t))
            ok = abs(numeric - analytic) <= atol + rtol * max(abs(numeric), abs(analytic))
            name = (f"{mode}-over-{path}" if path else mode) + label
            report.rows.append((order, name, k, numeric, analytic, ok))
            if not ok and raise_on_fail:
                raise GradCheckError(_explain_failure(f, args, k, us, mode, order, name, numeric,
                                                      analytic, eps, 1j if label else 1.0))
    if order < max_order:
        for mode in modes:
            df = _derivative_function(f, args, us, mode, rng)
            _check(df, args, max_order, order + 1, f"{mode}-over-{path}" if path else mode,
                   modes, eps, rtol, atol, rng, report, raise_on_fail)


def _derivative_function(f, args, us, mode, rng):
    """x -> the first derivative of f at x (as vjp with fixed u, or jvp with fixed v)."""
    if mode == "rev":
        def df(*a):
            y = f(*a)
            _, pull = vjp(f, *a)
            cot = unflatten(flatten(y)[1], us) if len(us) != 1 else us[0]
            return pull(cot)
        return df
    vs = tuple(_random_like(a, rng) for a in args)

    def df(*a):
        return jvp(f, tuple(a), vs)[1]
    return df


def _explain_failure(f, args, k, us, mode, order, name, numeric, analytic, eps, unit=1.0):
    msg = [f"check_grad: {name} derivative (order {order}) with respect to argument {k} "
           f"disagrees with finite differences",
           f"  Expected (central differences): {numeric:.10g}",
           f"  Actual   (chainrule):          {analytic:.10g}"]
    if order == 1 and args[k].size:
        x = args[k]
        _, pull = vjp(f, *args)
        cot = unflatten(flatten(f(*args))[1], us) if len(us) != 1 else us[0]
        g = np.real(np.asarray(_plain(pull(cot)[k])) * unit).reshape(-1)
        worst, worst_err, worst_num = None, -1.0, 0.0
        for j in range(min(x.size, 2000)):
            e = np.zeros(x.size, dtype=x.dtype)
            e[j] = eps * unit
            a_plus, a_minus = list(args), list(args)
            a_plus[k] = x + e.reshape(x.shape)
            a_minus[k] = x - e.reshape(x.shape)
            num = (_inner(us, _out_leaves(f(*a_plus))) - _inner(us, _out_leaves(f(*a_minus)))) / (2 * eps)
            err = abs(num - g[j])
            if err > worst_err:
                worst, worst_err, worst_num = j, err, num
        idx = np.unravel_index(worst, x.shape) if x.ndim else ()
        msg.append(f"  Worst element: argument {k}{list(idx)} = {x.reshape(-1)[worst]:.6g}: "
                   f"finite differences {worst_num:.10g}, reverse mode {g[worst]:.10g}")
    msg.append("  Fix: if this is your own rule (custom_vjp/custom_jvp), check its formula; if the "
               "point is on a kink (|x| at 0, relu at 0, max ties), move it off the kink.")
    return "\n".join(msg)
