"""chainrule.training: the fit loop, history, early stopping, checkpoints, resume, divergence."""
import io
import os

import numpy as np
import pytest

from chainrule import models, optim
from chainrule.core.errors import ChainruleError
from chainrule.training import (EarlyStopping, History, LambdaCallback, ProgressBar,
                                TrainingDiverged, accuracy, build_model, evaluate, fit,
                                load_checkpoint, load_model, model_config, predict, r2_score,
                                save_checkpoint)
from chainrule.training import checkpoint as ckpt_module


def blobs(n=120, seed=0, classes=3, d=4):
    """Well-separated Gaussian blobs: any working classifier gets them right."""
    centers = np.random.default_rng(100).normal(scale=4.0, size=(classes, d))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return centers[y] + rng.normal(size=(n, d)), y


def line(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.1 * rng.normal(size=n)


def mlp(seed=0, d=4, c=3):
    return models.MLP([d, 16, c], seed=seed)


def no_tmp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")] == []


# ----------------------------------------------------------------- the loop
def test_fit_learns_and_records_history():
    X, y = blobs()
    h = fit(mlp(), (X, y), val_data=blobs(seed=1), epochs=8, batch_size=16, lr=0.01,
            progress=False)
    assert h.epochs == list(range(1, 9))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(h.keys())
    assert h["loss"][-1] < h["loss"][0] / 3 and h["accuracy"][-1] > 0.95
    assert h.task == "multiclass" and h.metric == "accuracy"


def test_regression_reports_r2_and_matches_least_squares():
    X, y = line()
    model = models.LinearRegression(3)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = fit(model, (X, y), optimizer=opt, epochs=60, batch_size=16, progress=False,
            scheduler=optim.CosineAnnealingLR(opt, T_max=60))
    A = np.c_[X, np.ones(len(X))]
    best = r2_score(A @ np.linalg.lstsq(A, y, rcond=None)[0], y)
    assert abs(evaluate(model, (X, y))["r2"] - best) < 1e-3 and "r2" in h.keys()


def test_same_seed_same_history_other_seed_differs():
    X, y = blobs()
    runs = [fit(mlp(), (X, y), epochs=3, batch_size=10, seed=s, progress=False) for s in (4, 4, 5)]
    assert runs[0] == runs[1] and runs[0].records == runs[1].records
    assert runs[0]["loss"] != runs[2]["loss"]


def test_binary_and_named_losses_and_optimizers():
    X, y = blobs(classes=2)
    model = models.LogisticRegression(4)
    h = fit(model, (X, y), optimizer="momentum", lr=0.05, epochs=5, progress=False)
    assert h.task == "binary" and h["accuracy"][-1] > 0.85 and h["loss"][-1] < h["loss"][0] / 2
    with pytest.raises(ChainruleError, match="unknown optimizer 'adagrad'"):
        fit(mlp(), blobs(), optimizer="adagrad", progress=False)
    with pytest.raises(ChainruleError, match="unknown loss"):
        fit(mlp(), blobs(), loss="kl", progress=False)
    with pytest.raises(ChainruleError, match="accuracy needs a classification"):
        fit(models.LinearRegression(3), line(), metrics="accuracy", progress=False)


def test_bad_labels_are_reported_before_training():
    X, y = blobs()
    with pytest.raises(ChainruleError, match="argmax"):
        fit(mlp(), (X, np.eye(3)[y]), progress=False)
    X[7, 1] = np.inf
    with pytest.raises(ChainruleError, match="column 1 .*Inf.* row 7"):
        fit(mlp(), (X, y), progress=False)


# --------------------------------------------------------------- callbacks
def test_early_stopping_stops_and_restores_best_weights():
    X, y = blobs()
    snapshots = {}
    keep = LambdaCallback(on_epoch_end=lambda e, logs, run: snapshots.__setitem__(
        e, run.model.state_dict()))
    model = mlp()
    # min_delta so large that nothing after epoch 1 counts as an improvement
    es = EarlyStopping(patience=2, monitor="loss", min_delta=1e9)
    h = fit(model, (X, y), epochs=20, callbacks=[keep], early_stopping=es, progress=False)
    assert h.epochs == [1, 2, 3] and h.stopped_epoch == 3 and h.best_epoch == 1
    final = model.state_dict()
    assert all(np.array_equal(final[k], snapshots[1][k]) for k in final)
    assert not np.array_equal(final["2.weight"], snapshots[3]["2.weight"])


def test_early_stopping_patience_int_uses_val_loss():
    X, y = blobs()
    h = fit(mlp(), (X, y), val_data=blobs(seed=2), epochs=4, early_stopping=3, progress=False)
    assert len(h) <= 4 and (h.best_epoch is None or 1 <= h.best_epoch <= 4)


def test_text_progress_shows_loss_and_metric():
    buf = io.StringIO()
    fit(mlp(), blobs(), val_data=blobs(seed=1), epochs=2, progress=ProgressBar(buf, use_tqdm=False))
    text = buf.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "loss" in text and "val_acc" in text


# ---------------------------------------------------------------- history
def test_history_json_csv_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    h = fit(mlp(), blobs(), val_data=blobs(seed=1), epochs=3, progress=False)
    back = History.from_json(h.to_json(tmp_path / "h.json"))
    assert back == h and History.from_json(str(tmp_path / "h.json")).metric == "accuracy"
    lines = h.to_csv(tmp_path / "h.csv").splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "loss", "accuracy"] and len(lines) == 4
    h.plot(tmp_path / "c.png")
    h.plot(tmp_path / "c.svg")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()[:400]
    assert no_tmp_files(tmp_path)


