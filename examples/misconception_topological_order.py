"""Misconception: "backward is just a depth-first walk from the loss".  It is not.

A node used twice (here s, in L = s·t with t = s + 1) must collect the gradient
of *both* uses before it passes anything on.  A depth-first walk that handles a
node as soon as it reaches it may visit s before t has sent its share, so s
hands on a partial gradient and t's path is lost.  Backpropagation visits the
nodes in reverse topological order (every consumer before what it consumes):
that is what micrograd's ``build_topo`` does and what chainrule does by sorting
on creation numbers.

    python examples/misconception_topological_order.py

A tiny scalar autodiff (micrograd-style) shows both walks; chainrule's gradient
and central finite differences say which one is right.
"""
from __future__ import annotations

import _common
import chainrule as cr

X = 1.5


class Value:
    """A scalar with a gradient and a rule to push it to its inputs (micrograd's shape)."""

    def __init__(self, data, parents=(), name=""):
        self.data, self.grad, self.parents, self.name = data, 0.0, parents, name
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def push():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = push
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def push():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = push
        return out


def build(x):
    """L = s·t with s = 2x and t = s + 1: s feeds L twice (directly and through t)."""
    s = x * 2.0
    s.name = "s"
    t = s + 1.0
    t.name = "t"
    L = s * t
    return L, s, t


def naive_backward(out):
    """Depth-first from the loss, each node handled once, the moment it is first reached.

    Returns {name: the gradient each named node held when it pushed it on}.
    """
    out.grad = 1.0
    pushed = {}
    seen, stack = set(), [out]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if v.name:
            pushed[v.name] = v.grad
        v._backward()                    # pushes whatever gradient v holds *now*
        stack.extend(reversed(v.parents))
    return pushed


def topological_backward(out):
    """Reverse topological order: a node pushes only after all its consumers have."""
    order, seen = [], set()

    def visit(v):                        # tiny graphs only; chainrule's walk is iterative
        if id(v) not in seen:
            seen.add(id(v))
            for p in v.parents:
                visit(p)
            order.append(v)
    visit(out)
    out.grad = 1.0
    for v in reversed(order):
        v._backward()


def main(out="examples-out"):
    r = {}
    _common.heading(f"L = s·t, s = 2x, t = s + 1 at x = {X}: dL/dx = 2(t + s) = 8x + 2")
    x = Value(X, name="x")
    L, s, t = build(x)
    pushed = naive_backward(L)
    r["naive"], r["naive_pushed_s"] = x.grad, pushed["s"]
    print(f"  naive depth-first walk:      dL/dx = {x.grad:g}   (s pushed on {pushed['s']:g}, "
          f"L's direct share only; t's share {s.grad - pushed['s']:g} came too late)")
    x = Value(X, name="x")
    L, s, t = build(x)
    topological_backward(L)
    r["topological"] = x.grad
    print(f"  reverse topological order:   dL/dx = {x.grad:g}   (∂L/∂s = {s.grad:g} = t + s, "
          "both paths)")

    def f(v):
        s_ = v * 2.0
        s_.name = "s"
        return s_ * (s_ + 1.0)
    r["chainrule"] = float(cr.grad(f)(X))
    h = 1e-6
    plain = lambda v: (2.0 * v) * (2.0 * v + 1.0)   # noqa: E731  (the same function on floats)
    r["finite_difference"] = (plain(X + h) - plain(X - h)) / (2 * h)
    r["exact"] = 8 * X + 2
    print(f"  chainrule:                   dL/dx = {r['chainrule']:g}")
    print(f"  central finite difference:   dL/dx = {r['finite_difference']:.6f}")
    _common.heading("chainrule's trace: s waits for both paths")
    tr = cr.trace(f, X, names=["x"])
    print(tr)
    r["paths_at_s"] = tr["s"].paths
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
