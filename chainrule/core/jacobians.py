"""Jacobians and Hessians in one batched pass: ``jacrev`` pulls a whole basis of cotangents back
through one backward pass, ``jacfwd`` pushes a whole basis of tangents through one forward
pass (both by ``vmap`` over the basis, at a level of their own), ``hessian`` is ``jacfwd`` of
``jacrev`` (forward over reverse), as in JAX.

Results follow JAX's structure: the output's pytree with each leaf replaced by the input's
pytree (a tuple of them for a tuple ``argnums``), each leaf of shape
``out_leaf.shape + in_leaf.shape``.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .backward import hand_over
from .errors import ChainruleError, ChainruleTypeError
from .primitive import _dtype, _shape
from .pytree import flatten, unflatten
from .tensor import Tensor
from .transforms import (_as_float_array, _plain_aux, argnums_tuple, grad, jvp, need_complex,
                         quiet_unused, refuse_complex, vjp_parts)
from .vmap import vmap_call


def _size(shape):
    return math.prod(shape)


def _partial(fun, args, kwargs, nums):
    def f(*chosen):
        a = list(args)
        for n, v in zip(nums, chosen):
            a[n] = v
        return fun(*a, **kwargs)
    return f


def _basis(shapes, dtypes):
    """One block of the identity per leaf: leaf k gets rows (M, *shape_k) of eye(M)."""
    sizes = [_size(s) for s in shapes]
    total, off, out = sum(sizes), 0, []
    if len(shapes) == 1:
        return [np.eye(total, dtype=dtypes[0]).reshape((total,) + tuple(shapes[0]))], sizes, total
    for shape, dtype, s in zip(shapes, dtypes, sizes):
        out.append(np.eye(total, s, k=-off, dtype=dtype).reshape((total,) + tuple(shape)))
        off += s
    return out, sizes, total


def _block(rows, off, size, shape, last=False):
    """Rows off..off+size of a stacked result, reshaped to ``shape`` (+ the rest)."""
    from ..ops.indexing import getitem
    from ..ops.shape import moveaxis, reshape
    part = rows[off:off + size] if type(rows) is np.ndarray else getitem(rows, slice(off, off + size))
    rest = _shape(part)[1:]
    if last:            # jacfwd: the input's axes go after the output's
        part = np.moveaxis(part, 0, -1) if type(part) is np.ndarray else moveaxis(part, 0, -1)
        return part.reshape(rest + tuple(shape)) if type(part) is np.ndarray else \
            reshape(part, rest + tuple(shape))
    return part.reshape(tuple(shape) + rest) if type(part) is np.ndarray else \
        reshape(part, tuple(shape) + rest)


def _float_outputs(leaves, op):
    for o in leaves:
        dtype = _dtype(o) if isinstance(o, (Tensor, np.ndarray)) else np.asarray(o).dtype
        if dtype.kind not in "fc":
            raise ChainruleTypeError(op, message="the function's outputs must be floating point",
                                     expected="float outputs", actual=f"an output of dtype {dtype}",
                                     fix="return floats; integer and boolean outputs have no "
                                         "derivative")


def _dtypes(op, holomorphic, leaves, what):
    """JAX's rules: jacfwd of a complex input and jacrev of a complex output need holomorphic."""
    for v in leaves:
        if holomorphic:
            need_complex(op, what, v)
        elif (what == "input") == (op == "jacfwd"):
            direct = "jvp" if op == "jacfwd" else "vjp"
            refuse_complex(op, what, v, "pass holomorphic=True for a holomorphic function; "
                                        f"otherwise use chainrule.{direct} directly")


def _hand(tree):
    leaves, d = flatten(tree)
    return unflatten(d, hand_over(leaves))


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian by reverse mode: one forward pass, one backward pass for all output
    elements at once (a vmap of the pullback over the basis)."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "jacrev")
        _dtypes("jacrev", holomorphic, [x for n in nums for x in flatten(args[n])[0]], "input")
        with quiet_unused():            # a zero row or column is an ordinary Jacobian entry
            _, out_leaves, out_def, _, pull, aux = vjp_parts(
                _partial(fun, args, kwargs, nums), tuple(args[n] for n in nums), has_aux)
        _float_outputs(out_leaves, "jacrev")
        _dtypes("jacrev", holomorphic, out_leaves, "output")
        shapes = [_shape(o) for o in out_leaves]
        basis, sizes, total = _basis(shapes, [_dtype(o) if isinstance(o, (Tensor, np.ndarray))
                                              else np.asarray(o).dtype for o in out_leaves])
        if total:
            with quiet_unused():
                rows = vmap_call(lambda *c: pull(unflatten(out_def, list(c))), basis, {},
                                 0, 0, total, private=True)
        else:
            rows = tuple(_zeros_rows(args[n]) for n in nums)
        leaves, off = [], 0
        for shape, s in zip(shapes, sizes):
            per_arg = tuple(_map_tree(lambda r: _block(r, off, s, shape), rows[j])
                            for j in range(len(nums)))
            leaves.append(per_arg[0] if single else per_arg)
            off += s
        jac = _hand(unflatten(out_def, leaves))
        return (jac, _plain_aux(aux)) if has_aux else jac
    wrapped._derivative = True     # its output is a derivative of fun's
    return wrapped


