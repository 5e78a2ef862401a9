"""Exercises: work a backward pass by hand, and let chainrule mark every gradient.

Write the forward pass as an ordinary function and name the intermediates you
want to be asked about (``h.name = "h"``); the arguments are asked about too.
No ``retain_grad`` calls: the trace records every gradient anyway.

    ex = cr.exercise(f, w, b, names=["w", "b"])
    print(ex)                                  # the task: forward values, what to compute
    report = ex.check({"h": ..., "w": ...})    # or a function of the forward values
    print(report)                              # exact / close / wrong / wrong shape per node

For the first wrong gradient (closest to the output, where mistakes start) the
report shows the rule that makes it: each op that used the node, its local
derivative (formula and value) and the upstream gradient that had to be multiplied.
``cr.exercise("chain")`` loads one of the shipped exercises (``exercises.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from .trace import args_text, local_text, show, trace

EXACT = 1e-9       # relative to max(1, |gradient|): rounding of a different summation order
STATUSES = ("exact", "close", "wrong", "wrong shape", "missing")
SHOW = 24          # arrays up to this size are printed whole in tasks and hints


def _broadcast(small, big):
    """Whether an input of shape ``small`` was stretched to the output's shape ``big``."""
    small, big = tuple(small), tuple(big)
    try:
        return small != big and np.broadcast_shapes(small, big) == big
    except ValueError:
        return False


@dataclass
class Result:
    """How one answer compares with the true ∂L/∂node."""
    name: str
    status: str                  # one of STATUSES
    shape: tuple                 # the node's shape
    given_shape: tuple | None = None
    max_diff: float | None = None

    def line(self):
        if self.status == "wrong shape":
            return f"wrong shape: expected {self.shape}, got {self.given_shape}"
        if self.status == "missing":
            return "missing (no answer given)"
        if self.status == "exact":
            return "exact" if not self.max_diff else f"exact (max difference {self.max_diff:.2g})"
        return f"{self.status} (max difference {self.max_diff:.3g})"


class Report:
    """The marks of one attempt: ``results`` by node, ``passed``, the ``hint`` for the first miss."""

    def __init__(self, exercise, results, hint, first_wrong):
        self.exercise, self.results = exercise, results
        self.hint, self.first_wrong = hint, first_wrong

    @property
    def passed(self):
        return all(r.status in ("exact", "close") for r in self.results.values())

    def counts(self):
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results.values():
            out[r.status] += 1
        return out

    def __str__(self):
        c = self.counts()
        right = c["exact"] + c["close"]
        head = f"{right} of {len(self.results)} gradients right ({c['exact']} exact, " \
               f"{c['close']} close)"
        width = max([len(n) for n in self.results] + [4])
        lines = [head] + [f"  ∂L/∂{n.ljust(width)}  {r.line()}" for n, r in self.results.items()]
        if self.hint:
            lines += ["", self.hint]
        elif self.passed:
            lines += ["", "all right: that is the backward pass, done by hand"]
        return "\n".join(lines)

    def __repr__(self):
        return f"<exercise Report: {self.counts()}>"


