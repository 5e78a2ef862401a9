"""PyTorch's functional autograd on chainrule Tensors: ``grad`` and ``backward``.

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (gx,) = chainrule.autograd.grad(y, x, create_graph=True)   # 3x², still on the graph
    (gxx,) = chainrule.autograd.grad(gx.sum(), x)               # 6x

Same arguments, defaults and errors as ``torch.autograd.grad``: nothing is accumulated into
``.grad``; the graph is freed unless ``retain_graph`` (default: ``create_graph``); an input the
outputs do not depend on is an error unless ``allow_unused=True`` (then its gradient is
None, or zeros with ``materialize_grads=True``); ``is_grads_batched=True`` treats the first
axis of every ``grad_outputs`` entry as a batch of cotangents, pulled back in one pass (vmap).
Gradients are returned as Tensors, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .core import batching
from .core.backward import accumulate, run_backward
from .core.errors import ChainruleError, ChainruleRuntimeError, describe
from .core.tensor import Tensor

__all__ = ["grad", "backward"]


def _tensors(x, what):
    if isinstance(x, Tensor):
        return [x], True
    if isinstance(x, (list, tuple)) and all(isinstance(t, Tensor) for t in x):
        return list(x), False
    raise ChainruleError(f"autograd.grad", message=f"{what} must be a Tensor or a sequence of "
                         "Tensors", actual=type(x).__name__,
                         fix=f"pass {what} as a Tensor or a tuple of Tensors")


def _seeds(outputs, grad_outputs, create_graph, batched):
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or np.isscalar(grad_outputs):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ChainruleRuntimeError(
            "autograd.grad", message=f"grad requires one grad_output per output: got "
                                     f"{len(grad_outputs)} grad_outputs and {len(outputs)} outputs",
            fix="pass one gradient per output (None for a scalar output)")
    seeds = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if o.data.size != 1:
                raise ChainruleRuntimeError(
                    "autograd.grad", message="grad can be implicitly created only for scalar "
                                             "outputs", expected="a scalar output, or grad_outputs",
                    actual=f"output {i} of {describe(o.data)}",
                    fix="pass grad_outputs=<a tensor shaped like the output>")
            if batched:
                raise ChainruleRuntimeError("autograd.grad", message="is_grads_batched=True "
                                            "needs every grad_output", fix="pass grad_outputs")
            g = np.ones(o.data.shape, o.data.dtype)
        else:
            shape = g.shape if isinstance(g, Tensor) else np.shape(g)
            want = ((shape[0],) if batched and shape else ()) + o.data.shape
            if tuple(shape) != want:
                raise ChainruleRuntimeError(
                    "autograd.grad", message=f"Mismatch in shape: grad_output[{i}] has a shape "
                                             f"of {tuple(shape)} and output[{i}] has a shape of "
                                             f"{o.data.shape}",
                    fix="pass a gradient shaped like the output" +
                        (" (after the batch axis)" if batched else ""))
            if not isinstance(g, Tensor):
                g = np.asarray(g, dtype=o.data.dtype)
            elif not g.requires_grad and not create_graph:
                g = g.data
        if create_graph and not isinstance(g, Tensor):
            g = Tensor(g)
        seeds.append(g)
    return seeds


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (``torch.autograd.grad``)."""
    outputs, _ = _tensors(outputs, "outputs")
    inputs, _ = _tensors(inputs, "inputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ChainruleError("autograd.grad", message="materialize_grads=True needs "
                             "allow_unused=True (or unset)", fix="drop allow_unused=False")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise ChainruleRuntimeError(
                "autograd.grad", message=f"element {i} of tensors does not require grad and "
                                         f"does not have a grad_fn",
                expected="outputs computed from Tensors that require grad",
                actual="requires_grad=False", fix="compute the output from inputs created with "
                                                  "requires_grad=True, outside no_grad()")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise ChainruleRuntimeError(
                "autograd.grad", message="One of the differentiated Tensors does not require grad",
                expected="inputs with requires_grad=True", actual=f"input {i}: requires_grad=False",
                fix="create it with requires_grad=True, or leave it out of inputs")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seeds(outputs, grad_outputs, create_graph, is_grads_batched)
    freed = []
    if is_grads_batched:
        found = _batched(outputs, seeds, inputs, create_graph, retain_graph, freed)
    else:
        found = dict(run_backward(outputs, seeds, create_graph=create_graph,
                                  free=not retain_graph, inputs=inputs, through=True,
                                  freed=freed))
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None:
            if freed:                   # not reached: the graph on the way was freed before
                from .core.backward import _freed
                _freed()
            if not allow_unused:
                raise ChainruleRuntimeError(
                    "autograd.grad", message="One of the differentiated Tensors appears to not "
                                             "have been used in the graph. Set allow_unused=True "
                                             "if this is the desired behavior.",
                    actual=f"input {i} of {describe(t.data)}",
                    fix="pass allow_unused=True (its gradient is then None)")
            if materialize_grads:
                n = (next(iter(np.shape(s.data if isinstance(s, Tensor) else s)[:1]), None)
                     if is_grads_batched else None)
                g = Tensor(np.zeros(((n,) if n is not None else ()) + t.data.shape, t.data.dtype))
            result.append(g)
            continue
        result.append(g if isinstance(g, Tensor) else Tensor(g))
    return tuple(_fresh(result))


def _fresh(grads):
    """No two returned gradients share memory (nor with the seeds): rules pass arrays through."""
    from .core.backward import hand_over
    values = hand_over([g.data if isinstance(g, Tensor) and not g.requires_grad else g
                        for g in grads])
    return [Tensor(v) if isinstance(v, np.ndarray) else v for v in values]


def _batched(outputs, seeds, inputs, create_graph, retain_graph, freed):
    """One backward pass for a batch of cotangents (their first axis), by vmap's batching."""
    n = np.shape(seeds[0].data if isinstance(seeds[0], Tensor) else seeds[0])[0]
    level = batching.push_level(n, private=True)
    try:
        with batching.active():
            wrapped = [batching.wrap(s, (level,)) for s in seeds]
            found = dict(run_backward(outputs, wrapped, create_graph=create_graph,
                                      free=not retain_graph, inputs=inputs, through=True,
                                      freed=freed))
            out = {}
            for t, g in found.items():
                if batching.is_batched(g) and g._level == level:
                    out[t] = g._inner
                else:                               # the same for every cotangent
                    out[t] = np.broadcast_to(np.asarray(g.data if isinstance(g, Tensor) else g),
                                             (n,) + t.data.shape).copy()
    finally:
        batching.pop_level(level)
    return out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``torch.autograd.backward``: accumulate into ``.grad`` the gradients of several outputs
    at once (each seeded by its entry of ``grad_tensors``, None for a scalar)."""
    outputs, _ = _tensors(tensors, "tensors")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise ChainruleRuntimeError(
                "autograd.backward", message=f"element {i} of tensors does not require grad and "
                                             f"does not have a grad_fn",
                fix="compute it from Tensors that require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seeds(outputs, grad_tensors, create_graph, False)
    if inputs is not None:
        inputs, _ = _tensors(inputs, "inputs")
    retained = [] if not create_graph else None
    grads = run_backward(outputs, seeds, create_graph=create_graph, free=not retain_graph,
                         inputs=inputs, retained=retained, through=True)
    accumulate(grads, retained, create_graph, taken=tuple(s for s in seeds
                                                          if isinstance(s, np.ndarray)))
