"""Products of arrays (matmul, dot, einsum, ...) and their derivatives.

Every product is linear in each argument, so the forward rule is the product
with that argument replaced by its tangent, and the reverse rule is the
adjoint product: the upstream gradient times the *other* arguments.  The
adjoints use matmul on transposed views (``swapaxes``) rather than copies, so
a first-order backward pass costs what NumPy's matmul costs; since they are
written with these same primitives, they can be differentiated again.

Decompositions (inv, solve, det, eigh, svd, ...) live in decompositions.py and
are re-exported at the bottom of this module.
"""
import string
from functools import lru_cache

import numpy as np

from ..core.errors import ChainruleError, describe
from ..core.primitive import (Primitive, _dtype, _shape, defjvp, defjvp_argnum, defvjp,
                              defvjp_argnum)
from .shape import reshape, swapaxes, transpose

_ops = {}
_LETTERS = string.ascii_letters


def _T(a):
    """Matrix transpose of the last two axes, as a view."""
    return swapaxes(a, -1, -2)


def _sum(x, axis):
    from .reductions import sum    # reductions imports this module: import on use
    return sum(x, axis=axis)


def _dense(g):
    """A broadcast gradient (0 strides, e.g. from sum's rule) made contiguous: BLAS refuses
    0-stride operands and NumPy's fallback loop is several times slower than the copy."""
    if type(g) is np.ndarray and 0 in g.strides and g.size > 1:
        return np.ascontiguousarray(g)
    return g


def _ndim(x):
    return len(_shape(x))


def _prod(shape):
    return int(np.prod(shape, dtype=np.int64))


# ------------------------------------------------------------------- matmul
def _promote(a, b, g):
    """a, b and g with matmul's implicit 1-D axes made explicit: (..., p, n) @ (..., n, q)."""
    sa, sb, sg = _shape(a), _shape(b), _shape(g)
    if len(sb) == 1:
        b, sg = reshape(b, sb + (1,)), sg + (1,)
    if len(sa) == 1:
        a, sg = reshape(a, (1,) + sa), sg[:-1] + (1,) + sg[-1:]
    return a, b, reshape(g, sg)


def _matmul_vjp(i, g, ans, a, b):
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray \
            and a.ndim == 2 and b.ndim in (1, 2):
        # first-order pass on the common layer shapes: straight to BLAS, no reshapes
        g = _dense(g)
        if b.ndim == 2:
            return g @ b.T if i == 0 else a.T @ g
        return np.multiply.outer(g, b) if i == 0 else a.T @ g
    sa, sb, g = _shape(a), _shape(b), _dense(g)
    a2, b2, g2 = _promote(a, b, g) if len(sa) == 1 or len(sb) == 1 else (a, b, g)
    if i == 0:
        r = matmul(g2, _T(b2))                            # (..., p, n)
        return reshape(r, _shape(r)[:-2] + sa) if len(sa) == 1 else r
    if len(_shape(b2)) == 2 and len(_shape(a2)) > 2:      # batch folded into one GEMM
        n, q = _shape(b2)
        return reshape(matmul(_T(reshape(a2, (-1, n))), reshape(g2, (-1, q))), sb)
    r = matmul(_T(a2), g2)                                # (..., n, q)
    return reshape(r, _shape(r)[:-1]) if len(sb) == 1 else r


matmul = _ops["matmul"] = Primitive("matmul", np.matmul, expects=(
    "a of shape (..., n, k) and b of shape (..., k, m) (1-D allowed), batch dimensions "
    "broadcastable", "make a's last axis match b's second-to-last (transpose with x.mT?); "
    "use multiply for scalars"))
defvjp_argnum(matmul, _matmul_vjp, formulas={0: "g·Bᵀ", 1: "Aᵀ·g"})
defjvp(matmul, lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t))


# ---------------------------------------------------------------------- dot
def _dot_vjp(i, g, ans, a, b):
    sa, sb, g = _shape(a), _shape(b), _dense(g)
    if not sa or not sb:                                  # a scalar factor: elementwise product
        return g * (b if i == 0 else a)
    if len(sb) == 1:                                      # (..., n)·(n,) -> (...)
        if i == 0:
            return reshape(g, _shape(g) + (1,)) * b
        return matmul(reshape(g, (-1,)), reshape(a, (-1, sb[0])))
    if len(sb) == 2 and i == 0:                           # (..., n)·(n, m): plain matmul
        return matmul(g, _T(b))
    n, m = sb[-2:]                                        # (I..., n)·(K..., n, m) -> (I..., K..., m)
    P, Q = _prod(sa[:-1]), _prod(sb[:-2])
    gq = swapaxes(reshape(g, (P, Q, m)), 0, 1)            # (Q, P, m)
    if i == 0:
        return reshape(_sum(matmul(gq, _T(reshape(b, (Q, n, m)))), 0), sa)
    return reshape(matmul(_T(reshape(a, (P, n))), gq), sb)


