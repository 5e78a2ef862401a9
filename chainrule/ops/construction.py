"""Building arrays from pieces (concatenate, stack, array) and taking them apart (split, diff).

The list-taking ops are primitives with variadic positional arguments
(``_concatenate(*arrays, axis=0)``) behind NumPy-style public functions, so
each array in the list is its own argument with its own gradient.  Python
numbers, lists and ndarrays may sit in the list beside Tensors: they are
constants.  Reverse rules cut the gradient into the pieces' places; forward
rules place one tangent among zeros.  Splitting is slicing (getitem), so its
rules are indexing's.
"""
import operator

import numpy as np

from ..core import primitive
from ..core.errors import ChainruleError
from ..core.batching import batch_elementwise, materialize, shift
from ..core.primitive import Primitive, _dtype, _shape, astype, defbatch, defjvp, defjvp_argnum, \
    defvjp, defvjp_argnum
from ..core.tensor import Tensor
from .indexing import getitem
from .shape import atleast_1d, atleast_2d, atleast_3d, reshape


def _along(axis, ndim, sl):
    """An index that applies ``sl`` along ``axis`` and takes everything elsewhere."""
    return (slice(None),) * (axis % ndim) + (sl,)


def _has_tensor(obj):
    if isinstance(obj, Tensor):
        return True
    return isinstance(obj, (list, tuple)) and any(_has_tensor(o) for o in obj)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def as_input(x):
    """An argument as a function here takes it: a Tensor, a (nested) list holding Tensors
    stacked into one (gradients kept), or a plain array."""
    if isinstance(x, Tensor):
        return x
    return _nested_stack(x) if _has_tensor(x) else np.asarray(x)


def as_dtype(x, dtype):
    """``x`` (Tensor or array) in ``dtype`` (None: as it is), cast on the graph if needed."""
    if dtype is None or np.dtype(dtype) == x.dtype:
        return x
    return astype(x, np.dtype(dtype)) if isinstance(x, Tensor) else x.astype(dtype)


def _weak(arrays):
    """Python numbers and lists take the dtype of the arrays beside them (as in NumPy's
    arithmetic), so ``stack([t32, 1.0])`` stays float32."""
    strong = [a.dtype for a in arrays if isinstance(a, (Tensor, np.ndarray, np.generic))]
    if not strong or len(strong) == len(arrays):
        return arrays
    common = np.result_type(*strong)
    out = []
    for a in arrays:
        if not isinstance(a, (Tensor, np.ndarray, np.generic)):
            a = np.asarray(a)
            if a.dtype.kind in "biuf" and common.kind in "fc":
                a = a.astype(common)
        out.append(a)
    return out


def _zeros_beside(i, t, arrays):
    """The argument list with tangent ``t`` at position ``i`` and zeros everywhere else."""
    return [t if j == i else np.zeros(_shape(a), _dtype(t)) for j, a in enumerate(arrays)]


# ------------------------------------------------------------- concatenate
def _concatenate_vjp(i, g, ans, *arrays, axis=0):
    shapes = [_shape(a) for a in arrays]
    if axis is None:                    # NumPy flattens every array first
        sizes = [int(np.prod(s)) for s in shapes]
        start = sum(sizes[:i])
        return reshape(getitem(g, slice(start, start + sizes[i])), shapes[i])
    ax = axis % len(shapes[i])
    start = sum(s[ax] for s in shapes[:i])
    return getitem(g, _along(ax, len(shapes[i]), slice(start, start + shapes[i][ax])))


_concatenate = Primitive("concatenate", lambda *arrays, axis=0: np.concatenate(arrays, axis=axis))
defvjp_argnum(_concatenate, _concatenate_vjp, formulas={0: "the piece's slice of the gradient"})
defjvp_argnum(_concatenate, lambda i, t, ans, *arrays, axis=0:
              _concatenate(*_zeros_beside(i, t, arrays), axis=axis))

