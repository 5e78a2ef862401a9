"""``chainrule train`` and ``chainrule predict``: learning from the command line.

Plain ``chainrule train`` trains an MLP on scikit-learn's bundled digits and
writes model.npz, history.json/csv and curves.png into a run folder.  Defaults
are chosen per model so every bundled dataset trains well with no flags.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time

import numpy as np

from ..core.errors import ChainruleError
from .grad import add_anomaly_argument
from .main import CommandError

ORDER = 1          # train, then predict, first in the help

DEFAULT_MODEL = {"multiclass": "mlp", "binary": "logreg", "regression": "linreg"}
# (optimizer, lr, epochs): Adam for nets; heavy-ball SGD with a cosine schedule lets
# linear models settle on the least-squares / max-likelihood optimum.
DEFAULTS = {"mlp": ("adam", 3e-3, 30), "linreg": ("momentum", 0.05, 100),
            "logreg": ("momentum", 0.05, 100), "softmax": ("momentum", 0.05, 100)}
MIN_STEPS = 1200
LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 3e-3, "adamw": 3e-3,
      "rmsprop": 1e-3}
SCHEDULES = ("cosine", "constant")
# the flags that decide a run: saved with it, and what --resume must not change
SETTINGS = {"data": "digits", "target": None, "labels": None, "header": None, "task": None,
            "model": None, "hidden": "128", "activation": "relu", "optimizer": None, "lr": None,
            "weight_decay": 0.0, "schedule": "cosine", "epochs": None, "batch_size": 32,
            "seed": 0, "val": 0.15, "test": 0.15, "patience": None, "standardize": True}


def register(sub):
    from ..data import BUNDLED
    from ..nn.activations import ACTIVATIONS
    from ..training.setup import MODELS, OPTIMIZERS
    p = sub.add_parser(
        "train", help="train a model on a dataset and save it",
        description="Train a model and write model.npz, history.json, history.csv and "
                    "curves.png into --out. With no flags: an MLP on the digits dataset. "
                    "An existing run is never replaced without --force; --resume continues "
                    "it with its own settings.")
    p.add_argument("--data", metavar="NAME|PATH",
                   help=f"{', '.join(BUNDLED)}, or a .csv / .npz (X, y) file "
                        "(default: digits; with --resume: the run's data)")
    p.add_argument("--target", metavar="COL", help="CSV label column, by name or index "
                   "(default: the last column)")
    p.add_argument("--labels", metavar="PATH", help="labels IDX file when --data is an IDX "
                   "image file (MNIST format)")
    header = p.add_mutually_exclusive_group()
    header.add_argument("--no-header", dest="header", action="store_false", default=None,
                        help="the CSV has no header row: its first line is data")
    header.add_argument("--header", dest="header", action="store_true",
                        help="the CSV's first line names the columns (default: detected)")
    p.add_argument("--task", choices=["regression", "binary", "multiclass"],
                   help="override the task guessed from the labels")
    p.add_argument("--model", choices=MODELS, help="default: mlp for multiclass, logreg for "
                   "binary, linreg for regression")
    p.add_argument("--hidden", metavar="SIZES",
                   help="MLP hidden layer sizes, comma-separated (default: 128)")
    p.add_argument("--activation", choices=ACTIVATIONS, help="MLP activation (default: relu)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam for mlp, momentum "
                   "(SGD with momentum 0.9) for linear models")
    p.add_argument("--lr", type=float, help="learning rate (default: 3e-3 adam, 0.05 momentum, "
                   "0.1 sgd)")
    p.add_argument("--weight-decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="learning-rate schedule over the epochs (default: cosine)")
    p.add_argument("--epochs", type=int, help="default: 30 for mlp, 100 for linear models, "
                   "more for small datasets (at least 1200 updates)")
    p.add_argument("--batch-size", type=int, help="default 32")
    p.add_argument("--seed", type=int, help="seed for the split, weights and batches (default 0)")
    p.add_argument("--val", type=float, help="validation fraction (default 0.15)")
    p.add_argument("--test", type=float, help="test fraction (default 0.15)")
    p.add_argument("--patience", type=int, help="early stopping: stop after this many epochs "
                   "without a better validation loss, keeping the best weights")
    p.add_argument("--no-standardize", dest="standardize", action="store_false", default=None,
                   help="feed raw features (default: scale to mean 0, std 1 on the training split)")
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/<data>-<model>-<time>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out with its own settings (see docs/training.md)")
    p.add_argument("--force", action="store_true", help="replace the run already in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_anomaly_argument(p)
    p.add_argument("--no-plot", action="store_true", help="do not write curves.png")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="compute each minibatch's loss and gradients with a generated program "
                   "(chainrule.compile): the same results to rounding, faster; the models this "
                   "command builds are compiled by default, --no-compile trains eagerly")
    p.set_defaults(func=run_train)

    q = sub.add_parser("predict", help="apply a trained model to data",
                       description="Predict with a model saved by `chainrule train`. CSV "
                                   "columns are matched to the model's features by name.")
    q.add_argument("--checkpoint", required=True, metavar="DIR|FILE",
                   help="a run folder or its model.npz")
    q.add_argument("--data", required=True, metavar="NAME|PATH",
                   help="dataset name, .csv (the label column is optional) or .npz")
    q.add_argument("--target", metavar="COL", help="CSV label column if named differently "
                   "than in training")
    q.add_argument("--labels", metavar="PATH", help="labels IDX file for IDX images")
    header = q.add_mutually_exclusive_group()
    header.add_argument("--no-header", dest="header", action="store_false", default=None,
                        help="the CSV has no header row: columns are the model's features in "
                             "training order")
    header.add_argument("--header", dest="header", action="store_true",
                        help="the CSV's first line names the columns (default: detected)")
    q.add_argument("--out", metavar="FILE", help="write predictions CSV here (default: stdout)")
    q.add_argument("--force", action="store_true", help="replace --out if it exists")
    q.set_defaults(func=run_predict)


def _one_line(fn, args):
    """Run ``fn``; library errors become one-line CommandErrors (no traceback, exit 2)."""
    try:
        return fn(args)
    except ChainruleError as e:
        raise CommandError(" ".join(part.strip() for part in str(e).splitlines())) from None
    except OSError as e:
        raise CommandError(f"{e.filename or ''}: {e.strerror or e}".lstrip(": ")) from None


def run_train(args):
    return _one_line(_train_on_every_rank, args)


def _train_on_every_rank(args):
    """Under mpiexec: one rank's error stops all; an error all ranks share is printed once."""
    from ..distributed import all_stop_on_error
    with all_stop_on_error("chainrule train", quiet=True):
        return _train(args)


