"""Products of arrays (matmul, dot, einsum, ...) and their derivatives.

Every product is linear in each argument, so the forward rule is the product
with that argument replaced by its tangent, and the reverse rule is the
adjoint product: the upstream gradient times the *other* arguments.  The
adjoints use matmul on transposed views (``swapaxes``) rather than copies, so
a first-order backward pass costs what NumPy's matmul costs; since they are
written with these same primitives, they can be differentiated again.

Decompositions (inv, solve, eigh, svd, ...) live in decompositions.py, det and
slogdet in determinants.py; both are re-exported at the bottom of this module.
"""
import operator
import string
from functools import lru_cache

import numpy as np

from ..core.batching import align
from ..core.errors import ChainruleError
from ..core.primitive import (Primitive, _dtype, _shape, astype, defbatch, defjvp, defjvp_argnum,
                              defvjp, defvjp_argnum)
from ..core.tensor import Tensor
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


def _matmul_vjp(i, g, ans, a, b, **kw):     # kw: dtype=, casting=... (numpy/signatures.py)
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
        rows = _prod(_shape(a2)[:-1])                     # explicit: -1 fails on size 0
        n, q = _shape(b2)
        return reshape(matmul(_T(reshape(a2, (rows, n))), reshape(g2, (rows, q))), sb)
    r = matmul(_T(a2), g2)                                # (..., n, q)
    return reshape(r, _shape(r)[:-1]) if len(sb) == 1 else r


matmul = _ops["matmul"] = Primitive("matmul", np.matmul, expects=(
    "a of shape (..., n, k) and b of shape (..., k, m) (1-D allowed), batch dimensions "
    "broadcastable", "make a's last axis match b's second-to-last (transpose with x.mT?); "
    "use multiply for scalars"))
defvjp_argnum(matmul, _matmul_vjp, formulas={0: "g·Bᵀ", 1: "Aᵀ·g"})
defjvp(matmul, lambda t, ans, a, b, **kw: matmul(t, b), lambda t, ans, a, b, **kw: matmul(a, t))


# ---------------------------------------------------------------------- dot
def _dot_vjp(i, g, ans, a, b):
    sa, sb, g = _shape(a), _shape(b), _dense(g)
    if not sa or not sb:                                  # a scalar factor: elementwise product
        return g * (b if i == 0 else a)
    if len(sb) == 1:                                      # (..., n)·(n,) -> (...)
        if i == 0:
            return reshape(g, _shape(g) + (1,)) * b
        return matmul(reshape(g, (-1,)), reshape(a, (_prod(sa[:-1]), sb[0])))
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
def _conj(x):
    from ..core.primitive import conj
    return conj(x) if _dtype(x).kind == "c" else x


vdot = _ops["vdot"] = Primitive("vdot", np.vdot, expects=(
    "two arrays with the same number of elements", "reshape one of them"))
# vdot(a, b) = Σ conj(a)·b: in a it is conjugate-linear, so its transpose conjugates
defvjp(vdot, lambda g, ans, a, b: _conj(g * reshape(b, _shape(a))),
       lambda g, ans, a, b: g * _conj(reshape(a, _shape(b))), formulas={0: "g·b", 1: "g·a"})
defjvp(vdot, lambda t, ans, a, b: vdot(t, b), lambda t, ans, a, b: vdot(a, t))


def _inner_vjp(i, g, ans, a, b):
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return g * (b if i == 0 else a)
    a2 = reshape(a, (_prod(sa[:-1]), sa[-1]))
    b2 = reshape(b, (_prod(sb[:-1]), sb[-1]))
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
    return _einsum(",".join(in_specs) + "->" + "".join(letters), *args,
                   optimize=_rule_path(optimize))


def _einsum_jvp(argnum, t, ans, subscripts, *operands, optimize=False):
    ops = list(operands)
    ops[argnum - 1] = t
    return _einsum(subscripts, *ops, optimize=optimize)   # the same operands: the same path


_einsum = Primitive(
    "einsum", lambda subscripts, *ops, optimize=False: np.einsum(subscripts, *ops, optimize=optimize),
    expects=("one subscript per axis of each operand, equal sizes for equal letters",
             "count the letters against each operand's ndim, or use '...' for leading axes"))
