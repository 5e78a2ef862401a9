"""Checkpoints: one ``.npz`` with everything needed to predict or to resume training.

Written atomically (a temporary file in the same folder, then ``os.replace``),
so a crash, Ctrl-C or a diverging run leaves either the previous checkpoint or
the new one, never half of one. Nothing is pickled: arrays are stored as arrays
and everything else as JSON, so loading a checkpoint cannot run code.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..core.errors import ChainruleError
from ..data.loaders import NotAnArchive, open_npz
from .files import atomic_write, interrupts_deferred

FORMAT = "chainrule-checkpoint"
VERSION = 1
FILENAME = "model.npz"
HISTORY_JSON, HISTORY_CSV, CURVES = "history.json", "history.csv", "curves.png"
RUN_FILES = (FILENAME, HISTORY_JSON, HISTORY_CSV, CURVES)     # what a run folder holds


class JSONText(str):
    """Text that already is JSON: stored as one string, so saving a long history after
    every epoch costs one copy instead of re-encoding every record."""


# ------------------------------------------------- nested state <-> arrays+JSON
def _encode(obj, arrays, prefix):
    if isinstance(obj, JSONText):
        return {"__json__": str(obj)}
    if isinstance(obj, np.ndarray):
        arrays[prefix] = obj
        return {"__array__": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {"__dict__": [[k if isinstance(k, (int, str)) else str(k),
                              _encode(v, arrays, f"{prefix}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays, f"{prefix}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ChainruleError("save_checkpoint", message=f"cannot store a {type(obj).__name__} at "
                         f"{prefix!r} in a checkpoint; use numbers, strings, lists, dicts, arrays")


def _decode(obj, arrays):
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__json__" in obj:
            return json.loads(obj["__json__"])
        return {k: _decode(v, arrays) for k, v in obj["__dict__"]}
    return obj


def save_checkpoint(path, model_state, **parts):
    """Atomically write ``path``: the model's state_dict plus any of
    optimizer, epoch, history, standardizer, config, n_features, task, early_stopping."""
    arrays = {}
    meta = {"format": FORMAT, "version": VERSION,
            "model": _encode(dict(model_state), arrays, "model"),
            "parts": {k: _encode(v, arrays, k) for k, v in parts.items()}}
    arrays["__meta__"] = np.array(json.dumps(meta))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def save_run(folder, model_state, history, **parts):
    """A run folder's per-epoch files: model.npz (with ``parts``), history.json, history.csv.

    Interrupts wait until all three are written, so the folder always describes one
    finished epoch.  The checkpoint is written first and fsynced: it is the record a
    resumed run starts from; the history files are rebuilt from it if a power cut
    ever loses them.
    """
    with interrupts_deferred():
        save_checkpoint(os.path.join(folder, FILENAME), model_state,
                        history=JSONText(history.to_json(strict=False)), **parts)
        history_files(folder, history)


def history_files(folder, history):
    """Write history.json and history.csv into ``folder``."""
    atomic_write(os.path.join(folder, HISTORY_JSON),
                 lambda f: f.write((history.to_json() + "\n").encode()), durable=False)
    atomic_write(os.path.join(folder, HISTORY_CSV),
                 lambda f: f.write(history.to_csv().encode()), durable=False)


class Checkpoint(dict):
    """A loaded checkpoint: ``ck.model_state`` and the saved parts as keys/attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            return None


def checkpoint_path(path):
    """A checkpoint file from a file or a run folder (which holds model.npz)."""
    path = os.fspath(path)
    return os.path.join(path, FILENAME) if os.path.isdir(path) else path


def load_checkpoint(path):
    """Read a checkpoint; a missing, foreign or damaged file gives a one-line error."""
    file = checkpoint_path(path)
    if not os.path.exists(file):
        where = f"{path} has no {FILENAME}" if os.path.isdir(path) else f"no checkpoint at {file}"
        raise ChainruleError("checkpoint", message=f"{where}; train one first with "
                             "`chainrule train --out DIR` (or fit(..., checkpoint_dir=DIR))")
    try:
        with open_npz(file) as z:
            if "__meta__" not in z.files:
                raise ValueError("no chainrule metadata inside")
            meta = json.loads(str(z["__meta__"]))
            if meta.get("format") != FORMAT:
                raise ValueError("not written by chainrule")
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
        ck = Checkpoint({k: _decode(v, arrays) for k, v in meta["parts"].items()})
        ck["model_state"] = _decode(meta["model"], arrays)
        ck["path"] = file
    except NotAnArchive as e:
        raise ChainruleError("checkpoint", message=f"{file} is not a readable chainrule "
                             f"checkpoint ({e.what}); a checkpoint is the {FILENAME} that "
                             "`chainrule train` or fit(checkpoint_dir=...) writes") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        why = str(e).splitlines()[0] if str(e) else "damaged"
        if "pickle" in why:
            why = "it holds Python objects, which chainrule never unpickles"
        raise ChainruleError("checkpoint", message=f"{file} is not a readable chainrule "
                             f"checkpoint ({type(e).__name__}: {why}); "
                             "it may be truncated or from another program: retrain to "
                             "recreate it") from None
    return ck
