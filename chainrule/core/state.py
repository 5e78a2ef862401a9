"""Per-thread switches: whether operations are recorded, which jvp levels are open, who observes.

Like PyTorch's grad mode, this state belongs to the thread that set it: a
``no_grad()`` block or a running ``jvp`` in one thread never changes what
another thread computes.  A new thread starts with recording on, no open
levels, no observers, and anomaly detection as ``CHAINRULE_DETECT_ANOMALY``
says.

Context managers keep what they replaced on a per-thread stack, so each exit
restores exactly the value its own entry found, also when the same
``@no_grad()`` instance is re-entered (recursion) or used by several threads.
"""
import contextlib
import contextvars
import itertools
import os
import threading

Tensor = None          # set by tensor.py (avoids an import cycle in hot paths)

ANOMALY_FROM_ENV = os.environ.get("CHAINRULE_DETECT_ANOMALY", "").strip().lower() not in (
    "", "0", "false", "no", "off")


# Recording is checked on every operation, so it is a context variable (the cheapest per-thread
# read); a new thread starts with a fresh context, so with recording on.
grad_enabled = contextvars.ContextVar("chainrule_grad_enabled", default=True)


class _ThreadState(threading.local):
    def __init__(self):
        self.levels = []          # ids of the jvp calls now running in this thread, outermost first
        self.hooks = []           # backward observers (explain.trace, explain.kinks, anomaly mode)
        self.anomaly = ANOMALY_FROM_ENV
        self.saved = []           # what each open context manager replaced, innermost last
        self.scopes = []          # holds made inside each running transform (core/saved.py)
        self.quiet = 0            # > 0: transforms called by other transforms, which report themselves
        self.vmaps = []           # (level, batch size, private) of the vmap calls running here
        self.inference = False    # inside inference_mode()


local = _ThreadState()
_level_ids = itertools.count(1)   # never reused, so a tangent left over from a finished jvp is inert


class _GradMode(contextlib.ContextDecorator):
    _enabled = None

    def __enter__(self):
        local.saved.append(grad_enabled.set(self._enabled))
        return self

    def __exit__(self, *exc):
        grad_enabled.reset(local.saved.pop())
        return False


class no_grad(_GradMode):
    """Run code without recording it for backward (like ``torch.no_grad``), in this thread."""
    _enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block (this thread only)."""
    _enabled = True


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn recording on or off in this thread, as ``torch.set_grad_enabled``: called as a
    function it takes effect at once; as a ``with`` block (or decorator) it restores on exit
    exactly what it found."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self.prev = grad_enabled.get()
        grad_enabled.set(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        grad_enabled.set(self.prev)
        return False

    def __call__(self, fn):
        grad_enabled.set(self.prev)        # decorating is not calling: undo __init__'s switch
        mode = self.mode

        import functools

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return run


class inference_mode(_GradMode):
    """``torch.inference_mode``: run code without recording anything for derivatives (this
    thread), for evaluation and serving.  ``inference_mode(False)`` leaves recording as it is.
    Usable as ``with``, ``@inference_mode()`` and ``@inference_mode``."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):      # bare @inference_mode
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        local.saved.append((grad_enabled.set(False if self.mode else grad_enabled.get()),
                            local.inference))
        local.inference = self.mode
        return self

    def __exit__(self, *exc):
        token, local.inference = local.saved.pop()
        grad_enabled.reset(token)
        return False


def is_inference_mode_enabled():
    return local.inference


def is_grad_enabled():
    return grad_enabled.get()


def open_levels():
    """The jvp levels running in this thread (the list itself: callers must not modify it)."""
    return local.levels


def new_level_id():
    """A fresh level number (jvp and vmap levels share one counter, so they are ordered)."""
    return next(_level_ids)


def push_level():
    level = next(_level_ids)
    local.levels.append(level)
    return level


def pop_level(level):
    levels = local.levels
    if levels and levels[-1] == level:
        levels.pop()
    else:                       # never leave a level open, even if exits were out of order
        levels.remove(level)
