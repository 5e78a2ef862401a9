"""What a run folder costs: ``fit`` with ``checkpoint_dir`` against the same run without one.

    python -m bench.checkpoint_history [--epochs 1000] [--rounds 3]

After every epoch a run with a checkpoint directory writes model.npz (weights,
optimizer moments, the history so far, ...) and brings history.json and
history.csv up to date.  That cost must not grow with the number of epochs (it once
re-encoded the whole history each time: 1000 epochs took 3.4x as long).

The machine is shared and noisy (whole runs move 20-80 % between rounds), so the
main figure is measured inside one run: every epoch's training time and the time of
the save that follows it, side by side; "ratio" is (training + saving) / training
over all epochs, and the save's median is shown for the first and the last tenth of
the epochs (flat means no growth).  The wall-clock ratio of whole runs with and
without a folder, interleaved over rounds, is printed too (median of rounds).
Speed is measured here, never in the tests.

To measure another checkout: ``PYTHONPATH=/that/checkout python bench/checkpoint_history.py``
run from outside this repository (``-m`` would import the chainrule in the current folder).
"""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

WORKLOADS = {
    # name: (samples, features, classes, hidden, batch); ms per epoch on the 2-core dev machine
    "iris-like": (105, 4, 3, 128, 32),       # `chainrule train --data iris`: ~0.8 ms
    "7ms-epoch": (1400, 8, 3, 64, 32),       # the 7 ms per epoch
    "digits-like": (1257, 64, 10, 128, 32),  # `chainrule train` (digits): ~22 ms
}


def one_run(workload, epochs, folder, timings=None):
    """Seconds for the whole fit; ``timings`` (a dict) receives per-epoch train/save times."""
    from chainrule import models
    from chainrule.training import LambdaCallback, fit
    n, d, c, hidden, batch = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, d)), np.arange(n) % c
    val = rng.normal(size=(n // 5, d)), np.arange(n // 5) % c
    model = models.MLP([d, hidden, c], seed=0)
    callbacks, restore = [], None
    if timings is not None:
        timings.update(train=[], save=[])
        marks = {}
        callbacks.append(LambdaCallback(
            on_epoch_begin=lambda e, run: marks.__setitem__("t", time.perf_counter()),
            on_epoch_end=lambda e, logs, run: timings["train"].append(
                time.perf_counter() - marks["t"])))
        restore = _time_saves(timings["save"])
    start = time.perf_counter()
    try:
        fit(model, (X, y), val_data=val, epochs=epochs, batch_size=batch, lr=3e-3, seed=0,
            progress=False, checkpoint_dir=folder, callbacks=callbacks)
    finally:
        if restore:
            restore()
    return time.perf_counter() - start


def _time_saves(out):
    """Wrap the fit loop's per-epoch save (save_run, or save_checkpoint in older versions)."""
    fit_module = importlib.import_module("chainrule.training.fit")
    name = "save_run" if hasattr(fit_module, "save_run") else "save_checkpoint"
    real = getattr(fit_module, name)

    def timed(*a, **kw):
        t = time.perf_counter()
        try:
            return real(*a, **kw)
        finally:
            out.append(time.perf_counter() - t)
    setattr(fit_module, name, timed)
    return lambda: setattr(fit_module, name, real)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.checkpoint_history",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default=",".join(WORKLOADS), metavar="W1,W2")
    args = p.parse_args(argv)
    import chainrule
    print(f"chainrule from {os.path.dirname(chainrule.__file__)}; {args.epochs} epochs; "
          f"wall-clock: {args.rounds} rounds, medians")
    tenth = max(1, args.epochs // 10)
    print(f"{'workload':<12} {'epoch':>8} {'save, first':>12} {'save, last':>11} {'ratio':>6}"
          f"  | {'wall: no folder':>15} {'folder':>8} {'ratio':>6}  (per round)")
    for name in args.workloads.split(","):
        timings = {}
        folder = tempfile.mkdtemp(prefix="chainrule-bench-")
        try:
            one_run(name, args.epochs, folder, timings)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        train, save = np.array(timings["train"]), np.array(timings["save"][:len(timings["train"])])
        inside = (train.sum() + save.sum()) / train.sum()
        plain, saved = [], []
        for _ in range(args.rounds):
            plain.append(one_run(name, args.epochs, None))
            folder = tempfile.mkdtemp(prefix="chainrule-bench-")
            try:
                saved.append(one_run(name, args.epochs, folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        a, b = statistics.median(plain), statistics.median(saved)
        rounds = ", ".join(f"{s / q:.2f}" for q, s in zip(plain, saved))
        ms = lambda v: f"{np.median(v) * 1e3:.2f} ms"   # noqa: E731
        print(f"{name:<12} {ms(train):>8} {ms(save[:tenth]):>12} {ms(save[-tenth:]):>11} "
              f"{inside:>5.2f}x  | {a:>14.2f}s {b:>7.2f}s {b / a:>5.2f}x  ({rounds})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