defvjp_argnum(_einsum, _einsum_vjp, formulas={
    k: "einsum(g, other operands) -> this operand's subscripts" for k in range(1, 53)})
defjvp_argnum(_einsum, _einsum_jvp)


def _sublist_letters(sub):
    """NumPy's sublist labels as subscript letters: 0-25 -> A-Z, 26-51 -> a-z, ... -> '...'."""
    out = []
    for label in sub:
        if label is Ellipsis:
            out.append("...")
            continue
        try:
            k = operator.index(label)
        except TypeError:
            raise TypeError("For this input type lists must contain either int or Ellipsis") \
                from None
        if not 0 <= k < 52:
            raise ValueError(f"subscript is not within the valid range [0, 52), got {k}")
        out.append(_LETTERS[26:][k] if k < 26 else _LETTERS[:26][k - 26])
    return "".join(out)


def _subscripts(operands):
    """(subscripts string, operands) from either of einsum's call forms."""
    if isinstance(operands[0], str):
        return operands[0], operands[1:]
    arrays, subs = operands[0::2], operands[1::2]
    out = None
    if len(operands) % 2:                       # a trailing output sublist
        arrays, out = arrays[:-1], operands[-1]
    spec = ",".join(_sublist_letters(s) for s in subs)
    return (spec if out is None else spec + "->" + _sublist_letters(out)), arrays


def _rule_path(optimize):
    """An explicit contraction path fits only the original operands; the rules' own einsums
    have others, so they let NumPy choose (greedy)."""
    return "greedy" if isinstance(optimize, (list, tuple)) else optimize


def einsum(*operands, out=None, optimize=False, **kwargs):
    """np.einsum, differentiable in every operand: the subscripts form and the sublist form
    (``einsum(a, [0, 1], b, [1, 2], [0, 2])``), every ``optimize=`` NumPy takes (False,
    True, 'greedy', 'optimal', or a path from np.einsum_path)."""
    if not any(isinstance(x, Tensor) for x in operands):        # plain arrays: NumPy itself
        return np.einsum(*operands, out=out, optimize=optimize, **kwargs)
    if out is not None:
        raise ChainruleError("einsum", message="out= cannot write into an array while recording",
                             expected="out=None", actual="an output array",
                             fix="assign the result instead: y = einsum(...)")
    subscripts, arrays = _subscripts(operands)
    dtype, casting = kwargs.pop("dtype", None), kwargs.pop("casting", "safe")
    kwargs.pop("order", None)                       # memory layout only
    if kwargs:
        raise TypeError(f"einsum() got unexpected keyword arguments {sorted(kwargs)}")
    if dtype is not None:
        dtype = np.dtype(dtype)
        for a in arrays:
            if not np.can_cast(_dtype(a), dtype, casting=casting):
                raise TypeError(f"einsum: cannot cast operand of dtype {_dtype(a)} to {dtype} "
                                f"with casting={casting!r}")
        arrays = [astype(a, dtype) if _dtype(a) != dtype else a for a in arrays]
    return _einsum(subscripts, *arrays, optimize=optimize)


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


def _chain_order(shapes):
    """split[i][j]: where the cheapest product of matrices i..j splits (matrix-chain DP,
    first minimum on ties, as NumPy's multi_dot chooses)."""
    n = len(shapes)
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(arrays, split, i, j):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return dot(_chain(arrays, split, i, k), _chain(arrays, split, k + 1, j))


