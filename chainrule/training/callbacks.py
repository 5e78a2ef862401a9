"""Callbacks: hooks into the fit loop (progress display, early stopping, your own).

A callback overrides any of the ``on_*`` methods; each receives ``run``, the live
state of the loop (model, optimizer, history, epoch, epochs, n_batches) and may
set ``run.stop = True`` to end training after the current epoch.
"""
from __future__ import annotations

import math
import sys
import time

from ..core.errors import ChainruleError


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, run):
        pass

    def on_epoch_begin(self, epoch, run):
        pass

    def on_batch_end(self, batch, loss, run):
        pass

    def on_epoch_end(self, epoch, logs, run):
        pass

    def on_train_end(self, run):
        pass


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda e, logs, run: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise ChainruleError("LambdaCallback", message=f"unknown hook {name!r}; use "
                                     "on_train_begin, on_epoch_begin, on_batch_end, "
                                     "on_epoch_end or on_train_end")
            setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model ends with the weights of its best epoch rather
    than the last (overfitted) one.  ``monitor`` defaults to val_loss, or to the
    training loss when there is no validation data.
    """

    def __init__(self, patience=5, monitor=None, min_delta=0.0, mode="min", restore_best=True):
        if int(patience) < 1:
            raise ChainruleError("EarlyStopping", message=f"patience must be ≥ 1, got {patience}")
        self.patience, self.monitor, self.min_delta = int(patience), monitor, float(min_delta)
        self.mode, self.restore_best = mode, restore_best
        self.best, self.best_epoch, self.wait, self.best_state = None, None, 0, None

    def on_train_begin(self, run):
        if self.monitor is None:
            self.monitor = "val_loss" if run.has_val else "loss"

    def _better(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs, run):
        value = logs.get(self.monitor)
        if value is None:
            raise ChainruleError("EarlyStopping", message=f"cannot monitor {self.monitor!r}: the "
                                 f"epoch logs have {', '.join(logs)}")
        if math.isfinite(value) and self._better(value):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            if self.restore_best:
                self.best_state = run.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            run.stop = True
            run.history.stopped_epoch = epoch

    def on_train_end(self, run):
        if self.restore_best and self.best_state is not None:
            run.model.load_state_dict(self.best_state)
            run.history.best_epoch = self.best_epoch

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "monitor": self.monitor, "best_state": self.best_state}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.monitor = state.get("monitor") or self.monitor
        self.best_state = state.get("best_state")


def _fmt(logs, metric_names):
    """'loss 0.1234 acc 0.9500 | val_loss 0.2000 val_acc 0.9300'."""
    halves = []
    for prefix in ("", "val_"):
        parts = [f"{prefix}{_short(k)} {logs[prefix + k]:.4f}" for k in ["loss"] + metric_names
                 if logs.get(prefix + k) is not None]
        if parts:
            halves.append(" ".join(parts))
    return " | ".join(halves)


def _short(key):
    return {"accuracy": "acc", "loss": "loss"}.get(key, key)


class ProgressBar(Callback):
    """A bar per epoch with the running loss and metric.

    tqdm draws it when installed and the stream is a terminal; otherwise (no tqdm,
    or output going to a log file) each epoch prints one plain line.
    """

    def __init__(self, stream=None, use_tqdm=None):
        self.stream = stream
        self.use_tqdm = use_tqdm
        self._bar = None

    def on_train_begin(self, run):
        if self.use_tqdm is None:
            try:
                import tqdm  # noqa: F401
                self.use_tqdm = _isatty(self._out())
            except ImportError:
                self.use_tqdm = False
        self.metrics = [name for name, _ in run.metrics]
        self.width = len(str(run.epochs))

    def _out(self):
        return self.stream or sys.stderr

    def on_epoch_begin(self, epoch, run):
        self.t0, self.sum, self.count, self.n = time.perf_counter(), 0.0, 0, run.n_batches
        desc = f"epoch {epoch:>{self.width}}/{run.epochs}"
        if self.use_tqdm:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=run.n_batches, desc=desc, unit="batch", file=self._out(),
                             leave=True, mininterval=0.2,
                             bar_format="{desc} {bar:20} {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        else:
            self.desc = desc

    def on_batch_end(self, batch, loss, run):
        self.sum += loss
        self.count += 1
        if self._bar is not None:
            self._bar.update(1)
            if self.count % 10 == 0 or self.count == self.n:
                self._bar.set_postfix_str(f"loss {self.sum / self.count:.4f}", refresh=False)
        elif _isatty(self._out()) and (self.count % 5 == 0 or self.count == self.n):
            self._out().write(f"\r{self.desc} {self._bar_text()} loss {self.sum / self.count:.4f}")
            self._out().flush()

    def _bar_text(self, width=20):
        done = int(width * self.count / max(self.n, 1))
        return "[" + "#" * done + "." * (width - done) + "]"

    def on_epoch_end(self, epoch, logs, run):
        text = _fmt(logs, self.metrics)
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.close()
            self._bar = None
        else:
            secs = time.perf_counter() - self.t0
            end = "\r" if _isatty(self._out()) else ""
            self._out().write(f"{end}{self.desc} {self._bar_text()} {text}  ({secs:.1f}s)\n")
            self._out().flush()

    def on_train_end(self, run):
        if self._bar is not None:      # interrupted mid-epoch
            self._bar.close()
            self._bar = None



def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
