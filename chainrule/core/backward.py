"""The backward pass: the chain rule, applied once per node in reverse topological order.

Seed the output with a gradient (1 for a scalar loss), then walk the graph
from the output back to the inputs.  At each node, every input that needs a
gradient receives ``vjp(upstream gradient)``; gradients arriving at the same
node along different paths are added.  That is all of backpropagation.
"""
from __future__ import annotations

import itertools
import operator

import numpy as np

from . import state
from .anomaly import check_gradient
from .errors import ChainruleError, ChainruleRuntimeError, ChainruleTypeError, describe
from .hooks import registry as _tensor_hooks
from .hooks import run_hooks
from .primitive import Primitive, _dtype, conj, fit_grad
from .tensor import Tensor, has_open_level
from .tensor import modified_in_place as _modified

# Observers of the backward pass (explain.trace, explain.kinks, anomaly mode) are called as
# hook(node, upstream_gradient, [(input, gradient_sent), ...]); each thread has its own list.
_state = state.local


class Observer:
    """Base for ``with`` blocks that watch every backward pass run inside them (in this thread).

    Subclasses define ``_hook(node, upstream, sent)``.
    """
    _hooks = None

    def __enter__(self):
        self._hooks = _state.hooks
        self._hooks.append(self._hook)
        return self

    def __exit__(self, *exc):
        if self._hooks is not None:
            self._hooks.remove(self._hook)
            self._hooks = None
        return False


def _freed(*_a, **_k):
    raise ChainruleRuntimeError(
        "backward", message="trying to backward through the graph a second time",
        expected="a graph that still holds its saved values",
        actual="a graph already freed by an earlier backward()",
        fix="call backward(retain_graph=True) the first time if you need to go through it again, "
            "or recompute the forward pass")


FREED = Primitive("freed", None)
FREED.vjp = _freed


def toposort(root, stop=None):
    """Tensors reachable from ``root`` through links that need gradients, inputs first.

    Every Tensor carries a creation number larger than its parents', so
    sorting the reachable set by it is a topological order; collecting the set
    is an iterative walk (a chain of a million operations must not hit
    Python's recursion limit).  Tensors in ``stop`` (a set) are not looked through.
    (Tensors hash by identity, so they serve as set and dict keys.)
    """
    if type(root) is list:              # several outputs (chainrule.autograd.grad)
        nodes = list(dict.fromkeys(root))
        seen = set(nodes)
        stack = list(nodes)
    else:
        nodes = [root]
        seen = {root}
        stack = [root]
    while stack:
        t = stack.pop()
        parents = t._parents
        if parents is not None and (stop is None or t not in stop):
            for _, p in parents:
                if p.requires_grad and p not in seen:
                    seen.add(p)
                    nodes.append(p)
                    stack.append(p)
    nodes.sort(key=_seq)
    return nodes


_seq = operator.attrgetter("_seq")


def _seed(out, gradient, op="backward"):
    if gradient is None:
        if out.data.dtype.kind == "c":
            raise ChainruleTypeError(
                op, message="grad can be implicitly created only for a real scalar output",
                expected="a real scalar (a loss)", actual=f"output of {describe(out.data)}",
                fix="reduce to a real number first (e.g. (z.abs() ** 2).sum()), or pass "
                    "gradient=<complex array of the output's shape>")
        if out.data.size != 1:
            raise ChainruleError(
                op, message="grad can be implicitly created only for a scalar output",
                expected="a scalar (one-element) output, like a loss",
                actual=f"output of {describe(out.data)}",
                fix="reduce it first, e.g. y.sum().backward(), or pass gradient=<array of the "
                    "output's shape> (the vector in the vector-Jacobian product)")
        d = out.data
        return np.array(1, dtype=d.dtype) if d.ndim == 0 else np.ones(d.shape, dtype=d.dtype)
    g = gradient.data if isinstance(gradient, Tensor) and not gradient.requires_grad else gradient
    if np.shape(g) != out.data.shape:
        raise ChainruleError(op, message="gradient has the wrong shape",
                             expected=f"shape {out.data.shape} (the output's)",
                             actual=f"{describe(np.asarray(g) if not isinstance(g, Tensor) else g)}",
                             fix="pass a gradient shaped like the output")
    if not isinstance(g, Tensor):
        g = np.asarray(g, dtype=out.data.dtype)
    return g