def _zeros_rows(arg):
    leaves, d = flatten(arg)
    return unflatten(d, [np.zeros((0,) + _shape(_as_float_array(x, "jacobian")),
                                  _dtype(_as_float_array(x, "jacobian"))) for x in leaves])


def _map_tree(fn, tree):
    leaves, d = flatten(tree)
    return unflatten(d, [fn(x) for x in leaves])


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian by forward mode: one forward pass carrying a tangent per input element
    (a vmap of jvp over the basis)."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "jacfwd")
        chosen = [args[n] for n in nums]
        trees = [flatten(c) for c in chosen]
        in_leaves = [_as_float_array(x, "jacfwd") for leaves, _ in trees for x in leaves]
        _dtypes("jacfwd", holomorphic, in_leaves, "input")
        shapes = [_shape(x) for x in in_leaves]
        basis, sizes, total = _basis(shapes, [_dtype(x) for x in in_leaves])
        f = _partial(fun, args, kwargs, nums)

        def push(*tangents):
            tans, pos = [], 0
            for leaves, d in trees:
                tans.append(unflatten(d, list(tangents[pos:pos + len(leaves)])))
                pos += len(leaves)
            r = jvp(f, tuple(chosen), tuple(tans), has_aux=has_aux)
            return (r[1], r[2]) if has_aux else r[1]
        if total:
            cols = vmap_call(push, basis, {}, 0, (0, None) if has_aux else 0, total,
                             private=True)
        else:
            r = jvp(f, tuple(chosen), tuple(_map_tree(np.zeros_like, c) for c in chosen),
                    has_aux=has_aux)
            zero = _map_tree(lambda t: np.zeros((0,) + _shape(t), _dtype(t)), r[1])
            cols = (zero, r[2]) if has_aux else zero
        tan, aux = cols if has_aux else (cols, None)
        out_leaves, out_def = flatten(tan)
        if holomorphic:
            _dtypes("jacfwd", True, out_leaves, "output")
        leaves = []
        for col in out_leaves:
            per_arg, pos, off = [], 0, 0
            for arg_leaves, d in trees:
                blocks = []
                for k in range(len(arg_leaves)):
                    blocks.append(_block(col, off, sizes[pos], shapes[pos], last=True))
                    off += sizes[pos]
                    pos += 1
                per_arg.append(unflatten(d, blocks))
            leaves.append(per_arg[0] if single else tuple(per_arg))
        jac = _hand(unflatten(out_def, leaves))
        return (jac, aux) if has_aux else jac
    wrapped._derivative = True     # its output is a derivative of fun's
    return wrapped


def jacobian(fun, argnums=0, mode="rev", has_aux=False, holomorphic=False):
    """The Jacobian, shaped ``out.shape + x.shape`` per output and input leaf; ``mode`` 'rev'
    (jacrev: cheaper for few outputs) or 'fwd' (jacfwd: cheaper for few inputs)."""
    if mode not in ("rev", "fwd"):
        raise ChainruleError("jacobian", expected="mode='rev' or mode='fwd'", actual=repr(mode),
                             fix="rev is cheaper for few outputs, fwd for few inputs")
    return (jacrev if mode == "rev" else jacfwd)(fun, argnums, has_aux, holomorphic)


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian: ``jacfwd(jacrev(fun))`` (forward over reverse), as in JAX; for
    ``argnums=(0, 1)`` a nested tuple ``((H00, H01), (H10, H11))``."""
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)


def hvp(fun, primals, tangents):
    """Hessian-vector product H·v by forward-over-reverse (jvp of grad); never forms H."""
    argnums = tuple(range(len(primals))) if len(primals) > 1 else 0
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]
