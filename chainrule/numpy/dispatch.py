"""NumPy's own functions on Tensors: ``np.exp(t)``, ``np.sum(t)``, ``ndarray * t``.

NumPy hands calls involving a Tensor to ``Tensor.__array_ufunc__`` and
``Tensor.__array_function__``; these route them to chainrule's primitive of
the same name, or explain clearly that the function is not differentiable.
"""
import numpy as np

from ..core.errors import ChainruleTypeError

UFUNCS = {}
HANDLED_FUNCTIONS = {}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


def _namespace():
    from .. import numpy as cnp
    return cnp


def _build():
    """Map NumPy's functions to chainrule's of the same name (only names chainrule defines)."""
    cnp = _namespace()
    for space, mine in ((np, cnp), (np.linalg, cnp.linalg)):
        for name, fn in vars(mine).items():
            if name.startswith("_") or not callable(fn):
                continue
            obj = getattr(space, name, None)
            if isinstance(obj, np.ufunc):
                UFUNCS[obj] = fn
            elif callable(obj):
                HANDLED_FUNCTIONS.setdefault(obj, fn)


def array_ufunc(ufunc, method, inputs, kwargs):
    if not UFUNCS:
        _build()
    if kwargs.get("out") is not None:
        raise ChainruleTypeError(
            f"np.{ufunc.__name__}", message="out= cannot write into a Tensor or record in place",
            fix="assign the result instead: y = np.%s(...)" % ufunc.__name__)
    if method == "__call__":
        op = UFUNCS.get(ufunc)
        if op is not None:
            return op(*inputs, **kwargs)
    elif method == "reduce" and ufunc.__name__ in _REDUCE:
        kwargs.setdefault("axis", 0)            # ufunc.reduce's default, unlike np.sum's
        return getattr(_namespace(), _REDUCE[ufunc.__name__])(*inputs, **kwargs)
    raise ChainruleTypeError(
        f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method}",
        message="has no chainrule gradient rule",
        fix="use a differentiable function from chainrule.numpy, or pass t.data to leave the graph")


# functions that only look at values or shapes: run them on the plain arrays
_INSPECT = {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "argmax", "argmin",
            "argsort", "nonzero", "count_nonzero", "allclose", "isclose", "array_equal",
            "array_equiv", "array2string", "array_repr", "array_str", "may_share_memory",
            "shares_memory", "searchsorted", "all", "any", "unique", "histogram", "zeros_like",
            "ones_like", "empty_like", "full_like", "copyto", "save", "savez", "savetxt",
            "isscalar", "flatnonzero", "argwhere", "bincount", "digitize", "lexsort", "ptp",
            "median", "percentile", "quantile", "nanmax", "nanmin", "histogram_bin_edges",
            "printoptions", "testing", "in1d", "isin"}


def _plain(x):
    from ..core.tensor import Tensor
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def array_function(func, args, kwargs):
    if not HANDLED_FUNCTIONS:
        _build()
    mine = HANDLED_FUNCTIONS.get(func)
    if mine is None and func.__name__ in _INSPECT:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    if mine is None:
        raise ChainruleTypeError(
            f"np.{func.__name__}", message="is not differentiable in chainrule",
            fix="use the chainrule.numpy function of the same name if there is one, "
                "or pass t.data (a plain array) to leave the graph")
    return mine(*args, **kwargs)