def backward(out, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``Tensor.backward``: accumulate d(out)/d(leaf) into every leaf's ``.grad`` (or only into
    the Tensors in ``inputs``, as in PyTorch)."""
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ChainruleRuntimeError(
            "backward", message="this Tensor does not require grad and has no graph",
            expected="a Tensor computed from inputs created with requires_grad=True",
            actual="requires_grad=False",
            fix="create the inputs with chainrule.tensor(..., requires_grad=True), "
                "and do not compute under no_grad()")
    if retain_graph is None:
        retain_graph = create_graph
    seed = _torch_convention(_seed(out, gradient))
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor(seed)
    retained = []
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    grads = run_backward(out, seed, create_graph=create_graph, free=not retain_graph,
                         retained=retained, inputs=inputs, through=True)
    accumulate(grads, retained, create_graph, taken=(gradient,))


def accumulate(grads, retained, create_graph, taken=()):
    """Add the gradients of a backward pass into ``.grad``."""
    retained = retained or []
    if create_graph:
        for t, g in grads + retained:
            g = _torch_convention(g)
            t.grad = g if t.grad is None else t.grad + g
        return
    # a rule may hand the same array to several inputs (x + y), or pass the seed straight
    # through: no two .grad attributes, nor a .grad and the seed, may share memory, since
    # optimizers update them in place
    values = [_torch_convention(g.data if isinstance(g, Tensor) else g)
              for _, g in grads + retained]
    values = hand_over(values, taken=taken)
    for (t, _), g in zip(grads + retained, values):
        t.grad = g if t.grad is None else t.grad + g


def _torch_convention(g):
    """A complex gradient as PyTorch hands it over: the conjugate of the rules' (JAX's) cotangent.

    The rules compute cotangents in JAX's convention (the transpose of the derivative, no
    conjugation); PyTorch's ``.grad`` is their conjugate, the direction of steepest ascent
    of a real loss, so ``z -= lr * z.grad`` descends.  Applied once at the seed and once at
    the hand-over; real gradients pass untouched (docs/autodiff.md, "Complex numbers").
    """
    if g is None or g.dtype.kind != "c":        # ndarrays, Tensors and NumPy scalars
        return g
    return conj(g) if isinstance(g, Tensor) else np.conjugate(g)


def _root(a):
    """The object that owns ``a``'s memory (two arrays can share memory only if it is the same)."""
    while isinstance(a, _ndarray) and a.base is not None:
        a = a.base
    return a


def hand_over(values, taken=()):
    """Results as the user receives them: writeable arrays that share memory with nothing else
    handed out (each other, the seed, the inputs in ``taken``).

    Rules pass gradients through by reference where they can (add's rule returns its
    upstream gradient twice), which keeps the backward pass free of copies; the copies
    happen here, only for the arrays that need them.
    """
    roots = {id(_root(x)) for x in taken if isinstance(x, _ndarray)}
    out = []
    for v in values:
        if type(v) is not _ndarray:          # Tensors (an outer transform is still at work),
            out.append(v)                    # scalars (immutable), None
            continue
        r = id(v if v.base is None else _root(v))
        if r in roots or not v.flags.writeable:
            v = v.copy()
            r = id(v)
        roots.add(r)
        out.append(v)
    return out


def run_backward(out, seed, create_graph=False, free=False, inputs=None, retained=None,
                 through=False, freed=None):
    """The chain rule.  Returns [(tensor, gradient)] for leaves (or for ``inputs``).

    ``out`` may be a list of outputs with a list of seeds.  Intermediates that asked for
    ``retain_grad`` get their gradient too, in ``.grad`` (or, when ``retained`` is a list, as
    (tensor, gradient) pairs appended to it).  Tensor hooks (register_hook) see each node's
    gradient before it is used.  ``through``: the walk goes on past ``inputs`` that are
    intermediates (PyTorch's autograd.grad with inputs at several depths of one graph).
    ``freed``: a list that receives the nodes of earlier, freed graphs found on the way.
    """
    stop = None if inputs is None else set(inputs)
    order = toposort(out, None if through else stop)
    if _modified:
        _check_unmodified(order)
    if freed is not None:
        freed.extend(t for t in order if t._op is FREED)
    if type(out) is list:
        grads = {}
        for o, s in zip(out, seed):
            grads[o] = s if o not in grads else grads[o] + s
    else:
        grads = {out: seed}
    hooks, anomaly = _state.hooks, _state.anomaly
    if stop is None and not create_graph and not hooks and not anomaly and not _tensor_hooks:
        return _first_order(order, grads, free, retained)
    relevant = None if stop is None else _depends_on(order, stop)
    tensor_hooks = _tensor_hooks
    owned = set()                     # gradient arrays we made, so may add into in place
    results = []
    for t in _walk(order, free):
        g = grads.pop(t, None)
        if g is None:
            continue
        op = t._op
        if op is FREED:
            _freed()
        if relevant is not None and t not in relevant:
            continue
        if tensor_hooks and id(t) in tensor_hooks:
            g = run_hooks(t, g, create_graph)
            owned.discard(t)
        if op is None or (stop is not None and t in stop):
            results.append((t, g))
            if op is None or not through:
                continue
        if t._retain:
            _retain(t, g.data if isinstance(g, Tensor) and not create_graph else g, retained)
        args, ans = (t._args, t) if create_graph else (t._raw, t.data)
        sent = [] if hooks else None
        for i, a in t._parents:
            if relevant is not None and a not in relevant or not a.requires_grad:
                continue
            pg = _vjp(op, i, g, ans, args, t._kw, a)
            if anomaly:
                check_gradient(t, i, pg)
            if sent is not None:
                sent.append((a, pg))
            _accumulate(grads, owned, a, pg)
        if sent is not None:
            for h in hooks:
                h(t, g, sent)
        if free:
            _free(t)
    return results


