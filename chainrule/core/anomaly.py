"""NaN/Inf anomaly mode: stop at the first non-finite value, and say where it was made.

``with cr.detect_anomaly():`` (or ``CHAINRULE_DETECT_ANOMALY=1``) checks every
Tensor a primitive returns in the forward pass, every forward-mode tangent, and
every gradient the backward pass sends, and raises ``AnomalyError`` at the
first NaN or infinity: it names the operation, the argument, the shapes, and
the line of the user's code that created the node (recorded only in this mode).

Outside it nothing is checked and nothing is recorded: the forward check is a
call hook (core/primitive.py), so ``Primitive.__call__`` is the plain ``apply``
until some thread turns the mode on, and the backward pass tests one flag per call.
"""
from __future__ import annotations

import contextlib
import linecache
import sys
import threading

import numpy as np

from . import state
from .errors import ChainruleError, describe
from .primitive import add_call_hook, remove_call_hook
from .tensor import Tensor

_state = state.local
_users = 0                        # threads (and the environment) that have the mode on
_users_lock = threading.Lock()


class AnomalyError(ChainruleError, FloatingPointError):
    """A NaN or infinity appeared in a forward value, a tangent, or a gradient."""


def _user_site():
    """(code, line) of the innermost frame outside chainrule: cheap to keep for every node."""
    f = sys._getframe(2)
    while f is not None and f.f_globals.get("__name__", "").startswith("chainrule"):
        f = f.f_back
    return None if f is None else (f.f_code, f.f_lineno)


def _where(site):
    """'file:line in function: source' for a site kept by _user_site."""
    if site is None:
        return None
    code, line = site
    text = linecache.getline(code.co_filename, line).strip()
    return f"{code.co_filename}:{line} in {code.co_name}: {text}"


def _bad(x):
    """A description of the non-finite entries of ``x``, or None if all are finite (inside
    vmap: of every example)."""
    from .batching import values
    a = values(x)
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return None
    n_nan, n_inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    parts = [f"{n} {what}" for n, what in ((n_nan, "nan"), (n_inf, "inf")) if n]
    return f"{' and '.join(parts)} in {describe(a)}"


def _shapes(args):
    shown = [describe(a.data if isinstance(a, Tensor) else a) for a in args
             if isinstance(a, (Tensor, np.ndarray))]
    return ", ".join(shown) or "no array arguments"


def _check_call(op, args, kwargs, out):
    """The forward checks: a call hook (core/primitive.py) while some thread has the mode on."""
    if not _state.anomaly or not isinstance(out, Tensor):
        return out
    site = _user_site()
    if out._op is not None:
        out._site = site            # a slot left unset outside anomaly mode
    bad = _bad(out)
    where = "output"
    if bad is None and out._fw:
        for level, tan in out._fw.items():
            bad = _bad(tan)
            if bad is not None:
                where = "forward-mode tangent"
                break
    if bad is not None:
        raise AnomalyError(
            op.name, message=f"produced a non-finite {where} in the forward pass",
            expected="finite values", actual=f"{bad}, from arguments {_shapes(args)}",
            fix=f"created at {_where(site) or 'an unknown place'}; guard the input (e.g. clip it, or "
                "cnp.where(ok, x, 1.0) before the op), or find where it stopped being finite")
    return out


def check_gradient(node, argnum, g):
    """Called by the backward pass in anomaly mode for each gradient it sends."""
    bad = _bad(g)
    if bad is None:
        return
    site = _where(getattr(node, "_site", None))
    raise AnomalyError(
        node._op.name, message=f"the backward pass produced a non-finite gradient for "
                               f"argument {argnum}",
        expected="finite gradients",
        actual=f"{bad} in the gradient {node._op.name} sends back (its output: "
               f"{describe(node.data)}; its arguments: {_shapes(node._raw or ())})",
        fix=f"the node was created at {site or 'an unknown place (before anomaly mode)'}; "
            "its derivative is infinite there (e.g. sqrt or log at 0): shift the input away, or "
            "use the double-where trick (cnp.where on the input as well as the output)")


def _set_users(delta):
    global _users
    with _users_lock:
        _users += delta
        if _users == 1 and delta > 0:
            add_call_hook(_check_call)
        elif _users == 0:
            remove_call_hook(_check_call)


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first NaN/Inf in a forward value, tangent or gradient (this thread)."""

    def __init__(self, enabled=True):
        self.enabled = bool(enabled)

    def __enter__(self):
        s = _state
        s.saved.append(s.anomaly)
        s.anomaly = self.enabled
        if self.enabled:
            _set_users(+1)
        return self

    def __exit__(self, *exc):
        s = _state
        s.anomaly = s.saved.pop()
        if self.enabled:
            _set_users(-1)
        return False


def is_anomaly_enabled():
    return _state.anomaly


if state.ANOMALY_FROM_ENV:
    _set_users(+1)              # for the whole process, every thread
