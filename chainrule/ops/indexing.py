"""Indexing: reading entries (getitem) and its adjoint, adding into zeros (index_add)."""
import numpy as np

from ..core.primitive import Primitive, defjvp, defvjp

_ops = {}


def _getitem(x, index):
    return x[index]


def _index_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, index, g)
    return out


getitem = _ops["getitem"] = Primitive("getitem", _getitem)
index_add = _ops["index_add"] = Primitive("index_add", _index_add)
defvjp(getitem, lambda g, ans, x, index: index_add(g, index, np.shape(x)), formulas={0: "scatter"})
defjvp(getitem, lambda t, ans, x, index: getitem(t, index))
defvjp(index_add, lambda g, ans, gin, index, shape: getitem(g, index), formulas={0: "gather"})
defjvp(index_add, lambda t, ans, gin, index, shape: index_add(t, index, shape))

globals().update(_ops)
__all__ = sorted(_ops)
