"""The fit loop: minibatches, backward, optimizer step, validation, checkpoints.

Reproducible by construction: batch order for epoch e comes from seed (seed, e),
not from a generator that carries state across epochs, so a resumed run sees the
same batches as an uninterrupted one.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..core.errors import ChainruleError
from ..core.state import no_grad
from ..core.tensor import Tensor
from ..data.dataset import check_features, check_labels
from ..data.split import DataLoader, Standardizer
from ..distributed import collective
from .callbacks import Callback, EarlyStopping, ProgressBar
from .checkpoint import (FILENAME, RUN_FILES, HistoryFiles, checkpoint_path, load_checkpoint,
                         save_run)
from .files import remove_stale_temps
from .history import History
from .resume import check_plan, generator_states, restore_generators, run_plan
from .metrics import resolve_metrics
from .setup import make_loss, make_optimizer, task_of_loss

EXPLODED = 1e4     # a batch loss this many times the first one (or 1) counts as diverged


class TrainingDiverged(ChainruleError):
    """The loss became NaN/Inf or exploded: almost always a learning rate that is too high."""


class Run:
    """The live state handed to callbacks."""

    def __init__(self, **kw):
        self.stop = False
        self.__dict__.update(kw)


def _unpack(data, name):
    """(X, y, task hint) from a Dataset, an object with .X/.y, or an (X, y) pair."""
    if hasattr(data, "X") and hasattr(data, "y"):
        return data.X, data.y, getattr(data, "task", None)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1], None
    raise ChainruleError("fit", message=f"{name} must be (X, y) or a chainrule.data.Dataset, "
                         f"got {type(data).__name__}")


def _resolve_task(task, model, hint, loss, y):
    task = task or getattr(model, "task", None) or hint
    if task is None and loss is not None and not isinstance(loss, str):
        task = task_of_loss(loss)
    if task is None:
        kind = np.asarray(getattr(y, "data", y)).dtype.kind
        task = "multiclass" if kind in "iub" else "regression"
    return task


def _target(y, out, task, loss_fn):
    """Labels in the form the loss wants: class indices, or floats shaped like the output."""
    if task == "multiclass":
        return y
    y = y.astype(np.float64)
    if type(loss_fn).__name__ == "HingeLoss":
        y = 2.0 * y - 1.0
    shape = out.shape
    return y.reshape(shape) if int(np.prod(shape)) == y.size else y


def _outputs(model, X, batch=4096):
    """Raw model outputs for X, without recording a graph."""
    with no_grad():
        parts = [np.asarray(model(Tensor(X[i:i + batch])).data) for i in range(0, len(X), batch)]
    return np.concatenate(parts) if parts else np.empty((0,))


def evaluate(model, data, loss=None, metrics=None, task=None, standardizer=None):
    """{"loss": ..., metric: ...} of ``model`` on (X, y), in eval mode and without gradients."""
    X, y, hint = _unpack(data, "data")
    X = check_features(X, source="evaluate")
    task = _resolve_task(task, model, hint, loss, y)
    y = check_labels(y, len(X), task, source="evaluate")
    if standardizer is not None:
        X = standardizer.transform(X)
    return _evaluate(model, X, y, make_loss(loss, model, task), task,
                     resolve_metrics(metrics, task))


def _evaluate(model, X, y, loss_fn, task, metric_fns, outputs=_outputs):
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = outputs(model, X)
            value = float(np.asarray(loss_fn(Tensor(out), _target(y, out, task, loss_fn)).data))
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    logs = {"loss": value}
    for name, fn in metric_fns:
        logs[name] = float(fn(out, y, task))
    return logs


def predict(model, X, standardizer=None):
    """Raw outputs (logits or values) of ``model`` on X, in eval mode."""
    X = check_features(X, source="predict")
    if standardizer is not None:
        X = standardizer.transform(X)
    if hasattr(model, "eval"):
        model.eval()
    return _outputs(model, X)


def _suggest(lr):
    if lr is None:
        return "lower the learning rate"
    s = float(f"{min(lr / 10, 0.01):.0g}")
    return f"lower the learning rate (it is {lr:g}), e.g. --lr {s:g} (lr={s:g} in Python)"


def _validation(val_data, X, task):
    """(X_val, y_val) checked against the training data, or None."""
    if val_data is None:
        return None
    Xv, yv, _ = _unpack(val_data, "val_data")
    Xv = check_features(Xv, source="validation data")
    if Xv.shape[1] != X.shape[1]:
        raise ChainruleError("fit", message=f"validation data has {Xv.shape[1]} features but "
                             f"the training data has {X.shape[1]}")
    return Xv, check_labels(yv, len(Xv), task, source="validation data")


def _train_epoch(run, loader, epoch, loss_fn, task, callbacks, ref):
    """One pass over the minibatches: the gradient-descent steps themselves.

    Returns (summed loss, outputs, labels, reference loss for divergence checks).
    """
    model, opt = run.model, run.optimizer
    total, outs, labels = 0.0, [], []
    for b, (xb, yb) in enumerate(loader.epoch_batches(epoch)):
        opt.zero_grad()
        # overflow shows up as a non-finite loss, reported below in one clear line
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # compiled (see training/compiled.py): loss, outputs and gradients from one program
            done = run.step(xb, yb) if run.step is not None else None
            if done is not None:
                value, out = done
                lv = float(np.asarray(value))
            else:
                out = model(Tensor(xb))
                value = loss_fn(out, _target(yb, out, task, loss_fn))
                lv = float(np.asarray(value.data))
            ref = abs(lv) if ref is None else ref
            if not math.isfinite(lv) or abs(lv) > EXPLODED * max(ref, 1.0):
                _diverged(epoch, b + 1, lv, opt)
            if done is None:
                value.backward()
            opt.step()
        total += lv * len(xb)
        outs.append(np.asarray(getattr(out, "data", out)))
        labels.append(yb)
        for cb in callbacks:
            cb.on_batch_end(b, lv, run)
    return total, np.concatenate(outs), np.concatenate(labels), ref


@collective("distributed")
def fit(model, data, loss=None, optimizer="adam", lr=None, epochs=10, batch_size=32, seed=0,
        val_data=None, metrics=None, callbacks=(), early_stopping=None, checkpoint_dir=None,
        resume=False, progress=True, standardize=False, scheduler=None, weight_decay=0.0,
        config=None, task=None, distributed=None, overwrite=False,
        compile=None):  # noqa: A002
    """Train ``model`` on ``data`` = (X, y) or a Dataset; returns a History.

    loss: None (the model's default_loss(), else by task), a name ("mse", "bce",
    "cross_entropy"...) or a callable. optimizer: "adam", "adamw", "sgd",
    "momentum", "nesterov", "rmsprop" (with ``lr``) or an Optimizer. metrics:
    None means accuracy (classification) / r2 (regression). early_stopping: a
    patience (int) or an EarlyStopping. checkpoint_dir: write model.npz there
    after every epoch, with history.json and history.csv beside it; a folder that
    already holds a checkpoint is refused unless resume=True (or a path: continue
    from it, see training.resume) or overwrite=True (replace it). standardize:
    True fits a Standardizer on the training X only (kept as history.standardizer
    and in the checkpoint). config: a JSON-able model description saved in the
    checkpoint (see setup.build_model). scheduler: stepped once per epoch.
    distributed: None trains data-parallel across the ranks when started by
    mpiexec (every rank must call fit alike), False trains each process alone
    (see training/parallel.py and docs/distributed.md). compile: compute each
    minibatch's loss and gradients with a program chainrule.compile generated
    (training/compiled.py): the same results to rounding, faster. None (the default)
    compiles models made of chainrule's own layers and losses and trains others
    eagerly; True compiles any model (a forward pass must then be a pure function of
    its inputs); False never compiles.
    """
    X, y, hint = _unpack(data, "data")
    X = check_features(X, source="training data")
    task = _resolve_task(task, model, hint, loss, y)
    y = check_labels(y, len(X), task, source="training data")
    if int(epochs) < 1 or int(batch_size) < 1:
        raise ChainruleError("fit", message=f"epochs and batch_size must be ≥ 1, got "
                             f"epochs={epochs}, batch_size={batch_size}")
    val = _validation(val_data, X, task)
    loss_fn = make_loss(loss, model, task)
    metric_fns = resolve_metrics(metrics, task)
    params = list(model.parameters())
    opt = make_optimizer(optimizer, params, lr, weight_decay)
    callbacks = list(callbacks or ())
    dp = None
    if distributed is not False:
        from .parallel import DataParallel
        dp = DataParallel.create(distributed)
    if early_stopping:
        es = early_stopping if isinstance(early_stopping, EarlyStopping) else \
            EarlyStopping(patience=int(early_stopping))
        callbacks.append(es)
    es = next((c for c in callbacks if isinstance(c, EarlyStopping)), None)
    if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.insert(0, progress if isinstance(progress, Callback) else ProgressBar())
    if dp is not None:
        callbacks = dp.local_callbacks(callbacks)
    history = History(task=task, metric=metric_fns[0][0] if metric_fns else None)
    folder = os.fspath(checkpoint_dir) if checkpoint_dir else None
    path = os.path.join(folder, FILENAME) if folder else None
    start, scaler, ref = 0, None, None
    plan = run_plan((X, y), val, batch_size, seed, loss_fn, opt, scheduler, es, standardize,
                    val is not None)
    if folder and (dp is None or dp.is_main):       # only rank 0 writes files
        remove_stale_temps(folder, RUN_FILES)
        _check_folder(folder, path, resume, overwrite)

    if resume:
        if resume is True and path is None:
            raise ChainruleError("fit", message="resume=True needs checkpoint_dir= (or pass "
                                 "resume='path/to/model.npz')")
        ck = (dp.load_checkpoint if dp else load_checkpoint)(path if resume is True else resume)
        _restore(ck, model, opt, es, scheduler, X.shape[1], plan, epochs)
        restore_generators(model, ck.generators)
        ref = ck.divergence_ref
        history = History.from_dict(ck.history or {})
        history.task = task
        history.metric = history.metric or (metric_fns[0][0] if metric_fns else None)
        start = int(ck.epoch or 0)
        if ck.standardizer:
            scaler = Standardizer.from_state(ck.standardizer)
    if standardize and scaler is None:
        scaler = standardize if isinstance(standardize, Standardizer) else Standardizer().fit(X)
    if scaler is not None:
        X = scaler.transform(X)
        if val is not None:
            val = (scaler.transform(val[0]), val[1])
    history.standardizer = scaler

    if dp is not None:
        dp.start(model, opt, X, y, val, seed=seed, batch_size=batch_size, epochs=epochs,
                 start=start, task=task, loss_fn=loss_fn)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    run = Run(model=model, optimizer=opt, history=history, epochs=int(epochs), epoch=start,
              n_batches=len(loader), metrics=metric_fns, has_val=val is not None, loss_fn=loss_fn,
              step=_compiled_step(model, loss_fn, task, compile))
    run.ref = ref
    history_files = HistoryFiles(folder) if folder else None
    save = (lambda: save_run(
        folder, model.state_dict(), history, history_files, optimizer=opt.state_dict(),
        optimizer_name=type(opt).__name__, epoch=run.epoch, config=config,
        n_features=int(X.shape[1]), task=task, seed=seed,
        standardizer=scaler.state_dict() if scaler is not None else None,
        early_stopping=es.state_dict() if es is not None else None,
        scheduler=_plain_state(scheduler), plan=plan, generators=generator_states(model),
        divergence_ref=run.ref)) if path and (dp is None or dp.is_main) else (lambda: None)
    done = history.stopped_epoch is not None or start >= int(epochs)
    for cb in callbacks:
        cb.on_train_begin(run)
    try:
        for epoch in range(start + 1, int(epochs) + 1) if not done else ():
            run.epoch = epoch
            if hasattr(model, "train"):
                model.train()
            for cb in callbacks:
                cb.on_epoch_begin(epoch, run)
            total, out_all, y_all, run.ref = (dp.train_epoch if dp else _train_epoch)(
                run, loader, epoch, loss_fn, task, callbacks, run.ref)
            logs = {"epoch": epoch, "loss": total / len(X)}
            for name, fn in metric_fns:
                logs[name] = float(fn(out_all, y_all, task))
            if val is not None:
                v = (dp.evaluate if dp else _evaluate)(model, val[0], val[1], loss_fn, task,
                                                       metric_fns)
                logs.update(("val_" + k, x) for k, x in v.items())
                if not math.isfinite(v["loss"]):
                    _diverged(epoch, None, v["loss"], opt)
            logs["lr"] = float(opt.param_groups[0]["lr"])
            history.append(logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs, run)
            if scheduler is not None:
                scheduler.step()
            save()
            if dp is not None:
                dp.end_epoch(run)      # any rank's stop stops all; the replicas still agree
            if run.stop:
                break
    except BaseException:
        for cb in callbacks:
            if isinstance(cb, ProgressBar):
                cb.on_train_end(run)
        raise
    for cb in callbacks:
        cb.on_train_end(run)
    if hasattr(model, "eval"):
        model.eval()
    if history.best_epoch is not None and not done:
        save()             # the checkpoint now holds the restored best weights
    return history


def _check_folder(folder, path, resume, overwrite):
    """Never start a new run over an existing one unless asked to replace it."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ChainruleError("fit", message=f"checkpoint_dir {folder} is a file, not a folder")
    if resume and overwrite:
        raise ChainruleError("fit", message="resume=True continues the run in checkpoint_dir "
                             "and overwrite=True replaces it: choose one")
    if resume is True or overwrite or not os.path.exists(path):
        return
    source = checkpoint_path(resume) if resume else None
    if source and os.path.exists(source) and os.path.samefile(source, path):
        return
    raise ChainruleError("fit", message=f"{folder} already holds a training run ({FILENAME}); "
                         "pass resume=True to continue it, overwrite=True to replace it, or "
                         "another checkpoint_dir")