def multi_dot(arrays, *, out=None):
    """np.linalg.multi_dot: dots in the cheapest order, the one NumPy picks (so the values
    round the same way); 1-D ends are a row and a column vector, as in NumPy."""
    arrays = list(arrays)
    if not any(isinstance(a, Tensor) for a in arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise ChainruleError("linalg.multi_dot", message="out= cannot be recorded for gradients",
                             expected="out=None", actual="an output array",
                             fix="assign the result instead: y = cnp.linalg.multi_dot(...)")
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return dot(arrays[0], arrays[1])
    first, last = _ndim(arrays[0]), _ndim(arrays[-1])
    if first == 1:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last == 1:                   # a transposed row, as NumPy makes it (BLAS sees its layout)
        arrays[-1] = _T(reshape(arrays[-1], (1, -1)))
    bad = [k for k, a in enumerate(arrays) if _ndim(a) != 2]
    if bad:
        raise np.linalg.LinAlgError(f"{_ndim(arrays[bad[0]])}-dimensional array given. "
                                    "Array must be two-dimensional")
    shapes = [_shape(a) for a in arrays]
    if n == 3:      # NumPy's rule for three: compare the two costs directly
        (p, q), (r, s) = shapes[0], shapes[2]
        split = [[0, 0, 1 if p * r * (q + s) < q * s * (p + r) else 0], [0, 0, 1]]
    else:
        split = _chain_order(shapes)
    r = _chain(arrays, split, 0, n - 1)
    if first == 1 and last == 1:
        return reshape(r, ())
    return reshape(r, (-1,)) if first == 1 or last == 1 else r


_ops["multi_dot"] = multi_dot


# ------------------------------------------------------- batching rules (vmap)
# Products batch over one more leading axis: matmul's own broadcasting when both examples are
# matrices (or vectors, promoted), einsum with a batch letter for the rest.
def _per(x, d):
    return _shape(x)[1:] if d is not None else _shape(x)


def _b_matmul(op, bdims, n, a, b):
    (da, db), sa, sb = bdims, _per(a, bdims[0]), _per(b, bdims[1])
    if not sa or not sb:
        return NotImplemented                       # NumPy's error, from the loop
    va, vb = len(sa) == 1, len(sb) == 1
    if va and db is None and da is not None:        # a batch of vectors times shared matrices
        return matmul(a, b)
    if va:
        a = reshape(a, ((n,) if da is not None else ()) + (1,) + sa)
        sa = (1,) + sa
    if vb:
        b = reshape(b, ((n,) if db is not None else ()) + sb + (1,))
        sb = sb + (1,)
    k = max(len(sa), len(sb))
    if len(sa) == 2 and len(sb) == 2 and (da is None) != (db is None):
        # one side shared: fold the batch into the other's rows or columns, one GEMM
        # (NumPy's matmul would loop over the batch)
        (p_, m_), q_ = sa, sb[1]
        if da is not None:
            out = reshape(matmul(reshape(a, (n * p_, m_)), b), (n, p_, q_))
        else:                           # a·bᵢ = (bᵢᵀ·aᵀ)ᵀ: the batch's columns as rows
            rows = reshape(_T(b), (n * q_, m_))
            out = _T(reshape(matmul(rows, _T(a)), (n, q_, p_)))
    else:
        out = matmul(align(a, da, k), align(b, db, k))
    if va or vb:
        s = _shape(out)
        out = reshape(out, s[:-2] + (s[-1:] if va and not vb else s[-2:-1] if vb and not va
                                     else ()))
    return out


def _letters(used, k):
    return [c for c in _LETTERS if c not in used][:k]


def _b_einsum_of(specs, out, ops, bdims, optimize=False):
    z = _letters("".join(specs) + out, 1)[0]
    specs = [z + sp if d is not None else sp for sp, d in zip(specs, bdims)]
    return _einsum(",".join(specs) + "->" + z + out, *ops, optimize=optimize)


def _b_dot(op, bdims, n, a, b):
    (da, db), sa, sb = bdims, _per(a, bdims[0]), _per(b, bdims[1])
    if not sa or not sb:
        from .elementwise import multiply
        from ..core.batching import batch_elementwise
        return batch_elementwise(multiply, bdims, n, a, b)
    if len(sa) <= 2 and len(sb) <= 2:               # dot is matmul for vectors and matrices
        return _b_matmul(matmul, bdims, n, a, b)
    if db is None:                                  # a's leading axes come first anyway
        return op(a, b)
    le = _letters("yx", len(sa) - 1 + max(len(sb) - 2, 0))
    i_, k_ = "".join(le[:len(sa) - 1]), "".join(le[len(sa) - 1:])
    if len(sb) == 1:
        return _b_einsum_of([i_ + "y", "y"], i_, (a, b), bdims)
    return _b_einsum_of([i_ + "y", k_ + "yx"], i_ + k_ + "x", (a, b), bdims)


def _b_inner(op, bdims, n, a, b):
    sa, sb = _per(a, bdims[0]), _per(b, bdims[1])
    if not sa or not sb:
        from .elementwise import multiply
        from ..core.batching import batch_elementwise
        return batch_elementwise(multiply, bdims, n, a, b)
    le = _letters("y", len(sa) + len(sb) - 2)
    i_, k_ = "".join(le[:len(sa) - 1]), "".join(le[len(sa) - 1:])
    return _b_einsum_of([i_ + "y", k_ + "y"], i_ + k_, (a, b), bdims)


def _flat(x, d, n):
    per = _per(x, d)
    return reshape(x, ((n,) if d is not None else ()) + (_prod(per),))


def _b_outer(op, bdims, n, a, b):
    return _b_einsum_of(["i", "j"], "ij", (_flat(a, bdims[0], n), _flat(b, bdims[1], n)), bdims)


def _b_vdot(op, bdims, n, a, b):
    if _dtype(a).kind == "c" or _dtype(b).kind == "c":
        return NotImplemented                       # vdot conjugates a: the loop keeps that
    return _b_einsum_of(["i", "i"], "", (_flat(a, bdims[0], n), _flat(b, bdims[1], n)), bdims)


def _b_tensordot(op, bdims, n, a, b, axes=2):
    sa, sb = _per(a, bdims[0]), _per(b, bdims[1])
    ca, cb = _td_axes(axes, len(sa), len(sb))
    le = _letters("", len(sa) + len(sb))
    la = le[:len(sa)]
    lb = le[len(sa):]
    for i, j in zip(ca, cb):
        lb[j] = la[i]
    out = [la[i] for i in range(len(sa)) if i not in ca] + [lb[j] for j in range(len(sb)) if j not in cb]
    return _b_einsum_of(["".join(la), "".join(lb)], "".join(out), (a, b), bdims)


def _b_einsum(op, bdims, n, subscripts, *operands, optimize=False):
    specs, out = _parse(subscripts, tuple(len(_per(x, d)) for x, d in zip(operands, bdims[1:])))
    return _b_einsum_of(list(specs), out, operands, bdims[1:], optimize)


def _b_kron(op, bdims, n, a, b):
    """kron(a, b)[i·B + j] = a[i]·b[j] on every axis: an outer product with axes interleaved."""
    from .elementwise import multiply
    sa, sb = _per(a, bdims[0]), _per(b, bdims[1])
    nd = max(len(sa), len(sb))
    pa, pb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    lead_a, lead_b = (n,) if bdims[0] is not None else (), (n,) if bdims[1] is not None else ()
    a2 = reshape(a, lead_a + tuple(v for x in pa for v in (x, 1)))
    b2 = reshape(b, lead_b + tuple(v for x in pb for v in (1, x)))
    return reshape(multiply(a2, b2), (n,) + tuple(x * y for x, y in zip(pa, pb)))


BATCH = {matmul: _b_matmul, dot: _b_dot, inner: _b_inner, outer: _b_outer, vdot: _b_vdot,
         tensordot: _b_tensordot, _einsum: _b_einsum, kron: _b_kron}
for _op, _rule in BATCH.items():
    defbatch(_op, _rule)

globals().update(_ops)

from .decompositions import *  # noqa: E402,F401,F403
from .decompositions import __all__ as _decompositions  # noqa: E402
from .determinants import *  # noqa: E402,F401,F403
from .determinants import __all__ as _determinants  # noqa: E402

__all__ = sorted(_ops) + list(_decompositions) + list(_determinants)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# Products are NumPy's own calls (BLAS); the decompositions run through their Primitive.fn.
LOWER = {
    "matmul": "{0} @ {1}", "dot": "np.dot({0}, {1})", "vdot": "np.vdot({0}, {1})",
    "inner": "np.inner({0}, {1})", "outer": "np.outer({0}, {1})", "kron": "np.kron({0}, {1})",
    "einsum": lambda e: None if set(e.kwargs) - {"optimize"} else
    f"np.einsum({', '.join(e.arg(i) for i in range(len(e.args)))}, "
    f"optimize={e.params(()).get('optimize', False)!r})",
}
