"""Helpers of the sweeps that run every coverage case through a transform (vmap, compile)."""
import numpy as np

import chainrule.numpy as cnp


def leaves(o):
    """The arrays and Tensors of a result, in order (inside tuples, lists, dicts)."""
    if isinstance(o, (tuple, list)):
        for x in o:
            yield from leaves(x)
    elif isinstance(o, dict):
        for x in o.values():
            yield from leaves(x)
    else:
        yield o


def values(v):
    return np.asarray(getattr(v, "data", v))


def scalar(f, weighted=False):
    """A real scalar of f's float outputs (their sums, each weighted apart if asked)."""
    def g(*a):
        total = 0.0
        for k, v in enumerate(leaves(f(*a))):
            if values(v).dtype.kind in "fc":
                v = cnp.real(v) if np.iscomplexobj(values(v)) else v
                total = total + cnp.sum(v * (1.0 + 0.1 * k) if weighted else v)
        return total
    return g


def float_case(builders, data):
    """(f, args) of one drawn case, or None when its arguments are not all float arrays."""
    from hypothesis import strategies as st
    f, args = builders[data.draw(st.integers(0, len(builders) - 1))](data.draw)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in args):
        return None
    return f, args
