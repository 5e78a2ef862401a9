"""``chainrule train`` and ``chainrule predict``: learning from the command line.

Plain ``chainrule train`` trains an MLP on scikit-learn's bundled digits and
writes model.npz, history.json/csv and curves.png into a run folder.  Defaults
are chosen per model so every bundled dataset trains well with no flags.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import time

import numpy as np

from ..core.errors import ChainruleError
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


def register(sub):
    from ..data import BUNDLED
    from ..training.setup import MODELS, OPTIMIZERS
    p = sub.add_parser(
        "train", help="train a model on a dataset and save it",
        description="Train a model and write model.npz, history.json, history.csv and "
                    "curves.png into --out. With no flags: an MLP on the digits dataset.")
    p.add_argument("--data", default="digits", metavar="NAME|PATH",
                   help=f"{', '.join(BUNDLED)}, or a .csv (header row) / .npz (X, y) file "
                        "(default: digits)")
    p.add_argument("--target", metavar="COL", help="CSV label column, by name or index "
                   "(default: the last column)")
    p.add_argument("--labels", metavar="PATH", help="labels IDX file when --data is an IDX "
                   "image file (MNIST format)")
    p.add_argument("--task", choices=["regression", "binary", "multiclass"],
                   help="override the task guessed from the labels")
    p.add_argument("--model", choices=MODELS, help="default: mlp for multiclass, logreg for "
                   "binary, linreg for regression")
    p.add_argument("--hidden", default="128", metavar="SIZES",
                   help="MLP hidden layer sizes, comma-separated (default: 128)")
    p.add_argument("--activation", default="relu", help="MLP activation (default: relu)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam for mlp, momentum "
                   "(SGD with momentum 0.9) for linear models")
    p.add_argument("--lr", type=float, help="learning rate (default: 3e-3 adam, 0.05 momentum, "
                   "0.1 sgd)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay")
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                   help="learning-rate schedule over the epochs (default: cosine)")
    p.add_argument("--epochs", type=int, help="default: 30 for mlp, 100 for linear models, "
                   "more for small datasets (at least 1200 updates)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0, help="seed for the split, weights and batches")
    p.add_argument("--val", type=float, default=0.15, help="validation fraction (default 0.15)")
    p.add_argument("--test", type=float, default=0.15, help="test fraction (default 0.15)")
    p.add_argument("--patience", type=int, help="early stopping: stop after this many epochs "
                   "without a better validation loss, keeping the best weights")
    p.add_argument("--no-standardize", action="store_true",
                   help="feed raw features (default: scale to mean 0, std 1 on the training split)")
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/<data>-<model>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue from --out/model.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true", help="do not write curves.png")
    p.add_argument("--compile", action="store_true", help="compute each minibatch's loss and "
                   "gradients with a generated program (chainrule.compile): same results, faster")
    p.set_defaults(func=run_train)

    q = sub.add_parser("predict", help="apply a trained model to data",
                       description="Predict with a model saved by `chainrule train`.")
    q.add_argument("--checkpoint", required=True, metavar="DIR|FILE",
                   help="a run folder or its model.npz")
    q.add_argument("--data", required=True, metavar="NAME|PATH",
                   help="dataset name, .csv (the label column is optional) or .npz")
    q.add_argument("--target", metavar="COL", help="CSV label column if named differently "
                   "than in training")
    q.add_argument("--labels", metavar="PATH", help="labels IDX file for IDX images")
    q.add_argument("--out", metavar="FILE", help="write predictions CSV here (default: stdout)")
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
    from ..training.setup import build_model, make_optimizer, model_config

    t0 = time.perf_counter()
    ds = load(args.data, target=args.target, labels=args.labels, task=args.task)
    kind = args.model or DEFAULT_MODEL[ds.task]
    opt_name, default_lr, default_epochs = DEFAULTS[kind]
    opt_name = args.optimizer or opt_name
    lr = args.lr if args.lr is not None else (default_lr if not args.optimizer else LR[opt_name])
    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1:
        raise CommandError("--epochs and --batch-size must be at least 1")
    config = model_config(kind, ds.n_features, ds.task, ds.n_classes,
                          hidden=_hidden(args.hidden), activation=args.activation, seed=args.seed)
    config.update(feature_names=list(ds.feature_names), target=ds.target_name, data=ds.name,
                  classes=None if ds.classes is None else [_class_name(c) for c in ds.classes],
                  scale_target=kind == "mlp" and ds.task == "regression")
    train, val, test = train_val_test_split(ds.X, ds.y, val=args.val, test=args.test,
                                            seed=args.seed)
    # small datasets have few batches per epoch: give them at least MIN_STEPS updates
    per_epoch = -(-len(train[0]) // args.batch_size)
    epochs = args.epochs or max(default_epochs, -(-MIN_STEPS // per_epoch))
    out = args.out or os.path.join("runs", f"{ds.name.split('.')[0]}-{kind}-"
                                   + time.strftime("%Y%m%d-%H%M%S"))
    model = build_model(config, y_train=train[1])
    opt = make_optimizer(opt_name, model.parameters(), lr, args.weight_decay)
    sched = optim.CosineAnnealingLR(opt, T_max=epochs) if args.schedule == "cosine" else None
    sizes = ", ".join(f"{k} {len(v[0])}" for k, v in zip(("train", "val", "test"),
                                                          (train, val, test)))
    procs = f", {dist.world_size()} processes" if dist.world_size() > 1 else ""
    if dist.is_main():
        print(f"{ds!r} -> {kind} ({sizes}); {opt_name} lr={lr:g}, {epochs} epochs, "
              f"batch {args.batch_size}, seed {args.seed}{procs}", flush=True)
    history = fit(model, train, optimizer=opt, epochs=epochs, batch_size=args.batch_size,
                  seed=args.seed, val_data=val if len(val[0]) else None, scheduler=sched,
                  early_stopping=args.patience, checkpoint_dir=out, resume=args.resume,
                  progress=not args.no_progress, standardize=not args.no_standardize,
                  config=config, task=ds.task, compile=args.compile)
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
    history.to_json(os.path.join(out, "history.json"))
    history.to_csv(os.path.join(out, "history.csv"))
    files = ["model.npz", "history.json", "history.csv"]
    if not args.no_plot:
        try:
            history.plot(os.path.join(out, "curves.png"), title=f"{ds.name}: {kind}")
            files.append("curves.png")
        except ChainruleError as e:
            print(f"note: no curves.png ({str(e).split(': ', 1)[-1]})", file=sys.stderr)
    stop = f", stopped early at epoch {history.stopped_epoch} (best {history.best_epoch})" \
        if history.stopped_epoch else ""
    print(f"\nwrote {', '.join(files)} to {out}{stop}  [{time.perf_counter() - t0:.1f}s]")
    return 0


def _predict(args):
    from ..data import BUNDLED, load
    from ..data.loaders import column_index, csv_features, read_csv
    from ..training import load_model, predict
    from ..training.metrics import predicted_labels, probabilities

    model, ck = load_model(args.checkpoint)
    config, n = ck.config, int(ck.n_features or ck.config["n_features"])
    task = config["task"]
    y = None
    src = str(args.data)
    if src.lower().endswith((".csv", ".tsv", ".txt", ".csv.gz")) and os.path.exists(src):
        header, body = read_csv(src)
        if args.target:
            t = column_index(header, args.target, src)
        else:
            t = header.index(config["target"]) if config.get("target") in header else None
        names = config.get("feature_names") or []
        if names and all(c in header for c in names):
            cols = [header.index(c) for c in names]
        else:
            cols = [j for j in range(len(header)) if j != t]
        if len(cols) != n:
            raise CommandError(f"the checkpoint's model expects {n} features but {src} has "
                               f"{len(cols)} feature columns "
                               f"({', '.join(header[j] for j in cols)})")
        X = csv_features(src, header, body, cols)
        if t is not None and t not in cols:
            y = _labels([r[t].strip() for _, r in body], config)
    else:
        if src.lower() not in BUNDLED and not os.path.exists(src):
            raise CommandError(f"no dataset or file named {src!r}")
        ds = load(src, target=args.target, labels=args.labels)
        X, y = ds.X, ds.y
        if X.shape[1] != n:
            raise CommandError(f"the checkpoint's model expects {n} features but {src} has "
                               f"{X.shape[1]}")
    from ..data import Standardizer
    scaler = Standardizer.from_state(ck.standardizer) if ck.standardizer else None
    out = predict(model, X, standardizer=scaler)
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
        from ..training import atomic_write
        atomic_write(args.out, lambda f: f.write(buf.getvalue().encode()))
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    if y is not None:
        from ..training.metrics import accuracy, r2_score
        score = r2_score(out, y) if task == "regression" else accuracy(out, y, task)
        print(f"{'R²' if task == 'regression' else 'accuracy'} on {src}: {score:.4f}",
              file=sys.stderr)
    return 0


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
