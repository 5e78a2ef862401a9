"""One rank of ``python -m bench --distributed``: run under ``mpiexec -n N python -m bench.dist_worker``.

Times W1 (MLP 784-256-256-10, float32, global batch 128) through fit's own
data-parallel step (training/parallel.py: each rank's shard forward and
backward, the bucketed gradient all-reduce, the optimizer step), the same step
without distribution for reference, and bare ``Allreduce`` of 1-16 MB buffers.
Rank 0 prints one ``BENCH {...}`` line.  BLAS runs one thread per rank, so N
ranks use N cores.
"""
from __future__ import annotations

import argparse
import os
import sys

from bench.worker import THREAD_ENV, send

STEPS = {"full": (5, 40), "quick": (3, 15), "tiny": (1, 2)}         # (warm-up, timed)
SIZES_MB = {"full": (1, 4, 16), "quick": (1, 4), "tiny": (0.01,)}
REPEAT = {"full": 20, "quick": 8, "tiny": 2}


def build(p, dtype="float32"):
    """W1 as a chainrule model (its exact initial weights), a cross-entropy loss and SGD."""
    from chainrule import losses, nn, optim
    L = p["params"]
    layers = []
    for i in range(0, len(L), 2):
        layers.append(nn.Linear(*L[i].shape, dtype=dtype))
        if i + 2 < len(L):
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict({f"{i}.{kind}": L[i + (kind == "bias")]
                           for i in range(0, len(layers), 2) for kind in ("weight", "bias")})
    return model, losses.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=p["lr"])


def time_steps(step, warm, timed, barrier, comm_seconds):
    """[(step seconds, communication seconds)] per timed step, ranks started together."""
    from time import perf_counter
    for _ in range(warm):
        step()
    out = []
    for _ in range(timed):
        barrier()
        c0, t0 = comm_seconds(), perf_counter()
        step()
        out.append((perf_counter() - t0, comm_seconds() - c0))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench.dist_worker")
    p.add_argument("--mode", default="full", choices=tuple(STEPS))
    args = p.parse_args(argv)
    for k in THREAD_ENV:                 # one BLAS thread per rank, set before NumPy loads
        os.environ[k] = "1"
    import numpy as np

    from bench import workloads as W
    from chainrule import distributed as dist
    from chainrule.training.parallel import DataParallel, shard_bounds

    dist.init()
    rank, size = dist.rank(), dist.world_size()
    prob = W.cast(W.problem("W1", args.mode), "float32")
    X, y = prob["X"], prob["Y"].argmax(1)
    B = len(X)
    warm, timed = STEPS[args.mode]

    # the plain one-process step on the whole batch (what fit runs without mpiexec)
    model, loss_fn, opt = build(prob)
    from chainrule import Tensor

    def plain():
        opt.zero_grad()
        loss_fn(model(Tensor(X)), y).backward()
        opt.step()
    plain_t = time_steps(plain, warm, timed, dist.barrier, lambda: 0.0)

    # fit's data-parallel step: this rank's shard, bucketed all-reduce, the same update
    model, loss_fn, opt = build(prob)
    dp = DataParallel()
    dp.start(model, opt, X, y, None, seed=0, batch_size=B, epochs=1, start=0,
             task="multiclass", loss_fn=loss_fn)
    lo, hi = shard_bounds(B, rank, size)

    def parallel():
        opt.zero_grad()
        local, _ = dp.backward_shard(model, loss_fn, "multiclass", X[lo:hi], y[lo:hi])
        dp.reduce_gradients(local, B, loss_fn)
        opt.step()
    dp_t = time_steps(parallel, warm, timed, dist.barrier, lambda: dp.buckets.seconds)

    # bare Allreduce of float32 buffers
    per_mb = {}
    if size > 1:
        from mpi4py import MPI
        comm = dist.comm()
        from time import perf_counter
        for mb in SIZES_MB[args.mode]:
            buf = np.ones(int(mb * 2 ** 20 / 4), dtype=np.float32)
            times = []
            for _ in range(REPEAT[args.mode] + 1):
                comm.Barrier()
                t0 = perf_counter()
                comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
                times.append(perf_counter() - t0)
            per_mb[str(mb)] = float(np.median(times[1:])) / mb
    # the slowest rank decides a synchronous step: report rank-wise maxima of the medians
    med = np.array([np.median([s for s, _ in plain_t]), np.median([s for s, _ in dp_t]),
                    np.median([c for _, c in dp_t])])
    med = dist.all_reduce(med, op="max")
    if rank == 0:
        send(processes=size, cores=os.cpu_count(), batch=B, shard=hi - lo,
             plain_step=float(med[0]), dp_step=float(med[1]), dp_comm=float(med[2]),
             grad_mb=dp.buckets.nbytes / 2 ** 20, buckets=len(dp.buckets.buckets),
             allreduce_s_per_mb=per_mb, steps=timed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
