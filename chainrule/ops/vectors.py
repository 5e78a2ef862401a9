"""Products of vectors along one axis: cross, and NumPy 2's vecdot, matvec and vecmat.

None of them needs a rule of its own.  ``cross`` is made of the components'
products (getitem, multiply, subtract, stack); the other three are generalized
ufuncs whose loop is an einsum over the core axes, moved to the end first.  So
their derivatives, of every order, are those of the primitives they are made of,
and broadcasting over the leading (loop) axes is einsum's.

With no Tensor among the arguments each function is NumPy's own.
"""
import warnings

import numpy as np

from ..core.errors import ChainruleError, describe
from ..core.primitive import _dtype, _shape, astype
from ..core.tensor import Tensor
from .construction import asarray as _asarray
from .construction import stack
from .elementwise import multiply, negative, subtract
from .indexing import getitem
from .linalg import _einsum
from .shape import expand_dims, moveaxis

_NoValue = np._NoValue
_NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _has_tensor(*xs):
    return any(isinstance(x, Tensor) or isinstance(x, (list, tuple)) and _has_tensor(*x)
               for x in xs)


def _array(x):
    """x as an array or Tensor (lists holding Tensors are stacked, keeping their gradients)."""
    return x if isinstance(x, Tensor) else _asarray(x)


def _axis_index(axis, ndim, name):
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim, name)
    return axis % ndim


def _conj(x):
    """The conjugate of a real array is itself; complex vectors need elementwise conj."""
    if _dtype(x).kind != "c":
        return x
    from . import elementwise
    if hasattr(elementwise, "conj"):
        return elementwise.conj(x)
    raise ChainruleError("vecdot", message="complex Tensors are not supported here yet",
                         expected="real floating-point Tensors", actual=describe(x),
                         fix="split into real and imaginary parts")


# -------------------------------------------------------------------- cross
def _part(x, k):
    return getitem(x, (Ellipsis, k))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross``: the components' products, so every order of derivative is exact.

    2-vectors are allowed as in NumPy (the missing z component is 0; two 2-vectors give
    the scalar z component), with NumPy 2's DeprecationWarning.
    """
    if not _has_tensor(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _array(a), _array(b)
    if a.ndim < 1 or b.ndim < 1:
        raise ValueError("At least one array has zero dimension")
    a = moveaxis(a, _axis_index(axisa, a.ndim, "axisa"), -1)
    b = moveaxis(b, _axis_index(axisb, b.ndim, "axisb"), -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if _NUMPY2 and 2 in (na, nb):
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=2)
    dtype = np.promote_types(a.dtype, b.dtype)
    a, b = (x if x.dtype == dtype else astype(x, dtype) for x in (a, b))
    a0, a1, b0, b1 = _part(a, 0), _part(a, 1), _part(b, 0), _part(b, 1)
    z = subtract(multiply(a0, b1), multiply(a1, b0))          # the z component
    if na == nb == 2:
        return z
    if na == 2:                                               # a2 = 0
        b2 = _part(b, 2)
        x, y = multiply(a1, b2), negative(multiply(a0, b2))
    elif nb == 2:                                             # b2 = 0
        a2 = _part(a, 2)
        x, y = negative(multiply(a2, b1)), multiply(a2, b0)
    else:
        a2, b2 = _part(a, 2), _part(b, 2)
        x, y = subtract(multiply(a1, b2), multiply(a2, b1)), \
            subtract(multiply(a2, b0), multiply(a0, b2))
    shape = np.broadcast_shapes(_shape(x), _shape(y), _shape(z)) + (3,)
    axisc = _axis_index(axisc, len(shape), "axisc")
    return moveaxis(stack([x, y, z], axis=-1), -1, axisc)


# ------------------------------------------------- vecdot, matvec, vecmat
# name: (core dimensions of x1, of x2, of the output; einsum of the core axes, last;
#        whether x1 is conjugated as NumPy does)
GUFUNCS = {
    "vecdot": (1, 1, 0, "...i,...i->...", True),
    "matvec": (2, 1, 1, "...ij,...j->...i", False),
    "vecmat": (1, 2, 1, "...j,...jk->...k", True),
}
_DEFAULTS = {"casting": "same_kind", "order": "K", "subok": True, "signature": None,
             "keepdims": False, "dtype": None}


def _entry(e):
    return (int(e),) if isinstance(e, (int, np.integer)) else tuple(int(a) for a in e)


def _core_axes(name, cores, axes, axis, keepdims):
    """[core axes of x1, of x2, of the output], following NumPy's gufunc keywords."""
    c1, c2, co = cores
    if axis is not _NoValue:
        if axes is not _NoValue:
            raise TypeError("cannot specify both 'axis' and 'axes'")
        if (c1, c2, co) != (1, 1, 0):
            raise TypeError(f"{name}: 'axis' can be used only with one core axis per input "
                            "and none in the output; use 'axes'")
        return [(axis,), (axis,), (axis,) if keepdims else ()]
    if axes is _NoValue:
        axes = [tuple(range(-c1, 0)), tuple(range(-c2, 0))] + \
               [tuple(range(-co, 0)) if co else (-1,) if keepdims else ()]
        return axes
    axes = [_entry(e) for e in axes]
    if len(axes) == 2 and co == 0:
        axes.append((-1,) if keepdims else ())
    if len(axes) != 3 or any(len(e) != c for e, c in zip(axes, (c1, c2, co or keepdims))):
        raise ChainruleError(name, message="axes does not match the core dimensions",
                             expected=f"axes=[{c1} axes of x1, {c2} of x2, {co} of the output]",
                             actual=f"axes={axes}", fix="give one tuple of axes per operand")
    return axes