dot = _ops["dot"] = Primitive("dot", np.dot, expects=(
    "a.shape[-1] == b.shape[-2] (b.shape[0] for 1-D b)",
    "make the contracted axes match; for batched products use matmul"))
defvjp_argnum(dot, _dot_vjp, formulas={0: "g·Bᵀ", 1: "Aᵀ·g"})
defjvp(dot, lambda t, ans, a, b: dot(t, b), lambda t, ans, a, b: dot(a, t))

# ---------------------------------------------------------- vdot, inner, outer
vdot = _ops["vdot"] = Primitive("vdot", np.vdot, expects=(
    "two arrays with the same number of elements", "reshape one of them"))
defvjp(vdot, lambda g, ans, a, b: g * reshape(b, _shape(a)),
       lambda g, ans, a, b: g * reshape(a, _shape(b)), formulas={0: "g·b", 1: "g·a"})
defjvp(vdot, lambda t, ans, a, b: vdot(t, b), lambda t, ans, a, b: vdot(a, t))


def _inner_vjp(i, g, ans, a, b):
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return g * (b if i == 0 else a)
    a2, b2 = reshape(a, (-1, sa[-1])), reshape(b, (-1, sb[-1]))
    g2 = reshape(g, (_prod(sa[:-1]), _prod(sb[:-1])))     # out[I, K] = a[I, :]·b[K, :]
    return reshape(matmul(g2, b2), sa) if i == 0 else reshape(matmul(_T(g2), a2), sb)


inner = _ops["inner"] = Primitive("inner", np.inner, expects=(
    "a.shape[-1] == b.shape[-1]", "make the last axes match"))
defvjp_argnum(inner, _inner_vjp, formulas={0: "g·B", 1: "gᵀ·A"})
defjvp(inner, lambda t, ans, a, b: inner(t, b), lambda t, ans, a, b: inner(a, t))

outer = _ops["outer"] = Primitive("outer", np.outer)
defvjp(outer, lambda g, ans, a, b: reshape(matmul(g, reshape(b, (-1,))), _shape(a)),
       lambda g, ans, a, b: reshape(matmul(reshape(a, (-1,)), g), _shape(b)),
       formulas={0: "g·b", 1: "gᵀ·a"})
defjvp(outer, lambda t, ans, a, b: outer(t, b), lambda t, ans, a, b: outer(a, t))


# ---------------------------------------------------------------- tensordot
def _td_axes(axes, na, nb):
    """(contracted axes of a, of b), normalised to non-negative lists."""
    if isinstance(axes, (int, np.integer)):
        return list(range(na - axes, na)), list(range(axes))
    xa, xb = axes
    xa = [xa] if isinstance(xa, (int, np.integer)) else list(xa)
    xb = [xb] if isinstance(xb, (int, np.integer)) else list(xb)
    return [x % na for x in xa], [x % nb for x in xb]


def _tensordot_vjp(i, g, ans, a, b, axes=2):
    na, nb = _ndim(a), _ndim(b)
    ca, cb = _td_axes(axes, na, nb)
    fa = [k for k in range(na) if k not in ca]
    fb = [k for k in range(nb) if k not in cb]
    if i == 0:     # g's b-part against b's free axes leaves a's free + contracted axes
        r = tensordot(g, b, (list(range(len(fa), len(fa) + len(fb))), fb))
        perm = fa + [ca[j] for j in np.argsort(cb)]
    else:
        r = tensordot(a, g, (fa, list(range(len(fa)))))
        perm = [cb[j] for j in np.argsort(ca)] + fb
    perm = tuple(int(p) for p in np.argsort(perm))
    return r if perm == tuple(range(len(perm))) else transpose(r, perm)


tensordot = _ops["tensordot"] = Primitive(
    "tensordot", lambda a, b, axes=2: np.tensordot(a, b, axes), expects=(
        "contracted axes of equal length",
        "check the axes argument: a's listed axes must match b's in order"))
defvjp_argnum(tensordot, _tensordot_vjp, formulas={
    0: "tensordot(g, B) over B's free axes", 1: "tensordot(A, g) over A's free axes"})
defjvp(tensordot, lambda t, ans, a, b, axes=2: tensordot(t, b, axes),
       lambda t, ans, a, b, axes=2: tensordot(a, t, axes))


# ------------------------------------------------------------------- einsum
@lru_cache(maxsize=1024)
def _parse(subscripts, ndims):
    """'...ij,jk' -> (('Zij', 'jk'), 'Zik'): ellipses spelled out, the implicit output made explicit."""
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    ins = ins.split(",")
    spare = [c for c in _LETTERS if c not in s]
    widths = [nd - len(sp.replace("...", "")) for sp, nd in zip(ins, ndims) if "..." in sp]
    ell = "".join(spare[:max(widths, default=0)])
    specs = tuple(sp.replace("...", ell[len(ell) - (nd - len(sp) + 3):]) if "..." in sp else sp
                  for sp, nd in zip(ins, ndims))
    if not arrow:                        # NumPy's implicit output: '...' then letters seen once
        flat = "".join(ins).replace(".", "")
        out = ell + "".join(sorted(c for c in set(flat) if flat.count(c) == 1))
    return specs, out.replace("...", ell)