def _check_unmodified(order):
    """Refuse a graph one of whose saved leaves was written in place after it was recorded:
    its rules would compute with the new values (PyTorch's version-counter error)."""
    for t in order:
        if t._parents:
            for _, a in t._parents:
                when = _modified.get(id(a))
                if when is not None and when > t._seq:
                    raise ChainruleRuntimeError(
                        "backward", message="a Tensor this graph needs was modified in place "
                                            "after the graph used it",
                        expected="the values the forward pass saw",
                        actual=f"{describe(a.data)} written in place after {t._op.name} "
                               "recorded it",
                        fix="call backward() before updating it (forward, backward, then the "
                            "optimizer step), or run the forward pass again")


def _retain(t, g, retained):
    if retained is not None:
        retained.append((t, g))
    else:
        t.grad = g if t.grad is None else t.grad + g


def _walk(order, free, large=1 << 16):
    """The nodes from the output back.  When the graph is being freed and holds large arrays,
    each node is popped, so its value goes as soon as it is done (a deep network's backward
    pass then peaks well below activations + gradients).  Otherwise the list is read in place,
    about 0.1 µs a node quicker, which is a tenth of a small op's cost.  Three nodes decide:
    a look that must cost less than it can save on a ten-node graph."""
    n = len(order)
    if free and n and (order[n >> 1].data.nbytes >= large or order[n >> 2].data.nbytes >= large
                       or order[(3 * n) >> 2].data.nbytes >= large):
        return map(order.pop, itertools.repeat(-1, n))
    return reversed(order)


def _first_order(order, grads, free, retained=None):
    """The same loop for the common case (plain arrays, every leaf, no observers), kept tight.

    It inlines ``_vjp`` and ``_accumulate`` on purpose: one Python call less per edge is
    measurable on small graphs (see docs/benchmarks.md).  Keep the three in step.
    """
    owned = set()
    results = []
    pop, get = grads.pop, grads.get
    for t in _walk(order, free):
        g = pop(t, None)
        if g is None:
            continue
        op = t._op
        if op is None:
            results.append((t, g))
            continue
        if op is FREED:
            _freed()
        if t._retain:
            _retain(t, g, retained)
        args, ans, kw, rules = t._raw, t.data, t._kw, op.vjps
        for i, a in t._parents:
            if not a.requires_grad:
                continue
            rule = rules[i] if rules is not None and i < len(rules) else None
            if rule is None or kw:
                pg = _vjp(op, i, g, ans, args, kw, a)
            else:
                pg = rule(g, ans, *args)
                ad = a.data
                if type(pg) is _ndarray or type(pg) in _SCALARS:     # 0-d ops give scalars
                    if pg.shape != ad.shape or pg.dtype != ad.dtype:
                        pg = fit_grad(pg, a)
                else:
                    pg = fit_grad(pg, a)
            prev = get(a)
            if prev is None:
                grads[a] = pg
            elif a in owned:
                prev += pg
            else:
                grads[a] = prev = prev + pg
                if type(prev) is _ndarray:
                    owned.add(a)
        if free:
            t._op = FREED
            t._args = t._raw = t._kw = t._parents = t._guard = None
    return results


def _vjp(op, i, g, ans, args, kw, a):
    """Argument i's share of the gradient, summed to its shape and cast to its dtype."""
    rules = op.vjps
    rule = rules[i] if rules is not None and i < len(rules) else None
    if rule is None:
        pg = op.vjp(i, g, ans, *args, **kw)
    elif kw:
        pg = rule(g, ans, *args, **kw)
    else:
        pg = rule(g, ans, *args)
    ad = a.data
    if type(pg) is _ndarray or type(pg) in _SCALARS:     # 0-d ops give NumPy scalars
        if pg.shape != ad.shape or pg.dtype != ad.dtype:
            pg = fit_grad(pg, a)
    else:
        pg = fit_grad(pg, a)
    return pg


