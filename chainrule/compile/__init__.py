"""``chainrule.compile``: record a function once, replay it as generated NumPy code.

    fast = cr.compile(cr.value_and_grad(loss))     # or @cr.compile
    value, grads = fast(params, X, y)              # first call: traced (an eager run)
    value, grads = fast(params, X2, y2)            # later calls: the generated program
    print(fast.source)                             # the chain rule, one line per derivative
    fast.stats                                     # traces, cache hits, ...

How it works (see docs/compile.md): the function runs once on traced values while a call hook
records every chainrule primitive it calls, including those the backward and forward passes
make from the existing rule tables (trace.py); the record is simplified (graph.py) and written
as one line of NumPy per value (lower.py, with the lowering tables beside the rules in
chainrule/ops, and codegen.py); calls are matched against the traced signature and guards
(function.py).  What a program cannot replay -- Python control flow on a traced value, a
traced value turned into plain NumPy, random numbers drawn without a generator argument,
writes into inputs -- is refused with an error naming the line, or, with
``fallback="eager"``, run eagerly after one warning.

The module itself is callable: ``chainrule.compile(fn, ...)`` is ``compile(fn, ...)`` below.
"""
import sys
import types

from ..core.errors import TraceError, TracedConversionError
from .function import CheckError, Compiled

__all__ = ["compile", "Compiled", "TraceError", "TracedConversionError", "CheckError"]


def compile(fn=None, *, retrace=True, max_traces=8, fallback=None, check=1,  # noqa: A001
            backend="numpy"):
    """Compile ``fn`` (a function built from chainrule operations and transforms).

    retrace: trace again for a new signature (shapes, dtypes, structure, Python values) --
      or, with False, raise.  max_traces: programs kept (least recently used dropped).
    fallback: "eager" runs what cannot be compiled as it is, with one warning; None raises.
    check: run the first ``check`` program calls (1 by default; 0: none) eagerly too, compare,
      and raise at a difference naming the first value that differs -- a safety net for
      values the trace could not see (plain NumPy on np.asarray copies of traced values).
    backend: "numba" fuses runs of elementwise ops into one compiled loop each (needs numba,
      ``pip install "chainrule[fast]"``; fuse.py); "numpy" (the default) needs nothing else.
    Usable as ``@compile`` or ``@compile(check=3)``.
    """
    def wrap(f):
        return Compiled(f, retrace=retrace, max_traces=max_traces, fallback=fallback,
                        check=check, backend=backend)
    return wrap if fn is None else wrap(fn)


class _CallableModule(types.ModuleType):
    def __call__(self, fn=None, **options):
        return compile(fn, **options)


sys.modules[__name__].__class__ = _CallableModule