def _einsum_vjp(argnum, g, ans, subscripts, *operands, optimize=False):
    """einsum of g with the other operands, producing operand k's subscripts.

    A letter repeated in operand k ('ii') puts the gradient on a diagonal: the
    extra copy gets a fresh letter tied to the first by an identity matrix.  A
    letter summed inside operand k alone gets a vector of ones to broadcast over.
    """
    k = argnum - 1
    specs, out = _parse(subscripts, tuple(_ndim(x) for x in operands))
    others = [j for j in range(len(operands)) if j != k]
    in_specs, args = [out] + [specs[j] for j in others], [g] + [operands[j] for j in others]
    have = set("".join(in_specs))
    fresh = iter(c for c in _LETTERS if c not in have and c not in specs[k])
    dtype, letters = _dtype(g), []
    for c, n in zip(specs[k], _shape(operands[k])):
        if c in letters:
            d = next(fresh)
            in_specs.append(c + d)
            args.append(np.eye(n, dtype=dtype))
            c = d
        elif c not in have:
            in_specs.append(c)
            args.append(np.ones(n, dtype=dtype))
            have.add(c)
        letters.append(c)
    return _einsum(",".join(in_specs) + "->" + "".join(letters), *args, optimize=optimize)


def _einsum_jvp(argnum, t, ans, subscripts, *operands, optimize=False):
    ops = list(operands)
    ops[argnum - 1] = t
    return _einsum(subscripts, *ops, optimize=optimize)


_einsum = Primitive(
    "einsum", lambda subscripts, *ops, optimize=False: np.einsum(subscripts, *ops, optimize=optimize),
    expects=("one subscript per axis of each operand, equal sizes for equal letters",
             "count the letters against each operand's ndim, or use '...' for leading axes"))
defvjp_argnum(_einsum, _einsum_vjp, formulas={
    k: "einsum(g, other operands) -> this operand's subscripts" for k in range(1, 53)})
defjvp_argnum(_einsum, _einsum_jvp)


def einsum(subscripts, *operands, optimize=False):
    """np.einsum, differentiable in every operand (subscripts string form only)."""
    if not isinstance(subscripts, str):
        raise ChainruleError("einsum", message="only the subscripts-string form is supported",
                             expected="einsum('ij,jk->ik', a, b)",
                             actual=f"first argument {describe(subscripts)}",
                             fix="write the subscripts as a string")
    return _einsum(subscripts, *operands, optimize=optimize)


_ops["einsum"] = einsum


# --------------------------------------------------------------------- kron
def _kron_vjp(i, g, ans, a, b):
    """View g as (a0, b0, a1, b1, ...) blocks, then contract with the other factor."""
    sa, sb = _shape(a), _shape(b)
    nd = max(len(sa), len(sb))
    pa, pb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    g2 = reshape(g, tuple(x for pair in zip(pa, pb) for x in pair))
    gs = "".join(x + y for x, y in zip(la, lb))
    if i == 0:
        return reshape(_einsum(f"{gs},{lb}->{la}", g2, reshape(b, pb)), sa)
    return reshape(_einsum(f"{gs},{la}->{lb}", g2, reshape(a, pa)), sb)


kron = _ops["kron"] = Primitive("kron", np.kron)
defvjp_argnum(kron, _kron_vjp,
              formulas={0: "Σ over each block of g·B", 1: "Σ over blocks of g weighted by A"})
defjvp(kron, lambda t, ans, a, b: kron(t, b), lambda t, ans, a, b: kron(a, t))


def multi_dot(arrays):
    """np.linalg.multi_dot as a chain of dots, left to right."""
    arrays = list(arrays)
    out = arrays[0]
    for x in arrays[1:]:
        out = dot(out, x)
    return out


_ops["multi_dot"] = multi_dot

globals().update(_ops)

from .decompositions import *  # noqa: E402,F401,F403
from .decompositions import __all__ as _decompositions  # noqa: E402

__all__ = sorted(_ops) + list(_decompositions)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# Products are NumPy's own calls (BLAS); the decompositions run through their Primitive.fn.
LOWER = {
    "matmul": "{0} @ {1}", "dot": "np.dot({0}, {1})", "vdot": "np.vdot({0}, {1})",
    "inner": "np.inner({0}, {1})", "outer": "np.outer({0}, {1})", "kron": "np.kron({0}, {1})",
    "einsum": lambda e: None if set(e.kwargs) - {"optimize"} else
    f"np.einsum({', '.join(e.arg(i) for i in range(len(e.args)))}, "
    f"optimize={e.params(()).get('optimize', False)!r})",
}