class Exercise:
    """A function, its arguments and the named nodes whose gradients the learner supplies."""

    def __init__(self, f, args, names=None, model=None, title="", text="", solution=None,
                 rtol=1e-3, atol=1e-8):
        self.title, self.text = title, text
        self.rtol, self.atol = rtol, atol
        self._worked = solution
        self.trace = trace(f, *args, names=names, model=model, keep_arrays=True)
        rows = [r for r in self.trace.rows if r.backward_pass == 0]
        self._rows = rows
        self.output = rows[0].label
        by_label = {}
        for r in rows:
            if r.kind in ("op", "leaf") and r.label not in by_label:
                by_label[r.label] = r
        # asked: named intermediates (backward order: nearest the output first), then arguments
        self._asked = {r.label: r for r in rows if r.kind == "op" and r.named
                       and r.label != self.output}
        self._asked.update((r.label, r) for r in rows if r.kind == "leaf" and r.named)
        if not self._asked:
            raise ChainruleError("exercise", message="there is nothing to ask about",
                                 expected="named intermediates (h.name = 'h') or arguments",
                                 actual="no named node", fix="name the nodes to work out by hand")
        self.values = {label: np.array(r.value) for label, r in by_label.items()
                       if r.named or label == self.output}
        self.values[self.output] = np.array(rows[0].value)

    @property
    def asked(self):
        """{name: shape} of the gradients to supply, nearest the output first."""
        return {n: tuple(r.shape) for n, r in self._asked.items()}

    def answer(self):
        """chainrule's gradients for the asked nodes (what a right answer equals)."""
        return {n: np.array(r.upstream, copy=True) for n, r in self._asked.items()}

    def solution(self):
        """The worked solution: the hand-derived formulas of a shipped exercise (computed from
        the forward values), else chainrule's own gradients."""
        if self._worked is None:
            return self.answer()
        return {n: np.asarray(v, dtype=float) for n, v in self._worked(self.values).items()}

    def check(self, answers):
        """Mark ``answers`` ({name: gradient}, or a function of ``values`` returning one)."""
        if callable(answers):
            answers = answers({k: v.copy() for k, v in self.values.items()})
        if not isinstance(answers, dict):
            raise ChainruleError("exercise.check", expected="a dict {node name: gradient}",
                                 actual=type(answers).__name__,
                                 fix="pass e.g. {'w1': 1.632} (names: "
                                     + ", ".join(self._asked) + ")")
        unknown = [k for k in answers if k not in self._asked]
        if unknown:
            raise ChainruleError("exercise.check", message=f"no node named {unknown[0]!r}",
                                 expected="one of " + ", ".join(self._asked),
                                 actual=", ".join(map(repr, unknown)),
                                 fix="answer with the names the exercise asks for")
        results = {n: self._mark(n, answers[n]) if n in answers else
                   Result(n, "missing", tuple(self._asked[n].shape))
                   for n in self._asked}
        first = next((n for n, r in results.items() if r.status in ("wrong", "wrong shape")),
                     None)
        return Report(self, results, self._hint(first, results) if first else "", first)

    def _mark(self, name, given):
        row = self._asked[name]
        shape = tuple(row.shape)
        try:
            a = np.asarray(given.data if isinstance(given, Tensor) else given, dtype=float)
        except (TypeError, ValueError):
            return Result(name, "wrong", shape, None, float("inf"))
        if a.shape != shape:
            return Result(name, "wrong shape", shape, a.shape)
        true = np.asarray(row.upstream, dtype=float)
        if not np.all(np.isfinite(a)):
            return Result(name, "wrong", shape, a.shape, float("inf"))
        diff = float(np.max(np.abs(a - true))) if a.size else 0.0
        scale = max(1.0, float(np.max(np.abs(true)))) if true.size else 1.0
        if diff <= EXACT * scale:
            status = "exact"
        elif np.allclose(a, true, rtol=self.rtol, atol=self.atol):
            status = "close"
        else:
            status = "wrong"
        return Result(name, status, shape, a.shape, diff)

    def _hint(self, name, results):
        """The rule for ∂L/∂name: every use of the node, its local derivative and upstream."""
        row = self._asked[name]
        m = SHOW
        uses = [(r, inp) for r in self._rows if r.kind == "op"
                for inp in r.inputs if inp.node == row.node]
        lines = [f"first wrong: ∂L/∂{name}.  {name} is used by {len(uses)} "
                 f"op{'s' if len(uses) != 1 else ''}, so"]
        terms = " + ".join(f"∂L/∂{r.label} · ∂{r.label}/∂{name}" for r, _ in uses)
        lines.append(f"  ∂L/∂{name} = {terms}" + ("   (add the paths)" if len(uses) > 1 else ""))
        for r, inp in uses:
            lines.append(f"  {r.label} = {r.op}({args_text(r, m)}): local derivative ∂{r.label}/∂{name} = "
                         f"{local_text(r, inp, m) or 'see the op rule'}")
            mark = results.get(r.label)
            known = f" (you had it {mark.status})" if mark and mark.status != "missing" else ""
            needed = "1 (the seed)" if r.label == self.output else show(r.upstream, m)
            lines.append(f"    the upstream gradient it needed: ∂L/∂{r.label} = {needed}{known}")
        if any(_broadcast(inp.shape, r.shape) for r, inp in uses):
            lines.append(f"  {name} was broadcast: sum the products over the broadcast axes")
        return "\n".join(lines)

    def __str__(self):
        lines = [self.title] if self.title else []
        if self.text:
            lines += ["  " + t for t in self.text.strip().splitlines()]
        lines.append("forward pass:")
        lines += [f"  {n} = {show(v, SHOW)}" for n, v in self.values.items()]
        lines.append(f"work out by hand, from the output back (∂{self.output}/∂node):")
        width = max(len(n) for n in self._asked)
        lines += [f"  ∂{self.output}/∂{n.ljust(width)}  shape {s}" for n, s in self.asked.items()]
        return "\n".join(lines)

    def __repr__(self):
        return f"<Exercise {self.title or ''} asking {list(self._asked)}>"


def exercise(f, *args, names=None, model=None, answers=None, rtol=1e-3, atol=1e-8):
    """An Exercise on ``f(*args)`` (or the shipped exercise called ``f``, a string).

    The named intermediates of ``f`` and its arguments are asked about.  With
    ``answers`` the answers are marked at once and the Report is returned.
    """
    if isinstance(f, str):
        from .exercises import load
        ex = load(f, rtol=rtol, atol=atol)
    else:
        ex = Exercise(f, args, names=names, model=model, rtol=rtol, atol=atol)
    return ex.check(answers) if answers is not None else ex
