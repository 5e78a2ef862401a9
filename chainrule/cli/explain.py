"""``chainrule explain | check | surface "EXPR" --at ...``: see, verify and picture a gradient.

All three reuse the safe expression parser (``expr.py``) and ``grad.prepare``:
an expression is checked against the whitelist before anything is computed,
so a hostile expression is refused, never evaluated.
"""
from __future__ import annotations

import os
import re
import warnings

import numpy as np

from ..core.errors import ChainruleError
from . import expr as E
from .grad import add_point_arguments, fmt, gradient, prepare
from .main import CommandError
from .outputs import check_output, write_file

ORDER = 11
MAX_STEPS = 1000
PICTURES = ("png", "svg", "pdf")


class _Fail(E.ExprError):
    """A user-facing failure; main prints it on one line and exits with status 2."""


def register(sub):
    p = sub.add_parser("explain", help="the chain-rule trace of a gradient, step by step",
                       description="Print every backward step (local derivative × upstream "
                                   "gradient) and report non-differentiable points. Example: "
                                   "chainrule explain \"relu(x)*y + abs(x)\" --at x=0,y=2")
    add_point_arguments(p, wrt="differentiate only with respect to these")
    p.add_argument("--graph", metavar="FILE", help="also draw the graph: FILE.svg or FILE.dot "
                   "(always work) or FILE.png/.pdf (need Graphviz's dot)")
    p.add_argument("--html", metavar="FILE", help="also write FILE.html: one self-contained page "
                   "that steps through the forward and backward pass (opens offline)")
    p.add_argument("--force", action="store_true", help="replace --graph's and --html's files "
                   "if they exist")
    p.set_defaults(func=_guarded(run_explain))

    p = sub.add_parser("check", help="check the gradient against finite differences",
                       description="Compare reverse and forward mode, first and second order, "
                                   "with central differences. Exit status 1 if they disagree. "
                                   "Example: chainrule check \"sin(x)*y**2\" --at x=0.3,y=2")
    add_point_arguments(p, wrt="check only these variables")
    p.add_argument("--order", type=int, default=2, choices=(1, 2, 3),
                   help="highest derivative order to check (default 2)")
    p.set_defaults(func=_guarded(run_check))

    p = sub.add_parser("surface", help="draw the loss over two variables with a descent path",
                       description="Contour (or 3-D) plot of the expression over two variables, "
                                   "the others held fixed, with gradient-descent steps and −∇ "
                                   "arrows. Example: chainrule surface \"(a-1)**2 + 4*(b+2)**2\" "
                                   "--at a=-2,b=1 --vary a,b --out surface.png")
    add_point_arguments(p)
    p.add_argument("--vary", metavar="A,B", help="the two variables to draw (w[0],w[1] picks "
                   "entries of a vector); default: the first two scalar variables")
    p.add_argument("--out", required=True, metavar="FILE", help="picture to write: .png/.svg/.pdf")
    p.add_argument("--steps", type=int, default=20, help="gradient-descent steps (default 20)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate η (default 0.1)")
    p.add_argument("--kind", choices=("contour", "3d"), default="contour")
    p.add_argument("--span", type=float, help="half-width of the window (default: fit the path)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=_guarded(run_surface))


def _guarded(fn):
    """Turn any failure caused by the input into main's one-line error (exit 2)."""
    def run(args):
        try:
            with np.errstate(all="ignore"):        # non-finite results are reported, not warned
                return fn(args)
        except E.ExprError:
            raise
        except ChainruleError as e:
            raise _Fail(_one_line(e)) from None
        except ImportError as e:
            raise _Fail(str(e).splitlines()[0]) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError, OSError,
                RecursionError, MemoryError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise _Fail(f"{type(e).__name__}: {first}" if first else type(e).__name__) from None
    run.__name__ = fn.__name__
    return run


def _one_line(e):
    return " ".join(part.strip() for part in str(e).splitlines() if part.strip())


def _prepare(args):
    """grad.prepare, plus: at least one variable, and only finite values."""
    tree, values, wrt = prepare(args)
    if not wrt:
        raise _Fail("the expression has no variables to differentiate; use a name like x and "
                    "give its value with --at x=1")
    for name, v in values.items():
        if not np.all(np.isfinite(v)):
            raise _Fail(f"the value of {name} is not a finite number")
    return tree, values, wrt


def _function(args):
    """(f(*values) -> scalar, names, values) for the expression, refusing constant ones."""
    tree, values, wrt = _prepare(args)
    gradient(tree, values, wrt)     # scalar check, and errors from the forward pass, first

    def f(*xs):
        env = dict(values)
        env.update(zip(wrt, xs))
        return E.evaluate(tree, env)
    return f, wrt, [values[w] for w in wrt]


# ------------------------------------------------------------------ explain
def run_explain(args):
    from ..explain import graph as graph_of, trace
    f, wrt, xs = _function(args)
    if args.graph:
        _check_output(args.graph, ("dot", "svg", "png", "pdf"), args.force, "--graph")
        if args.graph.lower().endswith((".png", ".pdf")):      # the DOT text is written beside
            _check_output(os.path.splitext(args.graph)[0] + ".dot", ("dot",), args.force,
                          "--graph (its DOT text is written beside it)")
    if args.html:
        _check_output(args.html, ("html", "htm"), args.force, "--html")
    t = trace(f, *xs, names=wrt)
    text = t.to_text()
    print(f"f = {fmt(t.value)}")
    print(text)
    print("gradient: " + ", ".join(f"∂f/∂{w} = {fmt(g)}" for w, g in zip(wrt, t.grads)))
    kinks = str(t.kinks).strip()
    if kinks not in text:           # the trace already lists kinks when there are some
        print(kinks)
    if args.graph:
        dot = os.path.splitext(args.graph)[0] + ".dot"
        try:
            written = graph_of(t).save(args.graph)
        except ChainruleError as e:
            raise _Fail(f"could not draw {args.graph}: {_one_line(e)} (the DOT text is in {dot})") \
                from None
        extra = os.path.exists(dot) and str(written) != dot and not written.suffix == ".svg"
        print(f"wrote {written}" + (f" and {dot}" if extra else ""))
    if args.html:
        from ..explain.page import explain_html
        explain_html(t, path=args.html, title=f"{args.expression}  at {args.at}")
        print(f"wrote {args.html} (open it in a browser: it is self-contained and works offline)")
    return 0


# -------------------------------------------------------------------- check
def run_check(args):
    from ..explain.check import check_grad
    f, wrt, xs = _function(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = check_grad(f, *xs, order=args.order, modes=("fwd", "rev"), raise_on_fail=False)
    print("arguments: " + ", ".join(f"{i} = {w}" for i, w in enumerate(wrt)))
    print(report)
    for note in dict.fromkeys(str(w.message).splitlines()[0] for w in caught):
        if not (report.kink and "kink" in note):      # (the report says so already)
            print(f"note: {note}")
    if report.passed:
        orders = "order 1" if args.order == 1 else f"orders 1..{args.order}"
        print(f"ok: {len(report.rows)} checks agree with finite differences ({orders}, "
              "forward and reverse mode)")
        return 0
    bad = sum(1 for r in report.rows if not r[-1])
    if report.inconclusive:
        print(f"inconclusive: {bad} of {len(report.rows)} checks disagree, as expected at a kink "
              f"({report.kink}); move the point off the kink to check the rule")
        return 0
    print(f"FAILED: {bad} of {len(report.rows)} checks disagree with finite differences")
    return 1


# ------------------------------------------------------------------ surface
def _check_output(path, allowed, force, flag="--out"):
    ext = path.rsplit(".", 1)[-1].lower() if "." in os.path.basename(path) else ""
    if ext not in allowed:
        raise _Fail(f"cannot write {path!r}: the name must end in ." + ", .".join(allowed))
    try:
        check_output(path, force, flag=flag)
    except CommandError as e:
        raise _Fail(str(e)) from None


def _vary(text, values, wrt):
    if text is None:
        scalars = [w for w in wrt if np.ndim(values[w]) == 0]
        if len(scalars) < 2:
            raise _Fail("say which two variables to draw with --vary a,b "
                        "(w[0],w[1] for entries of a vector)")
        return scalars[:2]
    items = [E.user_name(v) for v in text.split(",")]
    if len(items) != 2:
        raise _Fail(f"--vary needs exactly two variables, got {len(items)}: {text!r}")
    for v in items:
        m = re.fullmatch(r"([A-Za-z]\w*)(?:\[(\d{1,9})\])?", v)
        if not m:
            raise _Fail(f"--vary: {v!r} is not a variable name or name[i]")
        if m.group(1) not in wrt:
            raise _Fail(f"--vary: {m.group(1)!r} is not a variable of the expression "
                        f"({', '.join(wrt)})")
    return items


def run_surface(args):
    from ..explain.plots import descent_path, error_surface
    tree, values, wrt = _prepare(args)
    gradient(tree, values, wrt)
    _check_output(args.out, PICTURES, args.force)
    if not 0 <= args.steps <= MAX_STEPS:
        raise _Fail(f"--steps must be between 0 and {MAX_STEPS}")
    if not (np.isfinite(args.lr) and args.lr > 0):
        raise _Fail("--lr must be a positive number")
    if args.span is not None and not (np.isfinite(args.span) and args.span > 0):
        raise _Fail("--span must be a positive number")
    vary = _vary(args.vary, values, wrt)
    params = {w: values[w] for w in wrt}
    fixed = {k: v for k, v in values.items() if k not in params}

    def loss(p):
        env = dict(fixed)
        env.update(p)
        return E.evaluate(tree, env)

    run = descent_path(loss, params, vary, steps=args.steps, lr=args.lr)
    fig = error_surface(loss, params, vary, kind=args.kind, steps=args.steps, lr=args.lr,
                        span=args.span)
    write_file(args.out, lambda f: fig.savefig(f, format=args.out.rsplit(".", 1)[-1].lower(),
                                               dpi=120, bbox_inches="tight"))
    a, b = run["labels"]
    pts, losses, grads = run["points"], run["losses"], run["grads"]
    print(f"start: {a}={fmt(pts[0, 0])}, {b}={fmt(pts[0, 1])}, loss {fmt(losses[0])}, "
          f"gradient ({fmt(grads[0, 0])}, {fmt(grads[0, 1])})")
    print(f"step 1: ({a}, {b}) ← ({a}, {b}) − {args.lr:g}·∇ = "
          f"({fmt(pts[min(1, len(pts) - 1), 0])}, {fmt(pts[min(1, len(pts) - 1), 1])})")
    print(f"after {len(pts) - 1} steps: {a}={fmt(pts[-1, 0])}, {b}={fmt(pts[-1, 1])}, "
          f"loss {fmt(losses[-1])}")
    if run["diverged"]:
        print(f"note: the loss stopped being finite after {len(pts) - 1} steps; try a smaller --lr")
    elif len(losses) > 1 and losses[-1] > losses[0]:
        print("note: the loss went up; the learning rate is probably too large")
    print(f"wrote {args.out}")
    return 0
