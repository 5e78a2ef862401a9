"""Data parallelism for fit(): a replica of the model on every rank, a shard of every batch.

Each global batch (``batch_size`` samples, in the order the seed gives every
rank alike) is cut into contiguous shards whose sizes differ by at most one.
Each rank computes the gradient of its shard's *summed* loss; the gradients
are summed across ranks in ~25 MB buckets and divided by the global batch
size, so every rank holds the gradient of the global batch's mean loss and
takes the same optimizer step.  An N-rank run therefore equals the one-process
run up to the order of floating-point sums.

Only rank 0 prints and writes files; checkpoints are read by rank 0 and
broadcast, so resuming works without a shared file system and with any
number of ranks.  See docs/distributed.md.
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from .. import distributed as dist
from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from ..data.split import DataLoader
from ..nn.layers import Dropout
from .callbacks import ProgressBar
from .checkpoint import Checkpoint, load_checkpoint
from .fit import EXPLODED, TrainingDiverged, _diverged, _evaluate, _outputs, _target


def shard_bounds(n, rank, size):
    """Rows [lo, hi) of an n-row batch that ``rank`` of ``size`` takes: contiguous, exact,
    sizes differing by at most one."""
    return n * rank // size, n * (rank + 1) // size


def epoch_positions(batch_sizes, size):
    """Where each rank's rows sit in the epoch's sample order, rank after rank.

    That is the order ``allgather_rows`` stacks the ranks' outputs in; indexing
    with it puts them back in the order of a one-process run.
    """
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    parts = [s + np.arange(*shard_bounds(b, r, size))
             for r in range(size) for s, b in zip(starts, batch_sizes)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _sums(loss_fn):
    """True for a loss that already sums over the samples (reduction='sum')."""
    return getattr(loss_fn, "reduction", "mean") == "sum"


class DataParallel:
    """The distributed half of fit(): start-up checks, sharded steps, gathered metrics."""

    def __init__(self):
        self.rank, self.size = dist.rank(), dist.world_size()
        self.is_main = self.rank == 0
        self.params = []
        self.buckets = None
        self.optimizer, self.epoch = None, None      # for divergence messages

    @classmethod
    def create(cls, distributed):
        """A DataParallel when this is one of several MPI ranks (and ``distributed`` allows)."""
        if distributed not in (None, True, False):
            raise ChainruleError("fit", message=f"distributed must be None (automatic under "
                                 f"mpiexec), True or False, got {distributed!r}")
        if distributed is False or dist.init() == 1:
            return None
        return cls()

    def local_callbacks(self, callbacks):
        """Progress bars draw on rank 0 only."""
        return [c for c in callbacks if self.is_main or not isinstance(c, ProgressBar)]

    def load_checkpoint(self, path):
        """Rank 0 reads the checkpoint and sends it to all (no shared file system needed)."""
        state = None
        if self.is_main:
            try:
                state = dict(load_checkpoint(path))
            except ChainruleError as e:
                state = {"__error__": str(e)}
        state = dist.broadcast(state)
        if "__error__" in state:
            raise dist.on_every_rank(ChainruleError("resume", message="rank 0 could not read "
                                                    "the checkpoint: " + state["__error__"]))
        return Checkpoint(state)

    # ------------------------------------------------------------- start-up
    def start(self, model, opt, X, y, val, *, seed, batch_size, epochs, start, task, loss_fn):
        """Check that the ranks agree, then make every replica rank 0's (checked by checksum)."""
        dist.agree(self._facts(model, opt, X, y, val, seed=seed, batch_size=batch_size,
                               epochs=epochs, start=start, task=task, loss_fn=loss_fn))
        need = []
        if seed is None:
            need.append("an integer seed (seed=None would give every rank its own batch order)")
        if int(batch_size) < self.size or len(X) < self.size:
            need.append(f"batch_size and the number of samples at least {self.size} (the "
                        f"global batch is split across the {self.size} processes); got "
                        f"batch_size={batch_size}, {len(X)} samples")
        if need:
            raise dist.on_every_rank(ChainruleError(
                "fit", message=f"training on {self.size} processes needs " + " and ".join(need)))
        if self.is_main and any(isinstance(m, Dropout) and m.p > 0 for m in
                                getattr(model, "modules", lambda: ())()):
            warnings.warn("Dropout draws its masks from the same seed on every rank, so the "
                          "shards of a batch share masks and this run will not equal a "
                          "one-process run (see docs/distributed.md, limits)", stacklevel=3)
        state = dist.broadcast(model.state_dict() if self.is_main else None)
        opt_state = dist.broadcast(opt.state_dict() if self.is_main else None)
        if not self.is_main:
            model.load_state_dict(state)
            opt.load_state_dict(opt_state)
        self.check_replicas(model, opt, "start-up, after rank 0's parameters were broadcast")
        self.optimizer = opt
        self.params = [p for group in opt.param_groups for p in group["params"]]
        self.buckets = dist.GradientBuckets(self.params, extra=1)

    def _facts(self, model, opt, X, y, val, **given):
        """What must be the same on every rank, as short comparable texts."""
        from .. import __version__
        named = model.named_parameters() if hasattr(model, "named_parameters") else \
            enumerate(p for g in opt.param_groups for p in g["params"])
        groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
        loss_fn = given.pop("loss_fn")
        facts = {"chainrule version": __version__, "numpy version": np.__version__,
                 "training data": _describe_data(X, y),
                 "validation data": None if val is None else _describe_data(*val),
                 "model": type(model).__name__,
                 "optimizer": f"{type(opt).__name__} {json.dumps(groups, default=str)}",
                 "loss": f"{type(loss_fn).__name__}({getattr(loss_fn, 'reduction', '')})"}
        facts.update((f"parameter {n}", f"{tuple(p.data.shape)} {p.data.dtype}")
                     for n, p in named)
        facts.update((k.replace("_", " "), v) for k, v in given.items())
        return facts

    def check_replicas(self, model, opt, when):
        """Every rank's model (and optimizer state) hash to the same checksum, or raise."""
        arrays = list(model.state_dict().values())
        _collect_arrays(opt.state_dict().get("state", {}) if hasattr(opt, "state_dict") else {},
                        arrays)
        dist.agree({"parameter checksum": dist.fingerprint(arrays)}, when)

    # ----------------------------------------------------------------- steps
    def backward_shard(self, model, loss_fn, task, xb, yb, step=None):
        """Forward and backward on this rank's rows: (their summed loss, outputs or None).

        ``step``: fit's compiled step (training/compiled.py), which gives the shard's loss
        as the loss function reduces it; a mean is scaled to the sum here."""
        if len(xb) == 0:
            return 0.0, None
        done = step(xb, yb) if step is not None else None
        if done is not None:
            value, out = done
            if not _sums(loss_fn):
                value = value * len(xb)
                for p in self.params:
                    if p.grad is not None:
                        p.grad = p.grad * len(xb)
            return float(np.asarray(value)), np.asarray(out)
        out = model(Tensor(xb))
        value = loss_fn(out, _target(yb, out, task, loss_fn))
        total = value if _sums(loss_fn) else value * len(xb)
        total.backward()
        return float(np.asarray(total.data)), np.asarray(out.data)

    def reduce_gradients(self, local_loss, n_global, loss_fn):
        """Sum gradients and losses over the ranks; set ``p.grad`` to the global batch's
        gradient and return the global batch's loss (its mean, for mean losses)."""
        per = 1.0 if _sums(loss_fn) else float(n_global)
        grads, (loss_sum,) = self.buckets.reduce([local_loss], divide=per)
        for p, g in zip(self.params, grads):
            p.grad = g
        return float(loss_sum) / per

    def train_epoch(self, run, loader, epoch, loss_fn, task, callbacks, ref):
        """fit's _train_epoch, sharded: the same return values, identical on every rank."""
        model, opt = run.model, run.optimizer
        self.epoch = epoch
        X, y = loader.X, loader.y
        order = DataLoader(np.arange(len(X)), None, loader.batch_size, loader.shuffle,
                           loader.seed, loader.drop_last)
        total, outs, taken, sizes = 0.0, [], [], []
        for b, idx in enumerate(order.epoch_batches(epoch)):
            lo, hi = shard_bounds(len(idx), self.rank, self.size)
            rows = idx[lo:hi]
            opt.zero_grad()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                local, out = self.backward_shard(model, loss_fn, task, X[rows], y[rows],
                                                 run.step)
                lv = self.reduce_gradients(local, len(idx), loss_fn)
                ref = abs(lv) if ref is None else ref
                if not np.isfinite(lv) or abs(lv) > EXPLODED * max(ref, 1.0):
                    self._diverged(epoch, b + 1, lv, opt)
                opt.step()
            total += lv * len(idx)
            if out is not None:
                outs.append(out)
            taken.append(idx)
            sizes.append(len(idx))
            for cb in callbacks:
                cb.on_batch_end(b, lv, run)
        gathered = dist.allgather_rows(np.concatenate(outs) if outs else np.zeros(0))
        out_all = np.empty_like(gathered)
        out_all[epoch_positions(sizes, self.size)] = gathered
        return total, out_all, y[np.concatenate(taken)], ref

    @staticmethod
    def _diverged(epoch, batch, value, opt):
        try:
            _diverged(epoch, batch, value, opt)
        except TrainingDiverged as e:          # every rank saw the same global loss
            raise dist.on_every_rank(e) from None

    def evaluate(self, model, X, y, loss_fn, task, metric_fns):
        """fit's _evaluate on the whole of (X, y): each rank computes its slice's outputs."""
        lo, hi = shard_bounds(len(X), self.rank, self.size)
        logs = _evaluate(model, X, y, loss_fn, task, metric_fns,
                         outputs=lambda m, _: dist.allgather_rows(_outputs(m, X[lo:hi])))
        if not np.isfinite(logs["loss"]):          # the same value on every rank: stop together
            self._diverged(self.epoch, None, logs["loss"], self.optimizer)
        return logs

    def end_epoch(self, run):
        """Stop if any rank's callbacks stop; check that the replicas are still identical."""
        stops = dist.allgather_bytes(b"1" if run.stop else b"0")
        run.stop = any(s == b"1" for s in stops)
        self.check_replicas(run.model, run.optimizer, f"the end of epoch {run.epoch}")


def _describe_data(X, y):
    return (f"{len(X)} samples × {X.shape[1] if X.ndim == 2 else X.shape[1:]} features, "
            f"checksum {dist.fingerprint([X, y])[:16]}")


def _collect_arrays(obj, out):
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            _collect_arrays(obj[k], out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_arrays(v, out)
