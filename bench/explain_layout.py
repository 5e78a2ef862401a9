"""``python -m bench.explain_layout``: how long graph pictures take (the layout has no Graphviz).

The target (issue 14): 500 nodes lay out in under 0.5 s, and 100,000 nodes give a
summary instead of hanging.  Medians of several runs are printed; this machine is
shared and noisy, so read them as orders of magnitude, never assert on them.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np


def _median(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def _random_dag(n, seed=0):
    rng = np.random.default_rng(seed)
    edges = []
    for v in range(1, n):
        for u in set(int(rng.integers(max(0, v - 20), v)) for _ in range(int(rng.integers(1, 3)))):
            edges.append((u, v))
    sizes = [(float(rng.uniform(60, 180)), float(rng.uniform(30, 60))) for _ in range(n)]
    return sizes, edges


def _mlp_trace_nodes(n_layers):
    import chainrule as cr
    import chainrule.numpy as cnp
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4))
    ws = [rng.normal(size=(4, 4)) * 0.5 for _ in range(n_layers)]

    def f(*w):
        h = X
        for wi in w:
            h = cnp.tanh(h @ wi + 0.1) + h          # a residual: every layer has fan-out
        return cnp.mean(h ** 2)
    return cr.trace(f, *ws)


def main(argv=None):
    import chainrule as cr
    from chainrule.explain import layout
    repeat = 7
    print(f"median (min) of {repeat} runs, seconds")
    sizes, edges = _random_dag(500)
    med, low = _median(lambda: layout.layered(sizes, edges), repeat)
    print(f"  layout, random DAG, 500 nodes / {len(edges)} edges:   {med:.4f} ({low:.4f})")
    chain = [(i, i + 1) for i in range(499)]
    med, low = _median(lambda: layout.layered([(90.0, 40.0)] * 500, chain), repeat)
    print(f"  layout, chain of 500:                          {med:.4f} ({low:.4f})")
    t = _mlp_trace_nodes(80)
    g = cr.graph(t)
    med, low = _median(g.svg, repeat)
    print(f"  graph(trace).svg(), {g.nodes} nodes / {g.edges} edges (text, layout, SVG): "
          f"{med:.4f} ({low:.4f})")
    w = cr.tensor(1.0, requires_grad=True)
    y = w
    for _ in range(100_000):
        y = y * 1.0001
    med, low = _median(lambda: cr.graph(y, show_values=False), 3)
    big = cr.graph(y, show_values=False)
    print(f"  graph(tensor) of {big.nodes:,} nodes (the walk):          {med:.3f} ({low:.3f})")
    med, low = _median(big.svg, 3)
    print(f"  its .svg(), a summary card (summarised={big.summarised}):   {med:.3f} ({low:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
