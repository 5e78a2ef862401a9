"""NumPy's own functions on Tensors: ``np.exp(t)``, ``np.sum(t)``, ``ndarray * t``.

NumPy hands calls involving a Tensor to ``Tensor.__array_ufunc__`` and
``Tensor.__array_function__``; these route them to chainrule's function of
the same name.  A NumPy function chainrule has no rule for runs on the plain
values when no argument needs a gradient (nothing can be lost), and raises a
clear error when one does: a derivative never stops silently.
"""
import numpy as np

from ..core import batching
from ..core.errors import ChainruleTypeError, TensorConversionError
from ..core.tensor import Tensor, needs_grad_now

UFUNCS = {}
HANDLED_FUNCTIONS = {}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


def _namespace():
    from .. import numpy as cnp
    return cnp


def build():
    """Map NumPy's functions to chainrule's of the same name (only names chainrule defines).

    Called once when chainrule.numpy is imported, so threads never see a half-built table.
    """
    cnp = _namespace()
    for space, mine in ((np, cnp), (np.linalg, cnp.linalg), (np.fft, cnp.fft)):
        for name, fn in vars(mine).items():
            if name.startswith("_") or not callable(fn):
                continue
            obj = getattr(space, name, None)
            if isinstance(obj, np.ufunc):
                UFUNCS[obj] = fn
            elif callable(obj):
                HANDLED_FUNCTIONS.setdefault(obj, fn)


# ----------------------------------------------------------------- helpers
def _plain(x):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _active(x):
    """Whether ``x`` holds (at any depth of lists, tuples, dicts) a Tensor that needs a gradient."""
    if isinstance(x, Tensor):
        return needs_grad_now(x)
    if isinstance(x, (list, tuple)):
        return any(_active(v) for v in x)
    if isinstance(x, dict):
        return any(_active(v) for v in x.values())
    return False


def _has_tensor(x):
    if isinstance(x, Tensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_tensor(v) for v in x)
    return False


def _keyword_tensors(name, kwargs):
    """Tensors passed only by keyword: constants are unwrapped; one that needs a gradient is
    refused (chainrule records positional arguments), instead of NumPy calling back forever."""
    for k, v in kwargs.items():
        if _active(v):
            raise TensorConversionError(
                name, message=f"a Tensor that needs gradients was passed as the keyword "
                              f"argument {k}=",
                expected="Tensors that need gradients as positional arguments",
                actual=f"{k}=<Tensor>", fix=f"pass it positionally, or use the chainrule.numpy "
                                            f"function; pass {k}=t.detach() for a constant")
    return {k: _plain(v) for k, v in kwargs.items()}


def _not_differentiable(name):
    return ChainruleTypeError(
        name, message="has no gradient rule in chainrule (yet)",
        expected="plain arrays or Tensors that need no gradient",
        actual="a Tensor that requires grad (or carries a forward-mode tangent)",
        fix="use the chainrule.numpy function of the same name if there is one, or pass "
            "t.detach() (or t.data) to use the values as constants")


# ------------------------------------------------------------------ ufuncs
def array_ufunc(ufunc, method, inputs, kwargs):
    name = f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method}"
    if kwargs.get("out") is not None:
        raise ChainruleTypeError(
            name, message="out= cannot write into a Tensor or record in place",
            fix="assign the result instead: y = np.%s(...)" % ufunc.__name__)
    if not any(isinstance(a, Tensor) for a in inputs):      # a Tensor only in where= etc.
        return getattr(ufunc, method)(*inputs, **_keyword_tensors(name, kwargs))
    if method == "__call__":
        op = UFUNCS.get(ufunc)
        if op is not None:
            return op(*inputs, **kwargs)
    elif method == "reduce" and ufunc.__name__ in _REDUCE:
        kwargs.setdefault("axis", 0)            # ufunc.reduce's default, unlike np.sum's
        return getattr(_namespace(), _REDUCE[ufunc.__name__])(*inputs, **kwargs)
    if batching._seq_level(inputs):             # inside vmap: once per example
        return batching.numpy_function(getattr(ufunc, method), inputs, kwargs)
    if not _active(inputs) and not _active(kwargs):
        return getattr(ufunc, method)(*_plain(inputs), **_plain(kwargs))
    raise ChainruleTypeError(
        name, message="has no chainrule gradient rule",
        fix="use a differentiable function from chainrule.numpy, or pass t.detach() (t.data) "
            "to leave the graph")


# --------------------------------------------------------------- functions
# NumPy functions whose results carry no derivative (integers, booleans, shapes, text, files):
# they run on the plain values even when a Tensor needs gradients.
_NO_DERIVATIVE = {
    "shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "argmax", "argmin",
    "argsort", "argpartition", "nonzero", "count_nonzero", "allclose", "isclose", "array_equal",
    "array_equiv", "array2string", "array_repr", "array_str", "may_share_memory",
    "shares_memory", "searchsorted", "all", "any", "isscalar", "flatnonzero", "argwhere",
    "digitize", "lexsort", "in1d", "isin", "iscomplex", "isreal", "isneginf", "isposinf",
    "zeros_like", "ones_like", "empty_like", "save", "savez", "savez_compressed", "savetxt",
    "printoptions", "min_scalar_type", "can_cast", "common_type", "ravel_multi_index",
    "unravel_index", "nanargmax", "nanargmin", "isfortran", "iterable", "ndindex"}


def array_function(func, args, kwargs):
    name = f"np.{func.__name__}"
    if not _has_tensor(args):                      # a Tensor only among the keywords
        return func(*args, **_keyword_tensors(name, kwargs))
    mine = HANDLED_FUNCTIONS.get(func)
    if mine is not None:
        return mine(*args, **kwargs)
    if batching._seq_level(args):                # inside vmap: facts of one example, or a loop
        return batching.numpy_function(func, args, kwargs)
    if func.__name__ in _NO_DERIVATIVE or not (_active(args) or _active(kwargs)):
        # nothing differentiable comes out, or nothing needs a gradient: plain NumPy
        return func(*_plain(args), **_plain(kwargs))
    raise _not_differentiable(name)
