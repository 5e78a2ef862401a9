"""Helpers for writing coverage cases."""
import numpy as np
from hypothesis import strategies as st

CASES = {}      # "np.name" -> [builder(draw) -> (f, args)]


def case(*names):
    """Register the decorated builder for each of ``names``."""
    def register(build):
        for name in names:
            CASES.setdefault(name, []).append(build)
        return build
    return register


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


def floats(draw, shape, lo=-2.0, hi=2.0, gap=0.05):
    """A float64 array of ``shape`` with entries in [lo, hi], at least ``gap`` from 0 and from
    each other (so no kinks, ties or divisions by zero in the way of finite differences)."""
    n = int(np.prod(shape, dtype=np.int64))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    for _ in range(100):
        x = rng.uniform(lo, hi, n)
        x = np.where(np.abs(x) < gap, np.sign(x + 1e-300) * gap + x, x)
        s = np.sort(x)
        if n < 2 or np.min(np.diff(s)) > gap / 4:
            return x.reshape(shape)
    return (np.linspace(lo, hi, n) + gap / 3).reshape(shape)


def positive(draw, shape, lo=0.3, hi=2.0):
    return floats(draw, shape, lo=lo, hi=hi)