def _accumulate(grads, owned, a, pg):
    """Add a gradient arriving at ``a``: in place only into arrays this pass created."""
    prev = grads.get(a)
    if prev is None:
        grads[a] = pg
    elif a in owned:
        prev += pg
    else:
        grads[a] = prev = prev + pg
        if type(prev) is _ndarray:
            owned.add(a)


def _free(t):
    t._op = FREED
    t._args = t._raw = t._kw = t._parents = t._guard = None


_ndarray = np.ndarray
_SCALARS = frozenset((np.float64, np.float32, np.float16, np.complex128, np.complex64))


def _depends_on(order, stop):
    """The tensors in ``order`` that depend on any of the ``stop`` tensors."""
    dep = set(stop)
    for t in order:
        parents = t._parents
        if parents is not None and t not in stop:
            for _, a in parents:
                if a in dep:
                    dep.add(t)
                    break
    return dep


def outer_active(out, inputs):
    """Which outer derivatives ``out`` depends on: (reverse-mode tape, forward-mode tangents).

    If either, gradients must be built from Tensors so the outer transform can
    differentiate them (create_graph); the backward pass itself needs recording
    only for an outer reverse mode.  Otherwise plain arrays are faster.
    """
    levels = _state.levels
    fw = bool(levels) and (has_open_level(out) or any(has_open_level(t) for t in inputs))
    tape = any(t._op is not None for t in inputs)      # an input linked to an outer variable
    if tape and (fw or not levels):
        return tape, fw
    stop = set(inputs)
    for t in toposort(out, stop):
        if t in stop:
            continue
        if t._op is None and t.requires_grad:
            tape = True
        if levels and not fw:
            if has_open_level(t):
                fw = True
            elif t._args is not None:
                fw = any(isinstance(a, Tensor) and has_open_level(a) for a in t._args)
        if tape and (fw or not levels):
            break
    return tape, fw


def grad_of(out, inputs, seed=None, create_graph=None, op="grad", missing=None, also=()):
    """d(out)/d(inputs) without touching ``.grad`` (what the functional transforms use).

    An input the output does not depend on gets zeros; its index is appended to
    ``missing`` when a list is given (so a transform can say so).  ``also``: values the
    result depends on besides the graph (a cotangent that is itself being differentiated).
    """
    if create_graph is None:
        tape, fw = outer_active(out, inputs)
        for v in also:
            if isinstance(v, Tensor):
                tape = tape or bool(v.requires_grad)
                fw = fw or has_open_level(v)
        create_graph, record = tape or fw, tape
    else:
        record = create_graph
    seed = _seed(out, seed, op) if seed is None or not isinstance(seed, Tensor) else seed
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor(seed)
    if not out.requires_grad:
        found = {}
    else:
        # with only outer tangents to carry, compute on Tensors but record nothing
        with state.enable_grad() if record else state.no_grad():
            found = dict(run_backward(out, seed, create_graph=create_graph, inputs=inputs))
    result = []
    for k, t in enumerate(inputs):
        g = found.get(t)
        if g is None:
            g = np.zeros_like(t.data)
            if missing is not None:
                missing.append(k)
        if type(g) is Tensor and not create_graph:      # (a batch of cotangents stays batched)
            g = g.data
        result.append(g)
    return result


def check_scalar_output(out, op):
    """A gradient needs a real scalar (one example's scalar inside vmap)."""
    if isinstance(out, Tensor):
        dtype, shape = out.dtype, out.shape
    else:
        a = np.asarray(out)
        dtype, shape = a.dtype, a.shape
    what = f"shape {tuple(shape)} {dtype}"
    if dtype.kind not in "fc":
        raise ChainruleTypeError(
            op, message="the function's output must be floating point",
            expected="a float scalar (a loss)", actual=what,
            fix="return a float value; comparisons and integer casts have no gradient")
    if dtype.kind == "c":
        raise ChainruleTypeError(
            op, message="the function's output is complex, and a complex number has no gradient",
            expected="a real scalar output (as in JAX and autograd)", actual=what,
            fix="return a real number, e.g. cnp.abs(z) ** 2 or the real part; for f'(z) of a "
                "holomorphic f pass holomorphic=True; otherwise use chainrule.jvp or chainrule.vjp")
    if int(np.prod(shape)) != 1:
        raise ChainruleTypeError(
            op, message="the function must return a scalar",
            expected="a scalar output (one element)", actual=f"output of {what}",
            fix="reduce it (e.g. .sum() or .mean()), or use chainrule.vjp / chainrule.jacobian "
                "for non-scalar outputs")
