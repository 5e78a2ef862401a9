"""Gradient buckets: the parameters' gradients summed across ranks, ~25 MB per Allreduce.

One Allreduce per parameter would pay MPI's latency dozens of times per step;
one for the whole model would need a second copy of every gradient at once.
Buckets of about 25 MB (PyTorch DDP's default) sit between the two.  Buckets
are filled in reverse parameter order, as DDP does, because the last layers'
gradients are the first ones the backward pass finishes.

Alongside the gradients travels a small float64 vector of per-step numbers
(the shard's summed loss, and which parameters received a gradient on some
rank), so a step costs no extra collective for them.
"""
from __future__ import annotations

import time

import numpy as np

from ..core.tensor import Tensor
from .world import comm, world_size

BUCKET_BYTES = 25 * 2 ** 20


def plan(sizes, cap=BUCKET_BYTES):
    """Group items (nbytes, dtype) into buckets: consecutive, one dtype each, at most ``cap``
    bytes unless a single item is larger.  Returns [[item index, ...], ...]."""
    buckets, current, used, kind = [], [], 0, None
    for i, (nbytes, dtype) in enumerate(sizes):
        if current and (dtype != kind or used + nbytes > cap):
            buckets.append(current)
            current, used = [], 0
        current.append(i)
        used += nbytes
        kind = dtype
    if current:
        buckets.append(current)
    return buckets


class GradientBuckets:
    """Sum ``params``' gradients (and a float64 vector of ``extra`` numbers) over all ranks.

    The buffers are allocated once and reused every step.  ``reduce`` returns
    new gradient arrays (sharing memory with nothing) already divided by
    ``divide``, and None for a parameter that no rank gave a gradient.
    """

    def __init__(self, params, extra=1, cap=BUCKET_BYTES):
        self.params = list(params)
        self.extra = int(extra)
        # item 0 is the float64 extras (flags: one per parameter), then parameters last-first
        shapes = [(self.extra + len(self.params),)] + [p.data.shape for p in self.params[::-1]]
        dtypes = [np.dtype(np.float64)] + [p.data.dtype for p in self.params[::-1]]
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        self.buckets = []
        for members in plan([(n * d.itemsize, d) for n, d in zip(sizes, dtypes)], cap):
            buf = np.zeros(sum(sizes[i] for i in members), dtype=dtypes[members[0]])
            views, offset = {}, 0
            for i in members:
                views[i] = buf[offset:offset + sizes[i]].reshape(shapes[i])
                offset += sizes[i]
            self.buckets.append((buf, views))
        self._view = {i: v for _, views in self.buckets for i, v in views.items()}
        self.seconds = 0.0          # time spent inside Allreduce (for the benchmark)

    @property
    def nbytes(self):
        return sum(buf.nbytes for buf, _ in self.buckets)

    def reduce(self, extras, divide=1.0):
        """All-reduce the current ``p.grad``s and ``extras``; returns (grads, summed extras)."""
        n = len(self.params)
        meta = self._view[0]
        meta[:self.extra] = extras
        for k, p in enumerate(self.params[::-1]):
            view, g = self._view[k + 1], p.grad
            if g is None:
                view.fill(0)
                meta[self.extra + n - 1 - k] = 0.0
            else:
                np.copyto(view, g.data if isinstance(g, Tensor) else g)
                meta[self.extra + n - 1 - k] = 1.0
        if world_size() > 1:
            from mpi4py import MPI
            t0 = time.perf_counter()
            for buf, _ in self.buckets:
                comm().Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            self.seconds += time.perf_counter() - t0
        grads = []
        for k, p in enumerate(self.params):
            if meta[self.extra + k] > 0:
                grads.append(self._view[n - k] / divide)       # a new array per parameter
            else:
                grads.append(None)
        return grads, meta[:self.extra].copy()