def run_predict(args):
    from .. import distributed as dist
    if not dist.is_main():      # under mpiexec: one process predicts, writes and reports
        return 0
    return _one_line(_predict, args)


def _hidden(text):
    try:
        sizes = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise CommandError(f"--hidden must be positive sizes like 64 or 64,64, got {text!r}")
    return sizes


def _train(args):
    from .. import distributed as dist
    from .. import optim
    from ..data import load, train_val_test_split
    from ..training import evaluate, fit
    from ..training.checkpoint import CURVES
    from ..training.resume import fingerprint
    from ..training.setup import build_model, make_optimizer, model_config
    from .outputs import check_run_folder

    t0 = time.perf_counter()
    # Under mpiexec every rank checks the same arguments and reads the same files, so a
    # mistake fails on every rank alike: it is reported once, as in one process (rank 0
    # alone checks the output folder, and tells the others).
    with dist.together(errors=(CommandError, ChainruleError, OSError), make=CommandError):
        ck = _resumed_run(args) if args.resume else None
        settings = _settings(args, ck)
        if args.out and dist.is_main():                 # rank 0 alone writes (and checks) files
            check_run_folder(args.out, args.force, args.resume,
                             inputs={"--data": settings["data"], "--labels": settings["labels"]})
        ds = load(settings["data"], target=settings["target"], labels=settings["labels"],
                  task=settings["task"], header=settings["header"])
        kind = settings["model"] or DEFAULT_MODEL[ds.task]
        opt_name, default_lr, default_epochs = DEFAULTS[kind]
        opt_name = settings["optimizer"] or opt_name
        lr = settings["lr"] if settings["lr"] is not None else \
            (default_lr if not settings["optimizer"] else LR[opt_name])
        if (settings["epochs"] is not None and settings["epochs"] < 1) or \
                settings["batch_size"] < 1:
            raise CommandError("--epochs and --batch-size must be at least 1")
        config = model_config(kind, ds.n_features, ds.task, ds.n_classes,
                              hidden=settings["hidden"], activation=settings["activation"],
                              seed=settings["seed"])
        config.update(feature_names=list(ds.feature_names), named_features=ds.named_features,
                      target=ds.target_name, data=ds.name,
                      classes=None if ds.classes is None else
                      [_class_name(c) for c in ds.classes],
                      scale_target=kind == "mlp" and ds.task == "regression")
        train, val, test = train_val_test_split(ds.X, ds.y, val=settings["val"],
                                                test=settings["test"], seed=settings["seed"])
        # small datasets have few batches per epoch: give them at least MIN_STEPS updates
        per_epoch = -(-len(train[0]) // settings["batch_size"])
        epochs = settings["epochs"] or max(default_epochs, -(-MIN_STEPS // per_epoch))
        settings.update(task=ds.task, model=kind, optimizer=opt_name, lr=lr, epochs=epochs,
                        data_fingerprint=fingerprint(ds.X, ds.y))
        if ck is not None:
            _check_same_data(ck, settings, args.out)
        config["run"] = settings
        out = args.out or os.path.join("runs", f"{ds.name.split('.')[0]}-{kind}-"
                                       + time.strftime("%Y%m%d-%H%M%S"))
        if not args.out and dist.is_main():
            check_run_folder(out)
        if ck is not None and _nothing_to_train(ck, epochs, out, args, f"{ds.name}: {kind}"):
            return 0
        model = build_model(config, y_train=train[1])
        opt = make_optimizer(opt_name, model.parameters(), lr, settings["weight_decay"])
        sched = optim.CosineAnnealingLR(opt, T_max=epochs) if settings["schedule"] == "cosine" \
            else None
    sizes = ", ".join(f"{k} {len(v[0])}" for k, v in zip(("train", "val", "test"),
                                                          (train, val, test)))
    resuming = f"; resuming after epoch {ck.epoch}" if ck is not None else ""
    procs = f", {dist.world_size()} processes" if dist.world_size() > 1 else ""
    if dist.world_size() > 1 and dist.blas_threads() is not None:
        procs += f" ({dist.blas_threads()} BLAS thread(s) each; set OMP_NUM_THREADS to choose)"
    if dist.is_main():
        print(f"{ds!r} -> {kind} ({sizes}); "
              f"{opt_name} lr={lr:g} ({settings['schedule']}), "
              f"{epochs} epoch{'s' if epochs != 1 else ''}, "
              f"batch {settings['batch_size']}, seed {settings['seed']}{procs}{resuming}",
              flush=True)
    title = f"{ds.name}: {kind}"
    try:
        history = fit(model, train, optimizer=opt, epochs=epochs,
                      batch_size=settings["batch_size"], seed=settings["seed"],
                      val_data=val if len(val[0]) else None, scheduler=sched,
                      early_stopping=settings["patience"], checkpoint_dir=out,
                      resume=args.resume, overwrite=args.force,
                      progress=not args.no_progress, standardize=settings["standardize"],
                      config=config, task=ds.task, compile=args.compile,
                      callbacks=[_stale_file(out, CURVES)] if dist.is_main() else [])
    except KeyboardInterrupt:
        if dist.is_main():
            _interrupted(out, not args.no_plot, title)
        raise
    if not dist.is_main():
        return 0             # rank 0 evaluates, prints and writes the files
    scaler = history.standardizer
    rows = [(name, evaluate(model, part, standardizer=scaler, task=ds.task))
            for name, part in (("train", train), ("val", val), ("test", test)) if len(part[0])]
    metric = "accuracy" if ds.task != "regression" else "r2"
    print()
    print(f"{'split':<6} {'loss':>10} {('accuracy' if metric == 'accuracy' else 'R²'):>9}")
    for name, r in rows:
        print(f"{name:<6} {r['loss']:>10.4f} {r[metric]:>9.4f}")
    files = ["model.npz", "history.json", "history.csv"] + _curves(out, history, args, title)
    stop = f", stopped early at epoch {history.stopped_epoch} (best {history.best_epoch})" \
        if history.stopped_epoch else ""
    print(f"\nwrote {', '.join(files)} to {out}{stop}  [{time.perf_counter() - t0:.1f}s]")
    return 0


def _resumed_run(args):
    """The checkpoint --resume continues, with the settings the run was started with."""
    from ..training import load_checkpoint
    from ..training.checkpoint import FILENAME, checkpoint_path
    if not args.out:
        raise CommandError("--resume needs --out DIR: the run folder to continue")
    if args.force:
        raise CommandError("--resume continues the run in --out and --force replaces it: "
                           "choose one")
    if not os.path.exists(checkpoint_path(args.out)):
        raise CommandError(f"nothing to resume in {args.out}: it holds no {FILENAME}; drop "
                           "--resume to start a new run there")
    ck = load_checkpoint(args.out)
    if not (ck.config or {}).get("run"):
        raise CommandError(f"the run in {args.out} was saved without its training settings "
                           "(by an older chainrule), so --resume cannot continue it exactly; "
                           "start a new run (--force replaces this one)")
    return ck


def _settings(args, ck):
    """The run's settings: the flags given, else the resumed run's own, else the defaults.

    A resumed run keeps the settings it started with (that is what makes it end exactly
    where an uninterrupted run ends); a flag that contradicts them is refused, naming
    each difference.  --epochs may grow a run only when the schedule does not depend on
    the number of epochs (constant); a cosine run is laid out for its epochs.
    """
    given = {k: getattr(args, k, None) for k in SETTINGS}
    if given["data"] is not None and os.path.exists(given["data"]):
        given["data"] = os.path.abspath(given["data"])
    if given["labels"] is not None:
        given["labels"] = os.path.abspath(given["labels"])
    if given["hidden"] is not None:
        given["hidden"] = _hidden(given["hidden"])
    if ck is None:
        out = {k: SETTINGS[k] if v is None else v for k, v in given.items()}
        out["hidden"] = _hidden(out["hidden"]) if isinstance(out["hidden"], str) else out["hidden"]
        return out
    saved = dict(ck.config["run"])
    conflicts = [f"--{k.replace('_', '-')} {_show(given[k])} (the run: {_show(saved.get(k))})"
                 for k in SETTINGS if k not in ("data", "target", "labels", "header", "epochs")
                 and given[k] is not None and given[k] != saved.get(k)]
    if conflicts:
        raise CommandError(f"--resume continues the run in {args.out} with its own settings, "
                           f"and these flags differ from them: {', '.join(conflicts)}. Drop "
                           "them to continue the run exactly, or start a new run with them "
                           "(another --out, or --force to replace this one)")
    out = {k: saved.get(k, SETTINGS[k]) if given[k] is None else given[k] for k in SETTINGS}
    out["data_fingerprint"] = saved.get("data_fingerprint")
    done, planned, wanted = int(ck.epoch or 0), saved["epochs"], given["epochs"]
    if wanted is not None and wanted != planned:
        if wanted < done:
            raise CommandError(f"the run in {args.out} has already trained {done} epochs, more "
                               f"than --epochs {wanted}; a run cannot be shortened (predict "
                               "uses its model as it is)")
        if out["schedule"] == "cosine":
            raise CommandError(
                f"--epochs {wanted} with --resume: this run's cosine schedule was laid out for "
                f"{planned} epochs (its learning rate reaches 0 at epoch {planned}), so training "
                f"on to {wanted} cannot give the model a fresh {wanted}-epoch run would. Resume "
                f"without --epochs to finish its {planned} epochs, start a new {wanted}-epoch "
                "run (another --out, or --force), or use --schedule constant for runs you want "
                "to extend")
    return out


def _show(v):
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _check_same_data(ck, settings, out):
    if ck.config["run"].get("data_fingerprint") not in (None, settings["data_fingerprint"]):
        raise CommandError(f"the data ({settings['data']}) is not what the run in {out} was "
                           "trained on; resume it on the same data, or start a new run "
                           "(another --out, or --force to replace this one)")


def _nothing_to_train(ck, epochs, out, args, title):
    """Say so (and restore a missing curves.png) when a resumed run has nothing left."""
    from ..training import History
    history = History.from_dict(ck.history or {})
    if history.stopped_epoch:
        why = (f"stopped early at epoch {history.stopped_epoch} (best epoch "
               f"{history.best_epoch})")
    elif int(ck.epoch or 0) >= epochs:
        why = f"already has all {epochs} of its epochs"
    else:
        return False
    from .. import distributed as dist
    if dist.is_main():                  # (every rank stops here; rank 0 writes and says so)
        files = _curves(out, history, args, title, only_if_missing=True)
        print(f"the run in {out} {why}: nothing to train"
              + (f"; wrote the missing {files[0]}" if files else ""))
    return True


def _curves(out, history, args, title, only_if_missing=False):
    """Write curves.png for ``history``; returns the names written."""
    from ..training.checkpoint import CURVES
    path = os.path.join(out, CURVES)
    if args.no_plot or not len(history) or (only_if_missing and os.path.exists(path)):
        return []
    try:
        history.plot(path, title=title)
    except ChainruleError as e:
        print(f"note: no {CURVES} ({str(e).split(': ', 1)[-1]})", file=sys.stderr)
        return []
    return [CURVES]


def _interrupted(out, plot, title):
    """After Ctrl-C or SIGTERM: draw the curves of the last saved epoch and say where it is."""
    from ..training import History, load_checkpoint
    from ..training.checkpoint import CURVES, checkpoint_path
    if not os.path.exists(checkpoint_path(out)):
        print(f"\nno epoch finished: nothing was saved in {out}", file=sys.stderr)
        return
    try:
        ck = load_checkpoint(out)
        history = History.from_dict(ck.history or {})
        if plot:
            history.plot(os.path.join(out, CURVES), title=title)
    except (ChainruleError, OSError):
        plot = False
    files = "model.npz, history.json, history.csv" + (f", {CURVES}" if plot else "")
    print(f"\n{out} holds epoch {ck.epoch} ({files}); continue with: "
          f"chainrule train --out {out} --resume", file=sys.stderr)


def _stale_file(folder, name):
    """A callback that removes ``name`` from the run folder when the first epoch ends:
    from then on it would describe an earlier state (curves.png is drawn at the end)."""
    from ..training import LambdaCallback
    path, pending = os.path.join(folder, name), [True]

    def remove(epoch, logs, run):
        if pending and pending.pop() and os.path.exists(path):
            os.unlink(path)
    return LambdaCallback(on_epoch_end=remove)


def _predict(args):
    from ..data import BUNDLED, Standardizer, load
    from ..data.loaders import csv_features, read_table
    from ..training import load_model, predict
    from ..training.checkpoint import checkpoint_path
    from ..training.metrics import predicted_labels, probabilities
    from .outputs import check_output, write_file

    src = str(args.data)
    if args.out:
        check_output(args.out, args.force, inputs={
            "--checkpoint": checkpoint_path(args.checkpoint), "--data": src,
            "--labels": args.labels})
    model, ck = load_model(args.checkpoint)
    config, n = ck.config, int(ck.n_features or ck.config["n_features"])
    task = config["task"]
    y = None
    if src.lower().endswith((".csv", ".tsv", ".txt", ".csv.gz")) and os.path.exists(src):
        header, body, named = read_table(src, header=args.header)
        cols, t = _feature_columns(src, header, named, config, n, args.target)
        X = csv_features(src, header, body, cols)
        if t is not None and t not in cols:
            y = _labels([r[t].strip() for _, r in body], config)
    else:
        if src.lower() not in BUNDLED and not os.path.exists(src):
            raise CommandError(f"no dataset or file named {src!r}")
        ds = load(src, target=args.target, labels=args.labels, task=task)
        X, y = ds.X, ds.y
        if X.shape[1] != n:
            raise CommandError(f"the checkpoint's model expects {n} features but {src} has "
                               f"{X.shape[1]}")
    scaler = Standardizer.from_state(ck.standardizer) if ck.standardizer else None
    with np.errstate(all="ignore"):            # non-finite outputs are refused just below
        out = predict(model, X, standardizer=scaler)
    _check_finite(out, len(X), src)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    classes = config.get("classes")
    if task == "regression":
        w.writerow(["prediction"])
        w.writerows([[f"{v:.6g}"] for v in out.reshape(len(X), -1)[:, 0]])
    else:
        labels, probs = predicted_labels(out, task), probabilities(out, task)
        names = classes or [str(i) for i in range(probs.shape[1])]
        w.writerow(["prediction"] + [f"p_{c}" for c in names])
        w.writerows([[names[k]] + [f"{p:.6f}" for p in row] for k, row in zip(labels, probs)])
    if args.out:
        write_file(args.out, buf.getvalue())
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    if y is not None:
        from ..training.metrics import accuracy, r2_score
        score = r2_score(out, y) if task == "regression" else accuracy(out, y, task)
        print(f"{'R²' if task == 'regression' else 'accuracy'} on {src}: {score:.4f}",
              file=sys.stderr)
    return 0


def _feature_columns(src, header, named, config, n, target):
    """(the CSV columns holding the model's features, in its order; the label column or None).

    Columns are matched by the names the model was trained with, so their order does
    not matter; a file whose header names none (or only some) of them is refused, never
    read by position.  Position is used only when there are no names to match: a file
    read with --no-header, or a model trained on unnamed features (.npz).
    """
    from ..data.loaders import column_index
    names = list(config.get("feature_names") or [])
    if target is not None:
        t = column_index(header, target, src)
    else:
        t = header.index(config["target"]) if named and config.get("target") in header else None
    if named and names and config.get("named_features", True):
        missing = [c for c in names if c not in header]
        if len(missing) == len(names):
            raise CommandError(
                f"none of the columns of {src} ({_few(header)}) is a feature the model was "
                f"trained on ({_few(names)}); columns are matched by name, so rename them as "
                "in training, or pass --no-header if the file has no header row")
        if missing:
            raise CommandError(f"{src} lacks the model's feature column"
                               f"{'s' if len(missing) > 1 else ''} {_few(missing)} (it has "
                               f"{_few(header)}); columns are matched by name")
        return [header.index(c) for c in names], t
    cols = [j for j in range(len(header)) if j != t]
    if len(cols) != n:
        raise CommandError(f"the checkpoint's model expects {n} features but {src} has "
                           f"{len(cols)} feature columns ({_few([header[j] for j in cols])})"
                           + ("; name the label column with --target INDEX" if
                              len(cols) == n + 1 and t is None else ""))
    if named:
        print(f"note: the model's features have no names (it was trained on "
              f"{config.get('data', 'unnamed data')}), so the columns of {src} are taken in "
              "order", file=sys.stderr)
    return cols, t


def _few(items, limit=8):
    items = [str(i) for i in items]
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit
                                       else "")


def _check_finite(out, n, src):
    bad = np.flatnonzero(~np.isfinite(np.asarray(out).reshape(n, -1)).all(axis=1))
    if len(bad):
        rows = ", ".join(str(int(i)) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise CommandError(f"the model's outputs are not finite (NaN or Inf) for {len(bad)} of "
                           f"the {n} samples of {src} (rows {rows}, counting from 0); their "
                           "inputs are probably far outside the training data. Nothing was "
                           "written")


def _labels(raw, config):
    """CSV label text -> the class indices (or values) the model was trained on; None if unknown."""
    classes = config.get("classes")
    if config["task"] == "regression":
        try:
            return np.array([float(v) for v in raw])
        except ValueError:
            return None
    lookup = {str(c): i for i, c in enumerate(classes or [])}
    for form in (lambda v: v, lambda v: f"{float(v):g}" if _num(v) else v):
        if all(form(v) in lookup for v in raw):
            return np.array([lookup[form(v)] for v in raw])
    return None


def _class_name(c):
    return f"{c:g}" if isinstance(c, (int, float, np.number)) and not isinstance(c, np.str_) \
        else str(c)


def _num(v):
    try:
        float(v)
        return True
    except ValueError:
        return False
