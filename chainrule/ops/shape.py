"""Shape operations: they move gradient entries around, never scale them.

Every op here is linear in its array argument, so the forward rule is the op
itself applied to the tangent, and the reverse rule is the adjoint movement
(reshape back, transpose back, roll back, sum over the copies a repeat or tile
made...).  Adjoints are written with primitives (some of them adjoint pairs
defined here, like repeat/unrepeat and diagonal/diagonal_embed), so every
order of derivative comes for free.
"""
import numpy as np

from ..core.errors import ChainruleError
from ..core.batching import align, batch_elementwise, shift, shift_axes
from ..core import primitive as _core
from ..core.primitive import Primitive, _shape, astype, defbatch, defjvp, defvjp, identity, sum_to
from ..core.primitive import broadcast_to as _engine_broadcast_to
from ..core.tensor import Tensor
from .indexing import take_along_axis

_ops = {"sum_to": sum_to}


def _broadcast_to(array, shape, subok=False):
    """``np.broadcast_to`` (its gradient sums over the broadcast axes); the engine's own
    primitive behind it takes no keywords."""
    return _engine_broadcast_to(array, shape)


_broadcast_to.__name__ = "broadcast_to"
_ops["broadcast_to"] = _broadcast_to


# ------------------------------------------------------------------ helpers
def _inverse_perm(axes, ndim):
    """The permutation that undoes ``transpose(axes)`` (negative axes allowed)."""
    if axes is None:
        return None
    return tuple(int(i) for i in np.argsort([int(a) % ndim for a in axes]))


def _negate(shift):
    return -shift if np.ndim(shift) == 0 else tuple(-s for s in shift)


def _unrepeat(g, repeats, axis, shape):
    """Sum each group of copies made by ``np.repeat(x, repeats, axis)``: x's shape again."""
    g = np.asarray(g)
    if axis is None:
        n, ax, moved = int(np.prod(shape)), 0, g.reshape(-1)
    else:
        ax = axis % len(shape)
        n, moved = shape[ax], np.moveaxis(g, ax, 0)
    reps = np.asarray(repeats)
    if reps.size == 1:                      # equal groups: a reshape and a sum
        r = int(reps.reshape(-1)[0])
        out = moved.reshape((n, r) + moved.shape[1:]).sum(axis=1)
    else:
        out = np.zeros((n,) + moved.shape[1:], dtype=g.dtype)
        np.add.at(out, np.repeat(np.arange(n), reps), moved)
    return out.reshape(shape) if axis is None else np.moveaxis(out, 0, ax)


def _untile(g, shape, reps):
    """Adjoint of ``np.tile``: split each axis into (copies, original) and sum the copies."""
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    d = max(len(shape), len(reps))
    s = (1,) * (d - len(shape)) + tuple(shape)
    r = (1,) * (d - len(reps)) + reps
    split = tuple(v for pair in zip(r, s) for v in pair)
    kept = tuple(v for pair in zip((1,) * d, s) for v in pair)
    return reshape(sum_to(reshape(g, split), kept), shape)


def _diagonal_embed(v, offset, axis1, axis2, shape):
    """Zeros of ``shape`` with ``v`` on the diagonal that ``np.diagonal`` reads (its adjoint)."""
    v = np.asarray(v)
    out = np.zeros(shape, dtype=v.dtype)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))   # a view: writing into it fills out
    n = v.shape[-1]
    view[..., np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)] = v
    return out


