"""`chainrule train` / `predict` never lose a model and never claim what they did not do.

No command writes over one of its inputs; none replaces an existing file or run
without --force; --resume continues a run with its own settings and ends exactly
where an uninterrupted run ends (or refuses, saying why).
"""
import importlib
import json
import os
import stat

import numpy as np
import pytest

from chainrule.cli.main import main
from chainrule.training import load_checkpoint

from test_cli_train import make_csv, one_line_error, run

RUN_FILES = ("model.npz", "history.json", "history.csv")
fit_module = importlib.import_module("chainrule.training.fit")


def train(capsys, csv, out, *flags):
    return run(capsys, "train", "--data", csv, "--target", "kind", "--hidden", "8",
               "--out", out, "--no-progress", "--no-plot", *flags)


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def weights(folder):
    ck = load_checkpoint(folder)
    return ck.model_state, ck.history["epochs"]


def same_run(a, b):
    (wa, ha), (wb, hb) = weights(a), weights(b)
    return ha == hb and wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


@pytest.fixture
def data(tmp_path):
    return make_csv(tmp_path / "d.csv", n=60)


# ------------------------------------------------------------- 1. inputs
def test_predict_never_writes_over_its_checkpoint_even_with_force(data, tmp_path, capsys):
    out = tmp_path / "houses"
    assert train(capsys, data, out, "--epochs", 2)[0] == 0
    before = snapshot(out)
    for extra in ((), ("--force",)):
        line = one_line_error(*run(capsys, "predict", "--checkpoint", out, "--data", data,
                                   "--out", out / "model.npz", *extra)[::2])
        assert "--checkpoint" in line and "input" in line and "wrote" not in line
        line = one_line_error(*run(capsys, "predict", "--checkpoint", out, "--data", data,
                                   "--out", data, *extra)[::2])
        assert "--data" in line and "input" in line
    assert snapshot(out) == before
    assert load_checkpoint(out).epoch == 2


def test_predict_refuses_an_existing_file_unless_force(data, tmp_path, capsys):
    out = tmp_path / "run"
    train(capsys, data, out, "--epochs", 1)
    dest = tmp_path / "pred.csv"
    dest.write_text("precious\n")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", out, "--data", data,
                               "--out", dest)[::2])
    assert "already exists" in line and "--force" in line
    assert dest.read_text() == "precious\n"
    code, _, err = run(capsys, "predict", "--checkpoint", out, "--data", data, "--out", dest,
                       "--force")
    assert code == 0 and "wrote 60 predictions" in err
    assert dest.read_text().startswith("prediction,")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", out, "--data", data,
                               "--out", tmp_path)[::2])
    assert "is a folder" in line


def test_train_never_writes_over_its_data(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    data = make_csv(out / "history.csv", n=60)       # the input sits where a run file goes
    before = data.read_bytes()
    for extra in ((), ("--force",)):
        line = one_line_error(*train(capsys, data, out, "--epochs", 1, *extra)[::2])
        assert "--data" in line and "never written over" in line
    assert data.read_bytes() == before and os.listdir(out) == ["history.csv"]


# ----------------------------------------------------- 2. existing runs
def test_train_refuses_to_replace_a_run_and_offers_resume_force_or_out(data, tmp_path, capsys):
    out = tmp_path / "keep"
    assert train(capsys, data, out, "--epochs", 2)[0] == 0
    (out / "curves.png").write_bytes(b"old picture")
    before = snapshot(out)
    other = make_csv(tmp_path / "other.csv", n=45, seed=5)
    code, text, err = train(capsys, other, out, "--epochs", 3)
    line = one_line_error(code, err)
    assert "already holds a training run" in line
    assert "--resume" in line and "--force" in line and "--out" in line
    assert text == "" and snapshot(out) == before           # byte-identical, nothing claimed
    code, text, err = train(capsys, other, out, "--epochs", 3, "--force")
    assert code == 0, err
    ck = load_checkpoint(out)
    assert ck.epoch == 3 and ck.config["data"] == "other.csv"
    assert not (out / "curves.png").exists()               # the old picture was stale
    hist = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in hist["epochs"]] == [1, 2, 3]
    line = one_line_error(*train(capsys, other, out, "--resume", "--force")[::2])
    assert "choose one" in line


def test_resume_needs_a_run(data, tmp_path, capsys):
    line = one_line_error(*train(capsys, data, tmp_path / "empty", "--resume")[::2])
    assert "nothing to resume" in line and not (tmp_path / "empty").exists()


