"""Local derivatives written with the inputs' own names, never the op's argument names.

A rule's text uses the op's parameter names: multiply's derivative with respect to its
first argument is ``y``.  Printed beside a user's variables those names mislead: for
``w*x`` the row for the user's ``x`` (the op's ``y``) would read ``x = 2`` although 2 is
``w``.  So a formula is shown with every argument replaced by the label of the input
actually passed (∂(w·x)/∂w = x, ∂(w·x)/∂x = w), a constant by its value, the arriving
gradient ``g`` by ∂L/∂node, a softmax's ``p`` by the node itself and a mean's ``n`` by
the count it stands for.  What is left are the op's own words ("1/k on the k maxima").
"""
from __future__ import annotations

import re

import numpy as np

# names the op's formulas give its arguments, by position
ROLES = {"clip": ("x", "lo", "hi"), "where": ("cond", "x", "y"), "matmul": ("A", "B"),
         "dot": ("A", "B"), "softmax_cross_entropy": ("z", "t")}
_COUNTED = ("mean", "var", "std")        # ops whose formula's n is a count of elements
_NODE_SYMBOL = {"softmax": "p"}          # the op's name for its own output
_SHORT = 12                              # longest constant written out inside a formula
_PLAIN = re.compile(r"[\w.]+")           # labels that need no parentheses: w1, ŷ, 0.weight, 2.5


def roles(op, elementwise, single_input):
    """The op's names for its arguments: from the table, x/y for elementwise ops, x alone
    for reductions and activations (``single_input``), else none."""
    if op.name in ROLES:
        return ROLES[op.name]
    if elementwise:
        return ("x", "y")
    return ("x",) if single_input else ()


def _token(sym):
    # a symbol stands alone: not part of a longer ASCII name (x in exp(x), not in "max")
    return rf"(?<![A-Za-z0-9_]){re.escape(sym)}(?![A-Za-z0-9_])"


def _wrap(text):
    if text.startswith(("[", "∂")) or (_PLAIN.fullmatch(text) and not text.startswith("-")):
        return text
    return f"({text})"


def render(formula, row, inp, show):
    """``formula`` (the op's text for ``inp``) with the op's symbols replaced as above.

    ``show`` formats a kept value; ``row`` is the trace Row the input belongs to.
    """
    if not formula:
        return ""
    names = {}
    for other in row.inputs:
        if not other.role or other.argnum is None:
            continue
        if other.node is not None:
            names[other.role] = other.label
        else:
            v = show(other.value)
            names[other.role] = v if v and len(v) <= _SHORT else "const"
    names["g"] = f"∂L/∂{row.label}"
    if row.op in _NODE_SYMBOL:
        names[_NODE_SYMBOL[row.op]] = row.label
    if row.op in _COUNTED and inp.shape is not None:
        n = int(np.prod(inp.shape)) // max(int(np.prod(row.shape)), 1)
        names["n"] = str(n)
    names = {k: v for k, v in names.items() if k != v}
    if not names:
        return formula
    pattern = re.compile("|".join(_token(s) for s in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: _wrap(names[m.group(0)]), formula)


# ------------------------------------------------------------------ gate patterns
# How an op hands the arriving gradient to its inputs (the "gates" of backprop lore).
_DISTRIBUTES = ("add", "sum", "positive", "identity", "reshape", "broadcast_to", "astype")
_ROUTES = ("maximum", "minimum", "fmax", "fmin", "max", "min", "amax", "amin")
_GATES = ("relu", "relu6", "clip", "hardtanh")


def gate(row, inp):
    """A short name for what an edge does in the backward pass, '' when no pattern applies.

    add distributes (every input gets the arriving gradient), multiply swaps (each
    input gets it times the *other* input), max routes (all of it goes to the winner),
    relu gates (it passes where the input was positive, else is blocked).
    """
    op = row.op
    if op in _DISTRIBUTES:
        return "distributes"
    if op == "subtract":
        return "distributes" if inp.argnum == 0 else "distributes (negated)"
    if op == "mean":
        return "distributes ÷n"
    if op == "multiply":
        return "swaps"
    if op in _ROUTES:
        return "routes" + _share(inp.local, "won", "lost")
    if op in _GATES:
        return "gates" + _share(inp.local, "open", "closed")
    return ""


def _share(local, yes, no):
    """' (open)', ' (closed)', ' (2 of 3 open)', or ' (tie)' from the local derivative's values."""
    if local is None or not isinstance(local, np.ndarray):
        return ""
    a = np.asarray(local, dtype=float)
    if a.size == 0:
        return ""
    on = int(np.count_nonzero(a == 1))
    off = int(np.count_nonzero(a == 0))
    if on == a.size:
        return f" ({yes})"
    if off == a.size:
        return f" ({no})"
    if on + off < a.size:
        return " (tie: shared)" if a.size == 1 else f" ({on} of {a.size} {yes}, ties shared)"
    return f" ({on} of {a.size} {yes})"
