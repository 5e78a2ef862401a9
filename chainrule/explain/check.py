"""``check_grad``: compare chainrule's derivatives with central finite differences, in float64.

For a random input direction d and a random output weighting u it compares
  numeric:  (<u, f(x + h·d)> − <u, f(x − h·d)>) / 2h
  reverse:  <vjp(f)(u), d>
  forward:  <u, jvp(f)(x; d)>
one argument at a time.  For ``order=2`` the same check is run on the
derivative functions themselves (reverse-over-reverse, forward-over-reverse,
...), which is what makes higher-order rules trustworthy.

Steps scale with the point: d is a random direction times each element's magnitude
(a power of two, 1 at 0), so x = 1e8 and x = 1e-8 are perturbed alike, relatively; the
entries of d carry 8 significant bits and h is a power of two, so x ± h·d is exactly
representable and the step taken is the step divided by.  The first step is the
cube root of the output dtype's epsilon (2⁻¹⁷ in float64).  When that estimate
disagrees, a ladder of 20 steps (relative 2⁻³ … 2⁻⁴¹) is tried and the estimate with
the smallest error bound is used — the bound being the larger of the spread between
neighbouring steps and the rounding of the function values; where the sequence does not
converge (a kink, a step beyond the function's scale) it gives no estimate at all — so
functions whose scale
of variation differs from |x| (sin at 1e8, x + 1 at 1e-8) are still judged fairly,
while a wrong derivative (off by 1 %, a sign) still fails.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core.pytree import flatten, unflatten
from ..core.tensor import Tensor
from ..core.transforms import jvp, quiet_unused, vjp

LADDER = tuple(2.0 ** -k for k in range(3, 42, 2))   # relative steps, coarse to fine
ROUNDING = 8.0             # ulps of rounding allowed in each function value
SHRINK = 4.0               # converging: each difference this much smaller (h² truncation: 16)
FLOOR = 1e-8               # noise level relative to the coarsest estimates (see _ladder)


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


_TINY = np.finfo(np.float64).tiny


class _Settings:
    def __init__(self, eps, rtol, atol, rng, modes, max_order):
        self.eps, self.rtol, self.atol, self.rng = eps, rtol, atol, rng
        self.modes, self.max_order = modes, max_order

    def agree(self, num, ana, slack):
        # below the smallest normal float64, numbers are rounding noise, not derivatives
        return abs(num - ana) <= self.atol + self.rtol * max(abs(num), abs(ana)) + slack + _TINY


def _f64(x):
    """float64, or complex128 for complex values (checked along real and imaginary directions)."""
    if isinstance(x, Tensor):
        x = x.data
    return np.array(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)


def _plain(v):
    return v.data if isinstance(v, Tensor) else v


def _out_leaves(y):
    return [np.asarray(_plain(v)) for v in flatten(y)[0]]


def _wide(y):
    y = np.asarray(y)
    return y.astype(np.complex128 if y.dtype.kind == "c" else np.float64, copy=False)


def _inner(us, ys):
    """<u, y> = Re Σ u·y: the pairing under which vjp is the transpose of jvp (JAX's)."""
    return float(sum(np.real(np.sum(u * _wide(y))) for u, y in zip(us, ys)))


def _magnitude(us, ys):
    return float(sum(np.sum(np.abs(u) * np.abs(_wide(y))) for u, y in zip(us, ys)))


def _weights(rng, y):
    """A random output weighting u: complex for a complex output."""
    r = rng.standard_normal(y.shape)
    return r + 1j * rng.standard_normal(y.shape) if y.dtype.kind == "c" else r


def _scale(x):
    """Each element's magnitude as a power of two (1 at 0 and at non-finite values)."""
    x = np.abs(x)
    m, e = np.frexp(x)
    return np.where(np.isfinite(x) & (x != 0), np.ldexp(1.0, e - 1), 1.0)


def _direction(rng, x):
    """A random direction in units of each element's magnitude, with 8-bit entries."""
    v = rng.standard_normal(x.shape)
    v = np.sign(v + (v == 0)) * np.clip(np.abs(v), 0.25, 2.0)
    m, e = np.frexp(v)
    return np.ldexp(np.round(np.ldexp(m, 8)), e - 8) * _scale(x)


def _directions(rng, x):
    """(label, unit, d): a real direction, and for a complex argument an imaginary one too."""
    out = [("", 1.0, _direction(rng, x))]
    if np.iscomplexobj(x):
        out.append((" [imag]", 1j, 1j * _direction(rng, x)))
    return out


def _steps(eps, ys):
    """(first relative step, epsilon of the outputs' dtype): eps, or the cube root of that
    epsilon (2⁻¹⁷ in float64, 2⁻⁸ in float32), as a power of two."""
    kinds = [y.dtype for y in ys if y.dtype.kind in "fc"]
    ulp = float(np.finfo(np.result_type(*kinds) if kinds else np.float64).eps)
    h = np.cbrt(ulp) if eps is None else eps
    return float(2.0 ** np.round(np.log2(h))), ulp


class _Line:
    """s -> <u, f(x + s·d)> along one argument, and central differences of it."""

    def __init__(self, f, args, k, d, us, ulp):
        self.f, self.args, self.k, self.d, self.us, self.ulp = f, args, k, d, us, ulp

    def at(self, s):
        a = list(self.args)
        a[self.k] = self.args[self.k] + s * self.d
        ys = _out_leaves(self.f(*a))
        return _inner(self.us, ys), _magnitude(self.us, ys)

    def central(self, h):
        """(estimate, rounding bound) of the derivative at 0 from steps ±h."""
        (p, mp), (m, mm) = self.at(h), self.at(-h)
        return (p - m) / (2 * h), ROUNDING * self.ulp * (mp + mm) / (2 * h)

    def estimate(self, h0, analytic, cfg):
        """(numeric derivative, its error bound, whether ``analytic`` agrees with it)."""
        num, noise = self.central(h0)
        if np.isfinite(num) and cfg.agree(num, analytic, noise):
            return num, noise, True
        with np.errstate(all="ignore"):
            best, bound = _ladder([self.central(h) for h in LADDER])
        if not np.isfinite(bound):
            return num, np.inf, False
        return best, bound, cfg.agree(best, analytic, 2 * bound)


def _ladder(ds):
    """The best (estimate, error bound) from central differences at ever smaller steps.

    An estimate counts where the sequence has settled: its differences from both
    neighbouring steps are at the noise level, or three successive differences shrink by a
    factor 4 or more each (the h² truncation error shrinks by 16 per step).  Diverging or
    erratic sequences (a kink, a step beyond the function's scale of variation) give no
    estimate.  The noise level is the rounding of the function values, but at least 1e-8
    of the coarsest estimates' size: a function computed with cancellation (det of a
    rank-deficient matrix) is noisier than its value suggests.
    """
    coarse = [abs(d) for d, _ in ds[:3] if np.isfinite(d)]
    floor = FLOOR * max(coarse, default=0.0)
    best, bound = np.nan, np.inf
    for i in range(1, len(ds) - 1):
        window = [ds[k][0] for k in range(max(i - 2, 0), i + 2)]
        if not all(np.isfinite(window)):
            continue
        d = ds[i][0]
        left, right = abs(d - ds[i - 1][0]), abs(ds[i + 1][0] - d)
        spread = max(left, right)
        noise = max(ds[i - 1][1], ds[i][1], ds[i + 1][1], floor)
        if spread <= 4 * noise:                              # settled at the noise level
            b = max(spread, noise)
        else:
            before = abs(ds[i - 1][0] - ds[i - 2][0]) if i >= 2 else 0.0
            if not (before >= SHRINK * left and left >= SHRINK * right):
                continue                                     # not (yet) converging here
            b = 2 * spread                                   # the geometric tail, doubled
        if b < bound:
            best, bound = d, b
    return best, bound


def check_grad(f, *args, order=2, modes=("fwd", "rev"), eps=None, rtol=1e-5, atol=0.0,
               seed=0, raise_on_fail=True, warn_on_kink=True):
    """Check first (and higher) derivatives of ``f`` at ``args`` against finite differences.

    ``eps`` is the first finite-difference step relative to each element's magnitude
    (default: the cube root of the output dtype's epsilon); ``rtol`` and ``atol`` bound
    the disagreement beyond the finite differences' own error estimate.  Returns a report
    (truthy when everything agrees); raises ``GradCheckError`` naming the argument and its
    worst element when ``raise_on_fail``.  At a kink (relu or |x| at 0, max ties, ...)
    finite differences cannot judge the chosen subgradient: it warns, and a disagreement
    there marks the report ``inconclusive`` instead of raising.
    """
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grad: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    args = [_f64(a) for a in args]
    cfg = _Settings(eps, rtol, atol, np.random.default_rng(seed), modes, order)
    report = GradCheckReport()
    if warn_on_kink:
        report.kink = _kinks(f, args)
        if report.kink:
            warnings.warn("check_grad: the point sits on a kink (" + report.kink + "); finite "
                          "differences are not meaningful there, so disagreement is expected — "
                          "move the point off the kink to check the rule", stacklevel=2)
    with quiet_unused():     # zero derivatives of derivative functions are ordinary here
        _check(f, args, 1, "", cfg, report, raise_on_fail and not report.kink)
    return report


def _kinks(f, args):
    from .kinks import kinks_at
    return kinks_at(f, args)


def _cotangent(f, args, us):
    return unflatten(flatten(f(*args))[1], us) if len(us) != 1 else us[0]


def _check(f, args, order, path, cfg, report, raise_on_fail):
    y0 = _out_leaves(f(*args))
    h0, ulp = _steps(cfg.eps, y0)
    us = [_weights(cfg.rng, y) for y in y0]
    for k, label, unit, d in [(k,) + t for k, x in enumerate(args) for t in _directions(cfg.rng, x)]:
        line = _Line(f, args, k, d, us, ulp)
        for mode in cfg.modes:
            if mode == "rev":
                g = vjp(f, *args)[1](_cotangent(f, args, us))[k]
                analytic = float(np.real(np.sum(_wide(_plain(g)) * d)))
            else:
                tangents = tuple(d if j == k else np.zeros_like(a) for j, a in enumerate(args))
                analytic = _inner(us, _out_leaves(jvp(f, tuple(args), tangents)[1]))
            numeric, bound, ok = line.estimate(h0, analytic, cfg)
            name = (f"{mode}-over-{path}" if path else mode) + label
            report.rows.append((order, name, k, numeric, analytic, ok))
            if not ok and raise_on_fail:
                raise GradCheckError(_explain_failure(f, args, k, us, ulp, h0, cfg, order, name,
                                                      numeric, analytic, unit))
    if order < cfg.max_order:
        for mode in cfg.modes:
            df = _derivative_function(f, args, us, mode, cfg.rng)
            _check(df, args, order + 1, f"{mode}-over-{path}" if path else mode, cfg, report,
                   raise_on_fail)


def _derivative_function(f, args, us, mode, rng):
    """x -> the first derivative of f at x (as vjp with fixed u, or jvp with fixed d)."""
    if mode == "rev":
        def df(*a):
            return vjp(f, *a)[1](_cotangent(f, a, us))
        return df
    ds = tuple(_direction(rng, a) + (1j * _direction(rng, a) if np.iscomplexobj(a) else 0)
               for a in args)

    def df(*a):
        return jvp(f, tuple(a), ds)[1]
    return df


def element_name(index, shape):
    """'element [1, 2]' for index (1, 2) of a 2-D argument; '' for a scalar."""
    return f"element [{', '.join(str(int(i)) for i in index)}]" if len(shape) else "the scalar"


def _explain_failure(f, args, k, us, ulp, h0, cfg, order, name, numeric, analytic, unit=1.0):
    msg = [f"check_grad: {name} derivative (order {order}) with respect to argument {k} "
           f"disagrees with finite differences",
           f"  Expected (central differences): {numeric:.10g}",
           f"  Actual   (chainrule):          {analytic:.10g}"]
    x = args[k]
    if order == 1 and x.size:
        g = np.real(_wide(_plain(vjp(f, *args)[1](_cotangent(f, args, us))[k])) * unit
                    ).reshape(-1)
        scale = _scale(x).reshape(-1)
        worst, worst_err, worst_num = 0, -1.0, 0.0
        for j in range(min(x.size, 2000)):       # one element at a time, first step only
            e = np.zeros(x.size, dtype=x.dtype)
            e[j] = scale[j] * unit
            num, noise = _Line(f, args, k, e.reshape(x.shape), us, ulp).central(h0)
            err = abs(num - g[j] * scale[j]) / (noise + cfg.rtol * max(abs(num), 1e-300))
            if err > worst_err:
                worst, worst_err, worst_num = j, err, num / scale[j]
        idx = np.unravel_index(worst, x.shape) if x.ndim else ()
        msg.append(f"  Worst element: argument {k}, {element_name(idx, x.shape)} = "
                   f"{x.reshape(-1)[worst]:.6g}: finite differences {worst_num:.10g}, "
                   f"reverse mode {g[worst]:.10g}")
    msg.append("  Fix: if this is your own rule (custom_vjp/custom_jvp), check its formula; if the "
               "point is on a kink (|x| at 0, relu at 0, max ties), move it off the kink.")
    return "\n".join(msg)