def _to_end(x, axes):
    n = len(axes)
    return moveaxis(x, axes, tuple(range(-n, 0))) if n else x


def _gufunc(name):
    c1, c2, co, spec, conj = GUFUNCS[name]
    ufunc = getattr(np, name, None)

    def fn(x1, x2, /, out=None, *, axes=_NoValue, axis=_NoValue, keepdims=False,
           casting="same_kind", order="K", dtype=None, subok=True, signature=None):
        given = dict(casting=casting, order=order, subok=subok, signature=signature)
        if not _has_tensor(x1, x2):                 # NumPy's own, with the keywords given
            kw = dict(given, axes=axes, axis=axis, keepdims=keepdims, dtype=dtype)
            kw = {k: v for k, v in kw.items() if v is not _NoValue and v != _DEFAULTS.get(k)}
            return ufunc(x1, x2, out=out, **kw)
        if out is not None:
            raise ChainruleError(name, message="out= cannot be recorded for gradients",
                                 expected="out=None", actual="an output array",
                                 fix=f"assign the result instead: y = cnp.{name}(...)")
        odd = sorted(k for k, v in given.items() if v != _DEFAULTS[k])
        if odd:
            raise ChainruleError(name, message=f"unsupported argument(s) {odd} on Tensors",
                                 expected="their defaults", actual=f"{odd}",
                                 fix="drop them, or compute on t.data outside the graph")
        x1, x2 = _array(x1), _array(x2)
        a1, a2, ao = _core_axes(name, (c1, c2, co), axes, axis, keepdims)
        if dtype is not None:
            x1, x2 = astype(x1, np.dtype(dtype)), astype(x2, np.dtype(dtype))
        x1, x2 = _to_end(x1, a1), _to_end(x2, a2)
        k1, k2 = _shape(x1)[-1], _shape(x2)[-c2]        # the contracted axis of each
        if k1 != k2 or len(_shape(x1)) < c1 or len(_shape(x2)) < c2:
            raise ChainruleError(name, message="the contracted core axes differ in length",
                                 expected=f"core shapes {spec.replace('...', '')}",
                                 actual=f"{describe(x1)} and {describe(x2)} (core axes last)",
                                 fix="make the contracted axes the same length (see axis=/axes=)")
        r = _einsum(spec, _conj(x1) if conj else x1, x2)
        if co:
            return moveaxis(r, -1, ao[0])
        return expand_dims(r, ao[0]) if keepdims else r
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"``np.{name}``, a generalized ufunc: ``np.einsum('{spec}')`` over the core "
                  "axes (axes=/axis= move them), broadcasting over the others.")
    return fn


vecdot, matvec, vecmat = (_gufunc(n) for n in GUFUNCS)

__all__ = ["cross"] + [n for n in GUFUNCS if hasattr(np, n)]