# ------------------------------------------------------------- checkpoints
def test_checkpoint_holds_everything_to_predict(tmp_path):
    X, y = blobs()
    cfg = model_config("mlp", 4, "multiclass", 3, hidden=[16], seed=0)
    model = build_model(cfg)
    h = fit(model, (X, y), epochs=2, checkpoint_dir=tmp_path, standardize=True, config=cfg,
            progress=False)
    ck = load_checkpoint(tmp_path)
    assert ck.epoch == 2 and ck.n_features == 4 and ck.task == "multiclass"
    assert ck.optimizer_name == "Adam" and ck.optimizer["state"]
    assert np.allclose(ck.standardizer["mean"], X.mean(axis=0))
    assert History.from_dict(ck.history) == h
    again, _ = load_model(tmp_path / "model.npz")
    assert np.array_equal(predict(again, X, h.standardizer), predict(model, X, h.standardizer))


def test_crash_during_save_leaves_old_checkpoint_and_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_checkpoint(path, {"w": np.ones(3)}, epoch=1)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt          # the process dies mid-write

    monkeypatch.setattr(ckpt_module.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"w": np.zeros(3)}, epoch=2)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]
    monkeypatch.undo()
    assert load_checkpoint(path).epoch == 1


def test_missing_and_corrupt_checkpoints_are_clear(tmp_path):
    with pytest.raises(ChainruleError, match="has no model.npz"):
        load_checkpoint(tmp_path)
    with pytest.raises(ChainruleError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ChainruleError, match="not a readable chainrule checkpoint"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ChainruleError, match="not a readable chainrule checkpoint"):
        load_checkpoint(tmp_path / "other.npz")


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    X, y = blobs()
    val = blobs(seed=1)
    full_model = mlp()
    full = fit(full_model, (X, y), val_data=val, epochs=4, batch_size=16, seed=3, progress=False)
    fit(mlp(), (X, y), val_data=val, epochs=2, batch_size=16, seed=3, checkpoint_dir=tmp_path,
        progress=False)
    resumed_model = mlp(seed=99)          # different start: everything must come from the file
    seen = []
    resumed = fit(resumed_model, (X, y), val_data=val, epochs=4, batch_size=16, seed=3,
                  checkpoint_dir=tmp_path, resume=True, progress=False,
                  callbacks=[LambdaCallback(on_epoch_begin=lambda e, run: seen.append(e))])
    assert seen == [3, 4] and resumed.epochs == [1, 2, 3, 4]
    assert resumed == full
    a, b = full_model.state_dict(), resumed_model.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert load_checkpoint(tmp_path).epoch == 4
    with pytest.raises(ChainruleError, match="trained on 4 features but this data has 2"):
        fit(models.MLP([2, 16, 3]), (X[:, :2], y), epochs=5, checkpoint_dir=tmp_path,
            resume=True, progress=False)


def test_divergence_names_epoch_and_lower_lr_and_keeps_last_good_checkpoint(tmp_path):
    X, y = line()
    model = models.LinearRegression(3)
    fit(model, (X, y), optimizer="sgd", lr=0.01, epochs=1, checkpoint_dir=tmp_path,
        progress=False)
    good = (tmp_path / "model.npz").read_bytes()
    with pytest.raises(TrainingDiverged) as e:
        fit(models.LinearRegression(3), (X, y), optimizer="sgd", lr=1e3, epochs=5,
            checkpoint_dir=tmp_path, overwrite=True, progress=False)
    msg = str(e.value)
    assert "diverged at epoch 1" in msg and "--lr 0.01" in msg and "\n" not in msg
    assert (tmp_path / "model.npz").read_bytes() == good and no_tmp_files(tmp_path)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):      # Adam: explodes
        fit(mlp(), blobs(), optimizer="adam", lr=1e6, epochs=3, progress=False)


# ------------------------------------------------------------------ metrics
def test_metrics():
    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert accuracy(np.array([-1.0, 2.0, 0.5]), np.array([0, 1, 0]), "binary") == 2 / 3
    y = np.array([1.0, 2.0, 3.0])
    assert r2_score(y, y) == 1.0 and r2_score(np.full(3, 2.0), y) == 0.0


def test_digits_mlp_short_run_reaches_90_percent():
    pytest.importorskip("sklearn")
    from chainrule.data import load, train_val_test_split
    ds = load("digits")
    train, _, test = train_val_test_split(ds.X, ds.y, seed=0)
    model = models.MLP([64, 64, 10], seed=0)
    h = fit(model, train, epochs=4, lr=3e-3, standardize=True, progress=False)
    assert evaluate(model, test, standardizer=h.standardizer)["accuracy"] >= 0.90
