"""Process-wide switches: whether operations are recorded, and which jvp levels are open."""
import contextlib

grad_enabled = True
open_levels = []       # ids of the jvp calls now running, outermost first
_last_level = 0        # ids are never reused, so a tangent left over from a finished jvp is inert
Tensor = None          # set by tensor.py (avoids an import cycle in hot paths)


class no_grad(contextlib.ContextDecorator):
    """Run code without recording it for backward (like ``torch.no_grad``)."""

    def __enter__(self):
        global grad_enabled
        self._prev = grad_enabled
        grad_enabled = False
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self._prev
        return False


class enable_grad(no_grad):
    """Turn recording back on inside a ``no_grad`` block."""

    def __enter__(self):
        global grad_enabled
        self._prev = grad_enabled
        grad_enabled = True
        return self


def is_grad_enabled():
    return grad_enabled


def push_level():
    global _last_level
    _last_level += 1
    open_levels.append(_last_level)
    return _last_level


def pop_level():
    open_levels.pop()
