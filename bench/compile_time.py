"""How long ``cr.compile`` takes to trace and generate a program, by graph size.

``python -m bench.compile_time`` compiles ``value_and_grad`` of W2's chain (x0.9, +0.1, tanh,
exp, sin, cycling) at several lengths and prints the median of warm compiles (the first
compile in a process also pays for imports and first calls, reported separately), with the
number of values recorded.  Targets (docs/compile.md): <= 20 ms up to 500 values, <= 1 s for
10,000.
"""
from __future__ import annotations

import argparse
import statistics
import time


def chain(x, ops, cnp):
    for i in range(ops):
        k = i % 5
        x = (x * 0.9 if k == 0 else x + 0.1 if k == 1 else cnp.tanh(x) if k == 2 else
             cnp.exp(x) if k == 3 else cnp.sin(x))
    return x


def measure(ops, repeat):
    import numpy as np

    import chainrule as cr
    import chainrule.numpy as cnp
    x = np.random.default_rng(0).uniform(-1, 1, 16)
    f = cr.value_and_grad(lambda v: cnp.sum(chain(v, ops, cnp)))
    times, nodes = [], None
    for _ in range(repeat):
        fast = cr.compile(f, check=0)
        start = time.perf_counter()
        fast(x)
        times.append(time.perf_counter() - start)
        nodes = fast.stats["nodes"]
    return nodes, times


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.compile_time", description=__doc__)
    p.add_argument("--ops", default="20,100,200,1000,4160", help="chain lengths")
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    first = None
    print(f"{'chain ops':>10} {'values':>8} {'median':>10} {'min':>10}")
    for ops in (int(s) for s in args.ops.split(",")):
        nodes, times = measure(ops, args.repeat)
        if first is None:
            first = times[0]
        warm = times[1:] or times
        print(f"{ops:>10} {nodes:>8} {statistics.median(warm) * 1e3:>8.1f} ms "
              f"{min(warm) * 1e3:>8.1f} ms")
    print(f"(first compile in this process: {first * 1e3:.1f} ms, imports and first calls included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
