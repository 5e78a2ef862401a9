"""Synchronous data-parallel training on MPI, through mpi4py (``pip install "chainrule[distributed]"``).

    from chainrule import distributed as dist
    dist.init()                       # joins the MPI world under mpiexec; a no-op otherwise
    dist.rank(), dist.world_size()    # (0, 1) when run alone
    total = dist.all_reduce(np.ones(3))          # sum over ranks: [N, N, N]
    state = dist.broadcast(model.state_dict())   # rank 0's copy everywhere

``training.fit`` uses it by itself when started by ``mpiexec -n N``: every rank
holds a replica of the model, takes its shard of every global batch, and the
gradients are summed across ranks before the (identical) optimizer step.
See docs/distributed.md.
"""
from .buckets import BUCKET_BYTES, GradientBuckets
from .collectives import (agree, all_reduce, allgather_bytes, allgather_rows, broadcast,
                          fingerprint, together)
from .world import (DistributedError, abort, all_stop_on_error, barrier, blas_threads, collective,
                    comm, init, is_main, launched_by_mpi, on_every_rank, raised_on_every_rank,
                    rank, world_size)

__all__ = ["init", "rank", "world_size", "is_main", "barrier", "all_reduce", "broadcast",
           "allgather_bytes", "allgather_rows", "agree", "fingerprint", "abort", "comm",
           "all_stop_on_error", "collective", "on_every_rank", "raised_on_every_rank",
           "launched_by_mpi", "blas_threads", "together", "DistributedError", "GradientBuckets",
           "BUCKET_BYTES"]