# --------------------------------------------------------------- the table
# name: (NumPy function, reverse rule (g, ans, x, *params) -> gradient for x, formula for explain)
# Forward rule of every row: the same op applied to the tangent.
LINEAR = {
    "reshape":     (np.reshape,
                    lambda g, ans, a, shape, order="C": reshape(g, _shape(a), order=order),
                    "reshape back"),
    "transpose":   (np.transpose,
                    lambda g, ans, a, axes=None: transpose(g, _inverse_perm(axes, len(_shape(a)))),
                    "transpose back"),
    "swapaxes":    (np.swapaxes,
                    lambda g, ans, a, axis1, axis2: swapaxes(g, axis1, axis2), "swap back"),
    "moveaxis":    (np.moveaxis,
                    lambda g, ans, a, source, destination: moveaxis(g, destination, source),
                    "move back"),
    "squeeze":     (np.squeeze, lambda g, ans, a, axis=None: reshape(g, _shape(a)), "unsqueeze"),
    "expand_dims": (np.expand_dims, lambda g, ans, a, axis: reshape(g, _shape(a)), "squeeze back"),
    "repeat":      (np.repeat,
                    lambda g, ans, a, repeats, axis=None: unrepeat(g, repeats, axis, _shape(a)),
                    "sum over the copies"),
    "unrepeat":    (_unrepeat,
                    lambda g, ans, a, repeats, axis, shape: repeat(g, repeats, axis),
                    "copy back"),
    "tile":        (np.tile, lambda g, ans, A, reps: _untile(g, _shape(A), reps),
                    "sum over the tiles"),
    "roll":        (np.roll, lambda g, ans, a, shift, axis=None: roll(g, _negate(shift), axis),
                    "roll back"),
    "flip":        (np.flip, lambda g, ans, m, axis=None: flip(g, axis), "flip back"),
    "rot90":       (np.rot90, lambda g, ans, m, k=1, axes=(0, 1): rot90(g, -k, axes),
                    "rotate back"),
    "diagonal":    (np.diagonal,
                    lambda g, ans, a, offset=0, axis1=0, axis2=1:
                    diagonal_embed(g, offset, axis1, axis2, _shape(a)), "put on the diagonal"),
    "diagonal_embed": (_diagonal_embed,
                       lambda g, ans, v, offset, axis1, axis2, shape:
                       diagonal(g, offset, axis1, axis2), "read the diagonal"),
    "tril":        (np.tril, lambda g, ans, m, k=0: tril(g, k), "lower-triangle mask"),
    "triu":        (np.triu, lambda g, ans, m, k=0: triu(g, k), "upper-triangle mask"),
}


def _linear(name, fn, vjp, formula):
    op = Primitive(name, fn)
    defvjp(op, vjp, formulas={0: formula})
    defjvp(op, lambda t, ans, x, *params, **kw: op(t, *params, **kw))
    return op


for _name, (_fn, _vjp, _formula) in LINEAR.items():
    _ops[_name] = _linear(_name, _fn, _vjp, _formula)
globals().update(_ops)


# ------------------------------------------------- functions built on the table
def ravel(a, order="C"):
    """``np.ravel``: a reshape to 1-D, so its gradient is a reshape back."""
    return reshape(a, (-1,), order=order) if isinstance(a, Tensor) else np.ravel(a, order=order)


def flatten(a, order="C"):
    """``ndarray.flatten`` as a function (always a new array)."""
    return reshape(a, (-1,), order=order) if isinstance(a, Tensor) else np.array(a).flatten(order)


def _atleast(np_fn):
    def fn(*arys):
        out = []
        for a in arys:
            if isinstance(a, Tensor):
                # the target shape, computed on a zero-cost stand-in of a's shape
                shape = np_fn(np.broadcast_to(np.empty((), bool), a.shape)).shape
                out.append(a if shape == a.shape else reshape(a, shape))
            else:
                out.append(np_fn(a))
        return out[0] if len(out) == 1 else tuple(out)
    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"``np.{np_fn.__name__}``: a reshape for Tensors (gradient: reshape back)."
    return fn


atleast_1d, atleast_2d, atleast_3d = (_atleast(f) for f in (np.atleast_1d, np.atleast_2d,
                                                             np.atleast_3d))