# ------------------------------------------------------------------- stack
_stack = Primitive("stack", lambda *arrays, axis=0: np.stack(arrays, axis=axis))
defvjp_argnum(_stack, lambda i, g, ans, *arrays, axis=0:
              getitem(g, _along(axis, len(_shape(arrays[i])) + 1, i)),
              formulas={0: "the piece's entry of the gradient"})
defjvp_argnum(_stack, lambda i, t, ans, *arrays, axis=0:
              _stack(*_zeros_beside(i, t, arrays), axis=axis))


def _check_out(op, out):
    if out is not None:
        raise ChainruleError(op, message="out= cannot write into an array while recording",
                             expected="out=None", actual="an output array",
                             fix=f"assign the result instead: y = {op}(...)")


def _pieces(arrays, op):
    try:
        return list(arrays)             # an array or Tensor is iterated over its first axis
    except TypeError:
        raise ChainruleError(op, expected="a sequence of arrays", actual=type(arrays).__name__,
                             fix=f"pass a list, e.g. {op}([a, b])") from None


def _cast(arrays, dtype):
    return arrays if dtype is None else [astype(a, np.dtype(dtype)) for a in arrays]


def concatenate(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``np.concatenate``: each input gets back its own slice of the gradient."""
    _check_out("concatenate", out)
    arrays = _pieces(arrays, "concatenate")
    if not any(isinstance(a, Tensor) for a in arrays):
        return np.concatenate(arrays, axis=axis, dtype=dtype, casting=casting)
    return _concatenate(*_cast(_weak(arrays), dtype), axis=axis)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``np.stack``: each input gets back its own entry of the gradient along the new axis."""
    _check_out("stack", out)
    arrays = _pieces(arrays, "stack")
    if not any(isinstance(a, Tensor) for a in arrays):
        return np.stack(arrays, axis=axis, dtype=dtype, casting=casting)
    return _stack(*_cast(_weak(arrays), dtype), axis=axis)


def _joined(np_fn, prepare, axis_of, keywords=True):
    def joined(tup, *, dtype=None, casting="same_kind"):
        arrays = _pieces(tup, np_fn.__name__)
        if not any(isinstance(a, Tensor) for a in arrays):
            if not keywords:
                return np_fn(arrays)
            return np_fn(arrays, dtype=dtype, casting=casting)
        arrays = [prepare(a) for a in _weak(arrays)]
        return _concatenate(*_cast(arrays, dtype), axis=axis_of(arrays))
    if keywords:
        fn = joined
    else:                               # dstack and column_stack take neither dtype nor casting
        def fn(tup):
            return joined(tup)
    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"``np.{np_fn.__name__}``: reshapes plus one concatenate, so one rule each."
    return fn


def _column(a):
    return a if np.ndim(a) >= 2 else reshape(a, (-1, 1)) if isinstance(a, Tensor) \
        else np.asarray(a).reshape(-1, 1)


vstack = _joined(np.vstack, atleast_2d, lambda arrays: 0)
hstack = _joined(np.hstack, atleast_1d, lambda arrays: 0 if arrays and np.ndim(arrays[0]) == 1
                 else 1)
dstack = _joined(np.dstack, atleast_3d, lambda arrays: 2, keywords=False)
column_stack = _joined(np.column_stack, _column, lambda arrays: 1, keywords=False)


# ------------------------------------------------------------------- split
def _split_points(n, indices_or_sections, equal):
    """Start/stop of each piece, as ``np.split``/``np.array_split`` compute them."""
    try:
        sections = operator.index(indices_or_sections)
    except TypeError:
        return [0] + [int(i) for i in indices_or_sections] + [n]
    if sections <= 0:
        raise ValueError("number sections must be larger than 0.")
    if equal and n % sections:
        raise ValueError("array split does not result in an equal division")
    each, extra = divmod(n, sections)
    return list(np.cumsum([0] + [each + 1] * extra + [each] * (sections - extra)))


def _split(ary, indices_or_sections, axis, equal, np_fn):
    if not isinstance(ary, Tensor):
        return np_fn(ary, indices_or_sections, axis=axis)
    if ary.ndim == 0:
        raise ChainruleError(np_fn.__name__, expected="an array with at least one dimension",
                             actual="a 0-d Tensor", fix="reshape it first, e.g. x.reshape(1)")
    if not -ary.ndim <= axis < ary.ndim:
        raise np.exceptions.AxisError(axis, ary.ndim)
    points = _split_points(ary.shape[axis], indices_or_sections, equal)
    return [getitem(ary, _along(axis, ary.ndim, slice(int(a), int(b))))
            for a, b in zip(points[:-1], points[1:])]


def split(ary, indices_or_sections, axis=0):
    """``np.split``: a list of slices (getitem), each with its own gradient path."""
    return _split(ary, indices_or_sections, axis, True, np.split)


def array_split(ary, indices_or_sections, axis=0):
    """``np.array_split``: like split, but unequal pieces are allowed."""
    return _split(ary, indices_or_sections, axis, False, np.array_split)


# --------------------------------------------------------------- array/asarray
def _nested_stack(obj):
    """Stack a nested list/tuple holding Tensors, innermost lists first."""
    if isinstance(obj, (list, tuple)) and _has_tensor(obj):
        return _stack(*_weak([_nested_stack(o) for o in obj]), axis=0)
    return obj


primitive.sequence_to_tensor = _nested_stack   # how apply() retries a list that NumPy refused


# np.array copies: a Tensor given to array() gets its own buffer, so writing into one
# (t.data[...] = ..., allowed outside the graph) never changes the other
_copy = Primitive("copy", np.array)
defvjp(_copy, lambda g, ans, a: g, formulas={0: "1"})
defjvp(_copy, lambda t, ans, a: t)


def copy(a, order="K", subok=False):
    """``np.copy``: a Tensor gets its own buffer (gradient 1), so writing into it is safe."""
    if isinstance(a, Tensor):
        return _copy(a)
    if _has_tensor(a):
        return _nested_stack(a)
    return np.copy(a, order=order, subok=subok)


def _as_tensor(obj, dtype, ndmin, copy):
    out = (_copy(obj) if copy else obj) if isinstance(obj, Tensor) else _nested_stack(obj)
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = astype(out, np.dtype(dtype))
    if ndmin > out.ndim:
        out = reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _layout_only(op, like=None, device=None, ndmax=0):
    """NumPy options that cannot change a Tensor's values; refuse the ones that would."""
    if like is not None or device not in (None, "cpu") or ndmax:
        raise ChainruleError(op, message="like=, device= and ndmax= have no meaning for Tensors",
                             expected="like=None, device=None or 'cpu', ndmax=0",
                             actual=f"like={type(like).__name__}, device={device!r}, "
                                    f"ndmax={ndmax!r}",
                             fix=f"drop them: cnp.{op}(...) of Tensors is always a CPU Tensor")


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0,
          like=None):
    """``np.array``; a (nested) list holding Tensors is stacked, keeping their gradients."""
    if _has_tensor(object):
        _layout_only("array", like=like, ndmax=ndmax)
        return _as_tensor(object, dtype, ndmin, copy)
    extra = {"ndmax": ndmax} if ndmax else {}        # NumPy >= 2.4 only
    return np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin,
                    like=like, **extra)


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``np.asarray``; a Tensor comes back as it is (copied with copy=True), a list holding
    Tensors is stacked."""
    if _has_tensor(a):
        _layout_only("asarray", like=like, device=device)
        return _as_tensor(a, dtype, 0, copy=bool(copy))
    extra = {k: v for k, v in (("device", device), ("copy", copy)) if v is not None}
    return np.asarray(a, dtype=dtype, order=order, like=like, **extra)   # NumPy 1.x: no device=


# -------------------------------------------------------------------- diff
def _diff_vjp(g, ans, a, n=1, axis=-1):
    """Adjoint of n forward differences: (-1)^n diff(g zero-padded by n on both sides, n)."""
    shape = _shape(a)
    if n == 0:
        return g
    if shape[axis] < n:                 # the output is empty: nothing flows back
        return np.zeros(shape, _dtype(g))
    from .padding import pad_linear      # padding builds on this module: import on use
    widths = [(0, 0)] * len(shape)
    widths[axis % len(shape)] = (n, n)
    return _diff(pad_linear(g, tuple(widths), "constant"), n, axis) * ((-1) ** n)


_diff = Primitive("diff", lambda a, n=1, axis=-1: np.diff(a, n=n, axis=axis))
defvjp(_diff, _diff_vjp, formulas={0: "(-1)^n · diff(zero-padded g, n)"})
defjvp(_diff, lambda t, ans, a, n=1, axis=-1: _diff(t, n, axis))


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``np.diff``; prepend/append are concatenated first, so they can be Tensors too."""
    pieces = [prepend, a, append]
    if not any(isinstance(p, Tensor) for p in pieces):
        return np.diff(a, n=n, axis=axis, prepend=prepend, append=append)
    if n == 0:                          # as NumPy: the input itself, prepend/append unused
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    if np.ndim(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    if prepend is not np._NoValue or append is not np._NoValue:
        shape = list(np.shape(a))
        shape[axis] = 1
        parts = []
        for p in pieces:
            if p is np._NoValue:
                continue
            parts.append(p if np.ndim(p) else _broadcast(p, tuple(shape)))
        a = concatenate(parts, axis=axis)
    return _diff(a, n, axis)


def _broadcast(p, shape):
    from ..core.primitive import broadcast_to
    return broadcast_to(p, shape) if isinstance(p, Tensor) else np.broadcast_to(p, shape)


_ops = dict(concatenate=concatenate, stack=stack, vstack=vstack, hstack=hstack, dstack=dstack,
            column_stack=column_stack, split=split, array_split=array_split, array=array,
            asarray=asarray, diff=diff, copy=copy)
globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------------- batching rules (vmap)
def _b_join(op, bdims, n, *arrays, axis=0):
    """concatenate / stack: every piece batched (shared pieces broadcast), the axis shifted."""
    arrays = [materialize(a, d, n) for a, d in zip(arrays, bdims)]
    nd = len(_shape(arrays[0])) - 1 + (op is _stack)
    if axis is None:                    # concatenate of the raveled examples
        arrays = [reshape(a, (n, int(np.prod(_shape(a)[1:], dtype=np.int64)))) for a in arrays]
        return op(*arrays, axis=1)
    return op(*arrays, axis=shift(axis, nd))


def _b_pad(op, bdims, n, array, pad_width, constant_values=0):
    if any(d is not None for d in bdims[1:]):
        return NotImplemented
    return op(array, ((0, 0),) + tuple(pad_width), constant_values)


def _b_diff(op, bdims, size, a, n=1, axis=-1):
    return op(a, n, shift(axis, len(_shape(a)) - 1))


for _name, _rule in (("_concatenate", _b_join), ("_stack", _b_join), ("_copy", batch_elementwise),
                     ("_pad", _b_pad), ("_diff", _b_diff)):
    if isinstance(globals().get(_name), Primitive):
        defbatch(globals()[_name], _rule)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# copy is np.array (a new buffer); concatenate and stack take their pieces as one tuple.
def _lower_join(np_name):
    def lower(e):
        if set(e.kwargs) - {"axis"}:
            return None
        pieces = ", ".join(e.arg(i) for i in range(len(e.args)))
        return f"np.{np_name}(({pieces},), axis={e.params(()).get('axis', 0)!r})"
    return lower


LOWER = {"copy": "np.array({0})", "concatenate": _lower_join("concatenate"),
         "stack": _lower_join("stack")}
