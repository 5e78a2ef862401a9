"""One framework × one workload, in a fresh process: check against the reference, then time.

Run by ``bench/run.py``; a separate process per framework keeps one library's
thread pools, caches and allocator out of another's numbers.  The BLAS thread
count is pinned through the environment *before* NumPy is imported (and again
with threadpoolctl / torch.set_num_threads once the libraries are loaded).

Protocol: after the check it prints ``BENCH {"event": "ready", ...}`` (or
``"done"`` with status skipped / unsupported / mismatch, exit status 3 for a
mismatch) and then answers JSON commands on stdin (time, memory, gemm, quit)
with one ``BENCH {...}`` line each.
"""
from __future__ import annotations

import argparse
import os
import sys

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_env(threads):
    """Set the BLAS/OpenMP thread variables and the CPU affinity; runs before NumPy is imported.

    XLA (JAX) has no dependable thread-count switch and spreads over every CPU it
    may use, so the process is also restricted to ``threads`` CPUs: the same
    rule for every framework.
    """
    for k in THREAD_ENV:
        os.environ[k] = str(threads)
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if threads < len(cpus):
            os.sched_setaffinity(0, cpus[:threads])
    except (AttributeError, OSError):     # not Linux: the variables must do
        pass


def parse(argv):
    p = argparse.ArgumentParser(prog="bench.worker")
    p.add_argument("--framework", required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--mode", default="full", choices=("full", "quick", "tiny"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ref", required=True, help=".npz with the float64 reference outputs")
    return p.parse_args(argv)


class Timer:
    """Takes timing samples of ``run`` in rounds (the parent interleaves the frameworks' rounds).

    One sample times ``inner`` back-to-back calls, ``inner`` chosen once so a
    sample lasts about ``sample_time`` (timer resolution stops mattering for
    µs-scale workloads).  Each round starts with one warm-up call (caches were
    just used by another process) unless a call is too slow to spare.
    """

    def __init__(self, run):
        self.run, self.inner, self.one = run, None, None

    def round(self, seconds, repeat, sample_time):
        from time import perf_counter
        run = self.run
        if self.inner is None:
            t = perf_counter()
            run()                                   # second warm-up, and calibration
            self.one = perf_counter() - t
            self.inner = max(1, int(sample_time / max(self.one, 1e-9)))
        elif self.one < 0.5:
            run()
        samples = []
        start = perf_counter()
        while len(samples) < repeat or (perf_counter() - start < seconds and len(samples) < 500):
            t = perf_counter()
            for _ in range(self.inner):
                run()
            samples.append((perf_counter() - t) / self.inner)
        return {"samples": samples, "inner": self.inner}


def peak_memory(run):
    """Peak bytes newly allocated (Python + NumPy, which reports to tracemalloc) during one call."""
    import gc
    import tracemalloc
    gc.collect()
    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak


def gemm_rate(sz, dtype):
    """GFLOP/s of just the matrix products of one MLP step (same shapes), on this machine."""
    import numpy as np
    from time import perf_counter
    n, L = sz["n"], sz["layers"]
    rng = np.random.default_rng(0)
    mk = lambda *s: rng.standard_normal(s).astype(dtype)  # noqa: E731
    acts = [mk(n, d) for d in L]
    ws = [mk(a, b) for a, b in zip(L[:-1], L[1:])]
    products = [(acts[i], ws[i]) for i in range(len(ws))]             # forward
    products += [(acts[i].T, acts[i + 1]) for i in range(len(ws))]    # weight gradients
    products += [(acts[i + 1], ws[i].T) for i in range(1, len(ws))]  # input gradients
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)
    best = float("inf")
    for _ in range(3):
        t = perf_counter()
        for a, b in products:
            a @ b
        best = min(best, perf_counter() - t)
    return flops / best / 1e9


def send(**kw):
    import json
    print("BENCH " + json.dumps(kw), flush=True)


def main(argv=None):
    args = parse(argv)
    pin_env(args.threads)
    import importlib
    import json

    import numpy as np
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_info = threadpool_limits = None
    try:
        fw = importlib.import_module(f"bench.fw_{args.framework.replace('-', '_')}")
    except ImportError as e:
        send(event="done", status="skipped", reason=f"not installed ({e.name or e})")
        return 0
    if args.framework == "torch":
        import torch
        torch.set_num_threads(args.threads)
    if threadpool_limits:
        threadpool_limits(args.threads)
    from bench import workloads as W
    spec = W.SPECS[args.workload]
    p = W.cast(W.problem(args.workload, args.mode), spec["dtype"])
    try:
        run, outputs = fw.build(spec["kind"], p)
    except NotImplementedError as e:
        send(event="done", status="unsupported", reason=str(e), version=fw.version())
        return 0
    worst, bad = W.compare(outputs(run()), dict(np.load(args.ref)), W.RTOL[spec["dtype"]])
    info = {"version": fw.version(), "max_rel_err": worst,
            "blas": threadpool_info() if threadpool_info else None}
    info.update(getattr(fw, "notes", dict)())      # e.g. a compiler's compile time
    if "chainrule" in sys.modules:                  # (which checkout: a baseline row must say)
        info["chainrule_from"] = os.path.dirname(os.path.abspath(sys.modules["chainrule"].__file__))
    if bad:
        send(event="done", status="mismatch", reason="; ".join(bad), **info)
        return 3
    send(event="ready", **info)
    timer = Timer(run)
    for line in sys.stdin:                          # the parent's commands, one JSON per line
        cmd = json.loads(line)
        if cmd["cmd"] == "time":
            send(event="time", **timer.round(cmd["seconds"], cmd["repeat"], cmd["sample_time"]))
        elif cmd["cmd"] == "memory":
            send(event="memory", mem_peak=peak_memory(run))
        elif cmd["cmd"] == "gemm":
            send(event="gemm", gemm_gflops=gemm_rate(W.sizes(args.workload, args.mode),
                                                     spec["dtype"]))
        else:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