def flipud(m):
    """``np.flipud``: flip along axis 0 (at least 1-D)."""
    if np.ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def fliplr(m):
    """``np.fliplr``: flip along axis 1 (at least 2-D)."""
    if np.ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def diag(v, k=0):
    """``np.diag``: 1-D -> square matrix with v on diagonal k; 2-D -> diagonal k (1-D)."""
    if not isinstance(v, Tensor):
        return np.diag(v, k)
    ndim = v.ndim
    if ndim == 1:
        n = v.shape[0] + abs(k)
        return diagonal_embed(v, k, 0, 1, (n, n))
    if ndim == 2:
        return diagonal(v, k)
    raise ChainruleError("diag", expected="a 1-D or 2-D input", actual=f"{ndim}-D",
                         fix="use diagonal(a, offset, axis1, axis2) for stacked matrices")


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``np.sort``: the gradient follows the sorting permutation.

    Tensors are always sorted stably (``kind`` only matters for plain arrays), so tied
    entries keep their order and each receives the gradient of the position it lands in.
    """
    if not isinstance(a, Tensor):
        return np.sort(a, axis=axis, kind=kind, order=order,
                       **({} if stable is None else {"stable": stable}))
    if order is not None:
        raise ChainruleError("sort", expected="order=None", actual=f"order={order!r}",
                             fix="structured arrays have no gradient; sort plain floats")
    if axis is None:
        a, axis = reshape(a, (-1,)), -1
    return take_along_axis(a, argsort(a, axis, kind="stable"), axis)


argsort = Primitive("argsort", np.argsort, differentiable=False)

_ops.update(ravel=ravel, flatten=flatten, atleast_1d=atleast_1d, atleast_2d=atleast_2d,
            atleast_3d=atleast_3d, flipud=flipud, fliplr=fliplr, diag=diag, sort=sort,
            argsort=argsort)
globals().update(_ops)
_PRIVATE = {"unrepeat", "diagonal_embed"}          # adjoints only: not NumPy names
__all__ = sorted(n for n in _ops if n not in _PRIVATE)


# ------------------------------------------------------- batching rules (vmap)
# Each example's axes are the batch's axes shifted by one (the batch axis stays in front).
def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _resolved(shape, size):
    """A reshape target with its -1 filled in (so a batch of 0 examples still works)."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    if -1 in shape:
        known = _size([s for s in shape if s != -1])
        shape = tuple(size // known if s == -1 and known else (0 if s == -1 else s) for s in shape)
    return shape


def _b_reshape(op, bdims, n, a, shape, order="C"):
    per = _resolved(shape, _size(_shape(a)[1:]))
    if order == "C":
        return op(a, (n,) + per)
    if order == "F":                    # batch last, so each example stays one F-ordered block
        return moveaxis(op(moveaxis(a, 0, -1), per + (n,), order="F"), -1, 0)
    return NotImplemented


def _b_transpose(op, bdims, n, a, axes=None):
    nd = len(_shape(a)) - 1
    perm = tuple(range(nd, 0, -1)) if axes is None else tuple(shift(x, nd) for x in axes)
    return op(a, (0,) + perm)


def _b_axes_args(*names):
    """Rules for ops whose arguments after the array are axes (ints or tuples of ints)."""
    def rule(op, bdims, n, a, *axes, **kw):
        if any(d is not None for d in bdims[1:]):
            return NotImplemented
        nd = len(_shape(a)) - 1
        moved = [shift_axes(x, nd) for x in axes]
        kw = {k: shift_axes(v, nd) if k in names else v for k, v in kw.items()}
        return op(a, *moved, **kw)
    return rule


def _b_squeeze(op, bdims, n, a, axis=None):
    per = _shape(a)[1:]
    if axis is None:
        return op(a, tuple(i + 1 for i, s in enumerate(per) if s == 1))
    return op(a, shift_axes(axis, len(per)))


def _b_expand_dims(op, bdims, n, a, axis):
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out_nd = len(_shape(a)) - 1 + len(axes)
    return op(a, tuple(int(x) % out_nd + 1 for x in axes))


def _b_flat_or_axis(pname):
    """repeat, roll: axis=None acts on the raveled example."""
    def rule(op, bdims, n, a, *args, **kw):
        if any(d is not None for d in bdims[1:]):
            return NotImplemented
        params = dict(zip((pname, "axis"), args))
        params.update(kw)
        param, axis = params.pop(pname), params.pop("axis", None)
        per = _shape(a)[1:]
        if axis is None:
            flat = op(reshape(a, (n, _size(per))), param, 1, **params)
            return flat if op is repeat else reshape(flat, (n,) + per)
        return op(a, param, shift_axes(axis, len(per)), **params)
    return rule


def _b_unrepeat(op, bdims, n, g, repeats, axis, shape):
    if bdims[1] is not None:
        return NotImplemented
    if axis is None:
        return reshape(op(g, repeats, 1, (n, _size(shape))), (n,) + tuple(shape))
    return op(g, repeats, shift(axis, len(shape)), (n,) + tuple(shape))


def _b_tile(op, bdims, n, A, reps):
    per = _shape(A)[1:]
    r = (int(reps),) if np.ndim(reps) == 0 else tuple(int(x) for x in reps)
    d = max(len(per), len(r))
    x = reshape(A, (n,) + (1,) * (d - len(per)) + per) if d > len(per) else A
    return op(x, (1,) + (1,) * (d - len(r)) + r)


def _b_flip(op, bdims, n, m, axis=None):
    return op(m, shift_axes(axis, len(_shape(m)) - 1))


def _b_rot90(op, bdims, n, m, k=1, axes=(0, 1)):
    nd = len(_shape(m)) - 1
    return op(m, k, tuple(shift(x, nd) for x in axes))


def _b_diagonal(op, bdims, n, a, offset=0, axis1=0, axis2=1):
    nd = len(_shape(a)) - 1
    return op(a, offset, shift(axis1, nd), shift(axis2, nd))


def _b_diagonal_embed(op, bdims, n, v, offset, axis1, axis2, shape):
    nd = len(shape)
    return op(v, offset, shift(axis1, nd), shift(axis2, nd), (n,) + tuple(shape))


def _b_triangle(op, bdims, n, m, k=0):
    if len(_shape(m)) < 3:              # 1-D m makes a matrix: not a stack of examples
        return NotImplemented
    return op(m, k)


def _b_broadcast_to(op, bdims, n, x, shape):
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(shape)
    return op(align(x, 0, len(shape)), (n,) + shape)


def _b_sum_to(op, bdims, n, x, shape):
    shape = tuple(shape)
    lead = len(_shape(x)) - 1 - len(shape)
    if lead > 0:                        # the axes broadcasting added in front of the example
        from .reductions import sum
        x = sum(x, axis=tuple(range(1, lead + 1)))
    return op(x, (n,) + shape)


def _b_argsort(op, bdims, n, a, axis=-1, kind=None, order=None):
    per = _shape(a)[1:]
    if axis is None:
        return op(reshape(a, (n, _size(per))), 1, kind, order)
    return op(a, shift(axis, len(per)), kind, order)


BATCH = {
    "reshape": _b_reshape, "transpose": _b_transpose, "swapaxes": _b_axes_args("axis1", "axis2"),
    "moveaxis": _b_axes_args("source", "destination"), "squeeze": _b_squeeze,
    "expand_dims": _b_expand_dims, "repeat": _b_flat_or_axis("repeats"), "unrepeat": _b_unrepeat,
    "tile": _b_tile, "roll": _b_flat_or_axis("shift"), "flip": _b_flip, "rot90": _b_rot90,
    "diagonal": _b_diagonal, "diagonal_embed": _b_diagonal_embed, "tril": _b_triangle,
    "triu": _b_triangle, "broadcast_to": _b_broadcast_to, "sum_to": _b_sum_to,
}
for _name, _rule in BATCH.items():
    if isinstance(_ops.get(_name), Primitive):
        defbatch(_ops[_name], _rule)
defbatch(_engine_broadcast_to, _b_broadcast_to)    # _ops holds its NumPy-signature wrapper
defbatch(argsort, _b_argsort)
for _op in (identity, astype, getattr(_core, "conj", None)):     # the engine's own elementwise ops
    if isinstance(_op, Primitive):
        defbatch(_op, batch_elementwise)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# Shapes are fixed when a program is traced, so every reshaping op is a view with the
# recorded output shape, and sum_to (the adjoint of broadcasting) one reduction over axes
# decided at trace time.  ``e`` is the recorded call (chainrule/compile/lower.py).
def _lower_sum_to(e):
    xshape, shape = e.shape(0), tuple(e.out_shape)
    lead = len(xshape) - len(shape)
    stretched = tuple(i + lead for i, n in enumerate(shape) if n == 1 and xshape[i + lead] != 1)
    axes = tuple(range(lead)) + stretched
    if not axes:
        return f"np.reshape({e.arg(0)}, {shape!r})"
    if not stretched:
        return f"np.add.reduce({e.arg(0)}, axis={axes!r})"
    return f"np.add.reduce({e.arg(0)}, axis={axes!r}, keepdims=True).reshape({shape!r})"


def _lower_transpose(e):
    axes = e.params(("axes",)).get("axes")
    if len(e.shape(0)) == 2 and (axes is None or tuple(axes) == (1, 0)):
        return f"{e.arg(0)}.T"
    return None if axes is None and len(e.shape(0)) != 2 else \
        f"np.transpose({e.arg(0)}, {None if axes is None else tuple(axes)!r})"


def _lower_swapaxes(e):
    a, b = (e.value(1) % len(e.shape(0)), e.value(2) % len(e.shape(0))) if e.shape(0) else (0, 0)
    if len(e.shape(0)) == 2 and {a, b} == {0, 1}:
        return f"{e.arg(0)}.T"
    return f"np.swapaxes({e.arg(0)}, {a}, {b})"


def _reshaped(e):
    if e.params(("shape", "order")).get("order", "C") != "C":
        return None
    return f"np.reshape({e.arg(0)}, {tuple(e.out_shape)!r})"


LOWER = {
    "reshape": _reshaped,
    "squeeze": lambda e: f"np.reshape({e.arg(0)}, {tuple(e.out_shape)!r})",
    "expand_dims": lambda e: f"np.reshape({e.arg(0)}, {tuple(e.out_shape)!r})",
    "transpose": _lower_transpose,
    "swapaxes": _lower_swapaxes,
    "broadcast_to": lambda e: f"np.broadcast_to({e.arg(0)}, {tuple(e.out_shape)!r})",
    "sum_to": _lower_sum_to,
    "moveaxis": "np.moveaxis({0}, {1}, {2})",
    "flip": lambda e: f"np.flip({e.arg(0)}, {e.params(('axis',)).get('axis')!r})",
    "diagonal": "np.diagonal({0}, {1}, {2}, {3})",
}