def _compiled_step(model, loss_fn, task, compile):  # noqa: A002
    from .compiled import CompiledStep, known_pure
    if compile is None:
        compile = known_pure(model, loss_fn)
        quiet = True
    elif compile is True or compile is False:
        quiet = False
    else:
        raise ChainruleError("fit", message="compile must be None, True or False",
                             expected="None (compile chainrule's own models), True or False",
                             actual=repr(compile), fix="e.g. fit(model, data, compile=False)")
    return CompiledStep(model, loss_fn, task, _target, quiet=quiet) if compile else None


def _diverged(epoch, batch, value, opt):
    where = f"epoch {epoch}" + (f", batch {batch}" if batch else " (validation)")
    what = "NaN" if math.isnan(value) else ("Inf" if math.isinf(value) else f"{value:.3g}")
    group = opt.param_groups[0] if getattr(opt, "param_groups", None) else {}
    lr = group.get("initial_lr", group.get("lr"))      # what the user chose, before any schedule
    raise TrainingDiverged("fit", message=f"training diverged at {where}: the loss became "
                           f"{what}; {_suggest(lr)}. The last good checkpoint (if any) is kept.")


def _plain_state(obj):
    """A scheduler's state if it is plain data (lambdas cannot be saved), else None."""
    state = getattr(obj, "state_dict", lambda: None)()
    ok = (int, float, str, bool, type(None), list, tuple, dict)
    if state is None or not all(isinstance(v, ok) for v in state.values()):
        return None
    return state


