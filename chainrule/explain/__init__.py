"""Seeing the chain rule: gradient checks, traces, graph pictures, kink reports, Taylor steps,
an interactive page to step through a gradient, and exercises to check gradients worked by hand.

Note: ``trace``, ``graph`` and ``kinks`` here are the functions; their modules
are ``chainrule.explain.trace`` etc. (use ``from chainrule.explain.trace import Trace``).
"""
from .check import check_grad
from .kinks import KinkReport, kinks, kinks_at
from .trace import Trace, trace, tracing
from .graph import Graph, graph
from .taylor import TaylorStep, taylor_step
from .page import explain_html
from .exercise import Exercise, exercise

__all__ = ["check_grad", "trace", "tracing", "graph", "kinks", "kinks_at", "taylor_step",
           "explain_html", "exercise", "Exercise", "Trace", "Graph", "KinkReport", "TaylorStep"]
