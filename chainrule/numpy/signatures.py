"""NumPy's keyword spellings on chainrule's primitives.

Every function of ``chainrule.numpy`` accepts the parameter names that NumPy's function of
the same name accepts (``np.dot(a=x, b=y)``, ``np.sum(a=x, initial=1.0)``, ``np.exp(x,
dtype=np.float32)``).  Two things need help from the engine, through a primitive's
``bind`` hook (called only when there are keyword arguments):

* arrays passed by keyword are moved to their positions before dispatch, so that Tensors
  among them are recorded (the required positional parameters of NumPy's signature);
* ufunc keywords: ``dtype``, ``casting``, ``order``, ``subok`` and ``signature`` reach NumPy
  unchanged; ``out=`` (writes into a caller's array), ``where=`` (without ``out=`` it leaves
  entries unset) and gufunc axes cannot be recorded on Tensors and raise a clear error.
"""
import inspect

import numpy as np

from ..core.errors import ChainruleTypeError
from ..core.primitive import Primitive
from ..core.tensor import Tensor

UFUNC_KEYWORDS = frozenset({"dtype", "casting", "order", "subok", "signature"})


def required_positional(np_fn):
    """The leading required parameters of ``np_fn`` that may be passed by keyword."""
    try:
        params = inspect.signature(np_fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    names = []
    for p in params:   # (a trailing None marks a positional-only parameter)
        if p.kind is p.POSITIONAL_ONLY:
            names.append(None)              # holds a position, cannot come as a keyword
        elif p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty:
            names.append(p.name)
        else:
            break
    return tuple(names)


def _refuse(name, what):
    raise ChainruleTypeError(
        f"np.{name}", message=f"{what} cannot be recorded for gradients",
        expected="out=None and where=True (dtype=, casting=, order= are fine)", actual=what,
        fix=f"assign the result instead (y = cnp.{name}(...)) and select with "
            "cnp.where(mask, y, other)")


def binder(name, names):
    """Arrays given by keyword move to their positions; out=None is dropped, and another
    out= is refused when Tensors are involved (it would write into a caller's array)."""
    def bind(args, kwargs):
        if "out" in kwargs:
            if kwargs["out"] is not None and (
                    any(isinstance(a, Tensor) for a in args) or
                    any(isinstance(v, Tensor) for v in kwargs.values())):
                _refuse(name, "out=an array")
            if kwargs["out"] is None:
                del kwargs["out"]
        if len(args) >= len(names) or names[len(args)] not in kwargs:
            return args, kwargs
        args = list(args)
        for key in names[len(args):]:
            if key not in kwargs:
                break
            args.append(kwargs.pop(key))
        return tuple(args), kwargs
    return bind


def ufunc_binder(name):
    def bind(args, kwargs):
        if any(isinstance(a, Tensor) for a in args):
            bad = [k for k, v in kwargs.items() if k not in UFUNC_KEYWORDS and not
                   (k == "out" and v is None or k == "where" and v is True)]
            if bad:
                _refuse(name, ", ".join(f"{k}={type(kwargs[k]).__name__}" for k in bad))
        return args, kwargs
    return bind


def install(pairs):
    """Give every primitive of each (numpy module, chainrule module) pair NumPy's spellings
    (the first pair naming a primitive wins: np.outer, not np.linalg.outer)."""
    for space, mine in pairs:
        for name, fn in vars(mine).items():
            if name.startswith("_") or not isinstance(fn, Primitive) or fn.bind is not None:
                continue
            ref = getattr(space, name, None)
            if isinstance(ref, np.ufunc):
                fn.bind = ufunc_binder(name)
            elif callable(ref):
                fn.bind = binder(name, required_positional(ref))
