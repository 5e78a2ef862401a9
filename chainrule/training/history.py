"""History: one record per epoch (train/val loss and metrics), savable and plottable.

Records hold only values that a seeded run reproduces exactly (no wall-clock
times), so two runs with the same seed have equal histories.
"""
from __future__ import annotations

import csv
import io
import json
import math
import operator
import os

from ..core.errors import ChainruleError


class History:
    """``history["val_loss"]`` is that column over epochs; ``history.records`` the raw rows."""

    def __init__(self, records=None, task=None, metric=None):
        self.records = [dict(r) for r in (records or [])]
        self._owners = []             # the records encoded so far (each encoded once) ...
        self._raw, self._strict = [], []   # ... as JSON, and as strict JSON (NaN -> null)
        self._keys = {}               # the keys of those records, in first-seen order
        self._generation = 0          # bumped when the records were replaced
        self._csv_for, self._csv_lines = None, []
        self.task = task
        self.metric = metric          # the headline metric's name ("accuracy" / "r2")
        self.best_epoch = None        # set by early stopping when it restores weights
        self.stopped_epoch = None
        self.standardizer = None      # the fitted Standardizer, when fit(standardize=True)

    def append(self, record):
        self.records.append(dict(record))

    def __len__(self):
        return len(self.records)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.records[key]
        if not any(key in r for r in self.records):
            raise KeyError(f"{key!r} is not in the history; it has {', '.join(self.keys())}")
        return [r.get(key) for r in self.records]

    def keys(self):
        seen = []
        for r in self.records:
            seen.extend(k for k in r if k not in seen)
        return seen

    @property
    def epochs(self):
        return [r["epoch"] for r in self.records]

    def last(self):
        return self.records[-1] if self.records else {}

    def best(self, monitor="val_loss", mode="min"):
        """The record with the best ``monitor`` value (lowest for 'min')."""
        rows = [r for r in self.records if _finite(r.get(monitor))]
        if not rows:
            return None
        pick = min if mode == "min" else max
        return pick(rows, key=lambda r: r[monitor])

    def __eq__(self, other):
        return isinstance(other, History) and self.records == other.records

    def __repr__(self):
        return f"History({len(self)} epochs, keys={self.keys()})"

    # ----------------------------------------------------------- save / load
    def to_dict(self):
        return {"task": self.task, "metric": self.metric, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "epochs": self.records}

    @classmethod
    def from_dict(cls, d):
        h = cls(d.get("epochs", []), task=d.get("task"), metric=d.get("metric"))
        h.best_epoch, h.stopped_epoch = d.get("best_epoch"), d.get("stopped_epoch")
        return h

    def _encoded(self):
        """(JSON of each record, strict JSON of each, the keys in first-seen order).

        A run writes its history after every epoch; encoding each record once keeps
        that cost flat instead of growing with the number of epochs.  Records are
        taken as they were appended (replace a record rather than edit it in place).
        """
        owners, records = self._owners, self.records
        if len(owners) > len(records) or not all(map(operator.is_, owners, records)):
            owners.clear()
            self._raw, self._strict, self._keys = [], [], {}
            self._generation += 1
        for r in records[len(owners):]:
            owners.append(r)
            text = json.dumps(r)
            self._raw.append(text)
            self._strict.append(json.dumps(_clean(r)) if "NaN" in text or "Infinity" in text
                                else text)
            self._keys.update(dict.fromkeys(r))
        return self._raw, self._strict, list(self._keys)

    def json_parts(self, strict=True):
        """(head, [one JSON line per record]): the file is head + "[\\n" + ",\\n".join(rows)
        + "\\n]}", so a run can append one epoch without rewriting the others."""
        raw, clean, _ = self._encoded()
        texts = clean if strict else raw
        head = {"task": self.task, "metric": self.metric, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch}
        return json.dumps(head)[:-1] + ', "epochs": ', texts

    def to_json(self, path=None, strict=True):
        """JSON text, one epoch per line; also written to ``path`` when given.

        ``strict`` writes NaN/Inf as null, as every JSON reader needs; strict=False keeps
        them (Python's json reads them back exactly: what a checkpoint stores).
        """
        head, texts = self.json_parts(strict)
        text = head + ("[\n" + ",\n".join(texts) + "\n]}" if texts else "[]}")
        if path is not None:
            _write_text(path, text + "\n")
        return text

    @classmethod
    def from_json(cls, source):
        """From JSON text or a path written by to_json."""
        text = source
        if not str(source).lstrip().startswith("{"):
            with open(source) as f:
                text = f.read()
        return cls.from_dict(json.loads(text))

    def csv_parts(self):
        """(header line, [one line per record]) of the CSV, each record encoded once."""
        _, _, keys = self._encoded()
        if self._csv_for != (self._generation, keys):
            self._csv_for, self._csv_lines = (self._generation, keys), []
        for r in self._owners[len(self._csv_lines):]:
            self._csv_lines.append(_csv_line(["" if r.get(k) is None else r[k] for k in keys]))
        return _csv_line(keys), self._csv_lines

    def to_csv(self, path=None):
        """One row per epoch, one column per key."""
        header, lines = self.csv_parts()
        text = header + "".join(lines)
        if path is not None:
            _write_text(path, text)
        return text

    def plot(self, path, title=None):
        """Save loss and metric curves (train and val) to ``path`` (.png, .svg or .pdf).

        Uses matplotlib's Agg canvas directly, so no display or pyplot state is touched.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ChainruleError("History.plot", message="plotting needs matplotlib; run: "
                                 "pip install \"chainrule[plot]\"") from None
        if not self.records:
            raise ChainruleError("History.plot", message="the history is empty: nothing to plot")
        metric = self.metric if self.metric in self.keys() else None
        fig = Figure(figsize=(10 if metric else 5.5, 4), layout="constrained")
        axes = fig.subplots(1, 2 if metric else 1, squeeze=False)[0]
        for ax, key, label in zip(axes, ["loss", metric], ["loss", _label(metric)]):
            for prefix, style in (("", "-"), ("val_", "--")):
                if prefix + key in self.keys():
                    ax.plot(self.epochs, [_nan(v) for v in self[prefix + key]], style, marker=".",
                            label=("validation " if prefix else "training ") + label)
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch, color="grey", lw=0.8, ls=":", label="best epoch")
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend()
        axes[0].set_title(title or "loss")
        fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
        from .files import atomic_write
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=110))
        return path


def _label(metric):
    return {"accuracy": "accuracy", "r2": "R²"}.get(metric, metric or "")


def _finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def _nan(v):
    return float("nan") if v is None else v


def _clean(obj):
    """JSON has no NaN: write null instead."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _csv_line(fields):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _write_text(path, text, durable=True):
    from .files import atomic_write
    atomic_write(path, lambda f: f.write(text.encode()), durable=durable)
