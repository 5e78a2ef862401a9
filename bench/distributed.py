"""``python -m bench --distributed``: W1's step time on 1 and 2 (or more) MPI processes.

Launches ``mpiexec -n N python -m bench.dist_worker`` for each N (mpiexec from
this Python's environment, where the ``mpich`` wheel puts it) and prints the
step time, the time inside the gradient all-reduce, its share of the step, and
the bare all-reduce time per MB.  A speedup is only printed where the machine
has at least 4 cores and one per process: with fewer, the processes share
cores and the ratio measures contention, not scaling.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_CORES_FOR_SPEEDUP = 4


def mpiexec():
    """The mpiexec beside this Python (the mpich wheel's), else the one on PATH."""
    here = os.path.dirname(sys.executable)
    return shutil.which("mpiexec", path=here) or shutil.which("mpiexec")


def run_one(n, mode, timeout=900):
    exe = mpiexec()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([exe, "-n", str(n), sys.executable, "-m", "bench.dist_worker",
                           "--mode", mode], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"mpiexec -n {n} failed (exit {proc.returncode}): "
                       f"{(proc.stderr or proc.stdout).strip()[-800:]}")


def table(results):
    ms = lambda s: f"{s * 1e3:.2f}"  # noqa: E731
    base = next((r for r in results if r["processes"] == 1), None)
    cores = results[0]["cores"]
    lines = [f"W1 (MLP 784-256-256-10, float32, global batch {results[0]['batch']}), "
             f"{results[0]['grad_mb']:.2f} MB of gradients in {results[0]['buckets']} "
             f"bucket(s); {cores} cores; medians of {results[0]['steps']} steps, the slowest "
             "rank's", "",
             "processes  rows/rank  plain step ms  data-parallel step ms  all-reduce ms  "
             "comm share  speedup"]
    for r in results:
        share = r["dp_comm"] / r["dp_step"] if r["dp_step"] else 0.0
        if base and cores >= max(MIN_CORES_FOR_SPEEDUP, r["processes"]):
            speed = f"{base['dp_step'] / r['dp_step']:.2f}x"
        else:
            speed = "not claimed"
        lines.append(f"{r['processes']:>9}  {r['shard']:>9}  {ms(r['plain_step']):>13}  "
                     f"{ms(r['dp_step']):>21}  {ms(r['dp_comm']):>13}  {share:>10.0%}  "
                     f"{speed:>7}")
    lines.append("")
    for r in results:
        if r["allreduce_s_per_mb"]:
            parts = ", ".join(f"{mb} MB: {s * 1e3:.3f} ms/MB"
                              for mb, s in r["allreduce_s_per_mb"].items())
            lines.append(f"bare Allreduce on {r['processes']} processes: {parts}")
    if cores < MIN_CORES_FOR_SPEEDUP:
        lines.append(f"(speedup not claimed: {cores} cores; it needs at least "
                     f"{MIN_CORES_FOR_SPEEDUP} and one per process)")
    lines.append("'all-reduce ms' includes waiting for the slower rank; the plain step is "
                 "fit's one-process step on the whole batch.")
    return "\n".join(lines)


def main(args):
    if mpiexec() is None:
        print("python -m bench --distributed needs mpiexec: pip install "
              "\"chainrule[distributed]\" (mpi4py and the mpich wheel)", file=sys.stderr)
        return 2
    counts = [int(c) for c in str(args.processes).split(",") if c.strip()]
    results = []
    for n in counts:
        print(f"mpiexec -n {n} ({args.mode}) ...", file=sys.stderr, flush=True)
        results.append(run_one(n, args.mode))
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mode": args.mode, "results": results}, f, indent=1)
    return 0