def _restore(ck, model, opt, es, scheduler, n_features, plan, epochs):
    """Load a checkpoint's weights and training state into live objects, with clear errors;
    nothing is loaded unless the run can be continued exactly (see training.resume)."""
    if ck.n_features is not None and int(ck.n_features) != n_features:
        raise ChainruleError("resume", message=f"the checkpoint was trained on {ck.n_features} "
                             f"features but this data has {n_features}")
    check_plan(ck.plan, plan, ck.path)
    if int(ck.epoch or 0) > int(epochs) and not (ck.history or {}).get("stopped_epoch"):
        raise ChainruleError("resume", message=f"the run in {ck.path} already has "
                             f"{ck.epoch} epochs, more than epochs={epochs}; a resumed run "
                             "can only train on (load_model() gives its weights)")
    try:
        model.load_state_dict(ck.model_state)
    except ChainruleError as e:
        raise ChainruleError("resume", message="the checkpoint's weights do not fit this model ("
                             + " ".join(str(e).split()) + ")") from None
    if ck.optimizer and ck.optimizer_name == type(opt).__name__:
        opt.load_state_dict(ck.optimizer)
    if es is not None and ck.early_stopping:
        es.load_state_dict(ck.early_stopping)
    if scheduler is not None and ck.scheduler and hasattr(scheduler, "load_state_dict"):
        scheduler.load_state_dict(ck.scheduler)
    elif scheduler is not None:
        raise ChainruleError("resume", message=f"{ck.path} holds no state for the "
                             f"{type(scheduler).__name__} scheduler, so the resumed run cannot "
                             "continue its schedule where it stopped; resume without a "
                             "scheduler only if the run had none")
