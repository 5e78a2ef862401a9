"""What makes a resumed run the run it continues: its plan, saved and compared on resume.

A run stopped after epoch k and resumed to N epochs must end exactly where an
uninterrupted N-epoch run ends, bit for bit.  The weights, optimizer moments,
schedule position, early-stopping counters, random generators and history come
back from the checkpoint; what must not change is everything that shapes the
updates: the training data, batch size and seed (the batch order), the loss, the
optimizer and its hyper-parameters, the schedule's configuration and the
early-stopping rule.  ``fit`` saves these as the checkpoint's ``plan`` and
``check_plan`` refuses a resume that differs, naming each difference, rather than
silently training a run that is neither the old one nor a fresh one.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from ..core.errors import ChainruleError

PROGRESS_KEYS = ("last_epoch", "_last_lr")    # scheduler state that moves with the steps


def fingerprint(*arrays):
    """A short hash of arrays' dtype, shape and bytes: equal data, equal fingerprint."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _plain(obj):
    """JSON's view of obj (tuples become lists, NumPy scalars numbers), so plans compare
    the same whether live or read back from a checkpoint."""
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _schedule_config(state):
    if isinstance(state, dict):
        return {k: _schedule_config(v) for k, v in state.items() if k not in PROGRESS_KEYS}
    if isinstance(state, (list, tuple)):
        return [_schedule_config(v) for v in state]
    return state


def run_plan(data, val, batch_size, seed, loss_fn, optimizer, scheduler, early_stopping,
             standardize, has_val):
    """The settings that decide every update of a run, as plain JSON-able data."""
    groups = []
    for g in optimizer.param_groups:
        d = {k: v for k, v in g.items() if k not in ("params", "lr", "initial_lr")}
        d["lr"] = g.get("initial_lr", g["lr"])
        d["parameters"] = len(g["params"])
        groups.append(d)
    sched = None
    if scheduler is not None:
        state = getattr(scheduler, "state_dict", lambda: None)()
        sched = {"name": type(scheduler).__name__,
                 "config": None if state is None else _schedule_config(state)}
    es = None
    if early_stopping is not None:
        es = {"patience": early_stopping.patience, "min_delta": early_stopping.min_delta,
              "mode": early_stopping.mode, "restore_best": early_stopping.restore_best,
              "monitor": early_stopping.monitor or ("val_loss" if has_val else "loss")}
    return _plain({
        "data": fingerprint(*data), "val_data": None if val is None else fingerprint(*val),
        "batch_size": int(batch_size), "seed": seed, "standardize": bool(standardize),
        "loss": {"name": getattr(loss_fn, "__name__", type(loss_fn).__name__),
                 "reduction": getattr(loss_fn, "reduction", None)},
        "optimizer": {"name": type(optimizer).__name__, "groups": groups},
        "scheduler": sched, "early_stopping": es})


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(obj, list) and obj and any(isinstance(v, (dict, list)) for v in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flat(v, f"{prefix}.{i}"))
        return out
    return {prefix: obj}


_WHAT = {"data": "the training data", "val_data": "the validation data"}


def plan_differences(saved, live):
    """['what: now X, the run used Y', ...] for each setting that differs."""
    a, b = _flat(saved), _flat(live)
    out = []
    for key in list(dict.fromkeys(list(a) + list(b))):
        if a.get(key, "(none)") != b.get(key, "(none)"):
            top = key.split(".")[0]
            if top in _WHAT:
                out.append(f"{_WHAT[top]} differ{'s' if top != 'data' else ''} from the run's")
            else:
                out.append(f"{key} is {b.get(key, '(none)')!r}, the run used "
                           f"{a.get(key, '(none)')!r}")
    return list(dict.fromkeys(out))


def check_plan(saved, live, where):
    """Refuse a resume whose settings differ from the run's own (see the module doc)."""
    if saved is None:          # a checkpoint from before plans were saved: nothing to compare
        return
    diffs = plan_differences(saved, live)
    if diffs:
        raise ChainruleError(
            "resume", message=f"cannot continue the run in {where} exactly: "
            + "; ".join(diffs[:6]) + (f" (and {len(diffs) - 6} more)" if len(diffs) > 6 else "")
            + ". A resumed run keeps the settings it started with, so that it ends where an "
            "uninterrupted run would; resume with the run's own settings, or start a new run "
            "(another checkpoint_dir, or overwrite=True) to train with these")


def generator_states(model):
    """The state of every random generator a module draws from while training (Dropout)."""
    out = {}
    for name, m in model.named_modules() if hasattr(model, "named_modules") else ():
        g = getattr(m, "rng", None)
        if isinstance(g, np.random.Generator):
            out[name] = g.bit_generator.state
    return out


def restore_generators(model, states):
    mods = dict(model.named_modules()) if hasattr(model, "named_modules") else {}
    for name, state in (states or {}).items():
        g = getattr(mods.get(name), "rng", None)
        if isinstance(g, np.random.Generator):
            g.bit_generator.state = state