# -------------------------------------------------- 3. resume semantics
def test_resume_with_more_epochs_refuses_a_cosine_run_and_says_why(data, tmp_path, capsys):
    out = tmp_path / "cos"
    assert train(capsys, data, out, "--epochs", 4)[0] == 0
    before = snapshot(out)
    code, text, err = train(capsys, data, out, "--epochs", 8, "--resume")
    line = one_line_error(code, err)
    assert "cosine" in line and "laid out for 4 epochs" in line and "--schedule constant" in line
    assert text == "" and snapshot(out) == before
    line = one_line_error(*train(capsys, data, out, "--epochs", 2, "--resume")[::2])
    assert "already trained 4 epochs" in line
    code, text, _ = train(capsys, data, out, "--resume")
    assert code == 0 and "nothing to train" in text and snapshot(out) == before


def test_extending_a_constant_schedule_run_equals_a_fresh_longer_run(data, tmp_path, capsys):
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    assert train(capsys, data, fresh, "--epochs", 8, "--schedule", "constant")[0] == 0
    assert train(capsys, data, grown, "--epochs", 4, "--schedule", "constant")[0] == 0
    code, text, err = train(capsys, data, grown, "--epochs", 8, "--resume")
    assert code == 0, err
    assert "resuming after epoch 4" in text and "(constant), 8 epochs" in text
    assert same_run(fresh, grown)
    lrs = [r["lr"] for r in json.loads((grown / "history.json").read_text())["epochs"]]
    assert lrs == [0.003] * 8


def test_an_interrupted_cosine_run_resumes_to_the_fresh_run_bit_for_bit(data, tmp_path, capsys,
                                                                         monkeypatch):
    fresh, cut = tmp_path / "fresh", tmp_path / "cut"
    assert train(capsys, data, fresh, "--epochs", 6)[0] == 0
    real = fit_module._train_epoch

    def stop_in_epoch_4(run_, loader, epoch, *a):
        if epoch == 4:
            raise KeyboardInterrupt
        return real(run_, loader, epoch, *a)
    monkeypatch.setattr(fit_module, "_train_epoch", stop_in_epoch_4)
    code, _, err = train(capsys, data, cut, "--epochs", 6)
    assert code == 130 and "holds epoch 3" in err and "--resume" in err
    monkeypatch.undo()
    code, text, err = run(capsys, "train", "--out", cut, "--resume", "--no-progress",
                          "--no-plot")                     # everything else from the run
    assert code == 0, err
    assert "resuming after epoch 3" in text and "6 epochs" in text
    assert same_run(fresh, cut)
    lrs = [r["lr"] for r in load_checkpoint(cut).history["epochs"]]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] > 0      # one decay, no restart


# -------------------------------------------------------- 4. new values
def test_resume_refuses_new_settings_and_the_banner_shows_what_is_used(data, tmp_path, capsys):
    out = tmp_path / "run"
    train(capsys, data, out, "--epochs", 2)
    before = snapshot(out)
    code, text, err = train(capsys, data, out, "--epochs", 2, "--resume", "--lr", "1e6",
                            "--batch-size", "7")
    line = one_line_error(code, err)
    assert "--lr 1e+06 (the run: 0.003)" in line and "--batch-size 7 (the run: 32)" in line
    assert "lr=1e+06" not in text and snapshot(out) == before
    other = make_csv(tmp_path / "other.csv", n=60, seed=9)
    line = one_line_error(*train(capsys, other, out, "--resume", "--schedule", "cosine")[::2])
    assert "not what the run" in line


def test_fit_refuses_to_resume_with_other_settings(tmp_path):
    from chainrule import models
    from chainrule.core.errors import ChainruleError
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 2
    fit(models.MLP([3, 4, 2], seed=0), (X, y), epochs=2, lr=0.01, checkpoint_dir=tmp_path,
        progress=False)
    before = snapshot(tmp_path)
    with pytest.raises(ChainruleError, match="lr is 1000000.0, the run used 0.01"):
        fit(models.MLP([3, 4, 2], seed=0), (X, y), epochs=4, lr=1e6, checkpoint_dir=tmp_path,
            resume=True, progress=False)
    with pytest.raises(ChainruleError, match="already holds a training run"):
        fit(models.MLP([3, 4, 2], seed=0), (X, y), epochs=4, checkpoint_dir=tmp_path,
            progress=False)
    assert snapshot(tmp_path) == before


def fit(*a, **kw):
    from chainrule.training import fit as f
    return f(*a, **kw)


# ------------------------------------------------------------- umask
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_follow_the_umask(data, tmp_path, capsys, mask):
    old = os.umask(mask)
    try:
        out = tmp_path / "run"
        assert train(capsys, data, out, "--epochs", 1)[0] == 0
        run(capsys, "predict", "--checkpoint", out, "--data", data, "--out", tmp_path / "p.csv")
    finally:
        os.umask(old)
    want = 0o666 & ~mask
    for path in [out / name for name in RUN_FILES] + [tmp_path / "p.csv"]:
        assert stat.S_IMODE(os.stat(path).st_mode) == want, path
