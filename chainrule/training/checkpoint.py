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
    if isinstance(obj, JSONText):       # kept as its own UTF-8 member: nothing re-escaped
        arrays[prefix] = np.frombuffer(obj.encode(), dtype=np.uint8)
        return {"__json__": prefix}
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
            return json.loads(arrays[obj["__json__"]].tobytes().decode())
        return {k: _decode(v, arrays) for k, v in obj["__dict__"]}
    return obj


def save_checkpoint(path, model_state, **parts):
    """Atomically write ``path``: the model's state_dict plus any of
    optimizer, epoch, history, standardizer, config, n_features, task, early_stopping."""
    arrays = {}
    meta = {"format": FORMAT, "version": VERSION,
            "model": _encode(dict(model_state), arrays, "model"),
            "parts": {k: _encode(v, arrays, k) for k, v in parts.items()}}
    # UTF-8 bytes: a NumPy string array would take 4 bytes per character
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def save_run(folder, model_state, history, history_files=None, **parts):
    """A run folder's per-epoch files: model.npz (with ``parts``), history.json, history.csv.

    Interrupts wait until all three are written, so the folder always describes one
    finished epoch.  The checkpoint is written first and fsynced: it is the record a
    resumed run starts from (and holds the history too).  ``history_files``, a
    HistoryFiles kept for the run, appends each new epoch to the history files instead
    of rewriting them.
    """
    with interrupts_deferred():
        save_checkpoint(os.path.join(folder, FILENAME), model_state,
                        history=JSONText(history.to_json(strict=False)), **parts)
        (history_files or HistoryFiles(folder)).write(history)


class HistoryFiles:
    """history.json and history.csv of one run folder, kept up to date epoch by epoch.

    The first write (and any write after the files changed under us, the columns
    changed, or the history was not simply one epoch longer) replaces both files
    atomically; every other write appends the one new epoch in a single ``pwrite``
    per file, so the cost per epoch does not grow with the length of the run.
    """

    TAIL = b"\n]}\n"

    def __init__(self, folder):
        self.folder = folder
        self.known = None     # what we last wrote: (records, head, csv header, file stats)

    def _stat(self, name):
        st = os.stat(os.path.join(self.folder, name))
        return st.st_ino, st.st_size, st.st_mtime_ns

    def write(self, history):
        head, rows = history.json_parts()
        csv_head, lines = history.csv_parts()
        known = self.known
        try:
            fresh = (known is None or known[0] != len(rows) - 1 or known[1] != head
                     or known[2] != csv_head or known[3] != (self._stat(HISTORY_JSON),
                                                             self._stat(HISTORY_CSV)))
        except OSError:
            fresh = True
        if fresh:
            text = head + ("[\n" + ",\n".join(rows) + "\n]}" if rows else "[]}") + "\n"
            atomic_write(os.path.join(self.folder, HISTORY_JSON),
                         lambda f: f.write(text.encode()), durable=False)
            atomic_write(os.path.join(self.folder, HISTORY_CSV),
                         lambda f: f.write((csv_head + "".join(lines)).encode()),
                         durable=False)
        else:
            _append(os.path.join(self.folder, HISTORY_JSON), known[3][0][1] - len(self.TAIL),
                    (",\n" + rows[-1]).encode() + self.TAIL)
            _append(os.path.join(self.folder, HISTORY_CSV), known[3][1][1], lines[-1].encode())
        self.known = (len(rows), head, csv_head, (self._stat(HISTORY_JSON),
                                                  self._stat(HISTORY_CSV)))


def _append(path, offset, data):
    """One write at ``offset``: a process killed around it leaves the old or the new text."""
    if not hasattr(os, "pwrite"):                  # Windows
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(data)
            f.truncate()
        return
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


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
            raw = z["__meta__"]
            meta = json.loads(raw.tobytes().decode() if raw.dtype == np.uint8 else str(raw))
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
