"""`chainrule train` / `chainrule predict`: outputs, and one clear line (exit 2) for bad input."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_csv(path, n=90, seed=0, nan_at=None, extra_col=False, noise=1.5):
    """Three overlapping classes in 3 numeric features, labels as text in column 'kind'."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]])[y] + rng.normal(scale=noise, size=(n, 3))
    header = (["a", "b", "c", "d"] if extra_col else ["f1", "f2", "f3"]) + ["kind"]
    lines = [",".join(header)]
    for i in range(n):
        vals = [f"{v:.4f}" for v in X[i]] + (["1.0"] if extra_col else [])
        if nan_at is not None and i == nan_at:
            vals[1] = "nan"
        lines.append(",".join(vals + [["a", "b", "c"][y[i]]]))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def trained(tmp_path_factory):
    """One small training run shared by the predict tests."""
    d = tmp_path_factory.mktemp("run")
    csv = make_csv(d / "train.csv")
    code = main(["train", "--data", str(csv), "--target", "kind", "--epochs", "3",
                 "--out", str(d / "out"), "--no-progress", "--no-plot"])
    assert code == 0
    return d, csv


def test_train_writes_checkpoint_history_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    csv = make_csv(tmp_path / "d.csv")
    out = tmp_path / "run"
    code, text, err = run(capsys, "train", "--data", csv, "--target", "kind", "--epochs", 4,
                          "--hidden", "8,8", "--out", out, "--no-progress")
    assert code == 0, err
    assert {"model.npz", "history.json", "history.csv", "curves.png"} <= set(os.listdir(out))
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    table = text[text.index("split"):]
    for split in ("train", "val", "test"):
        assert f"\n{split} " in table
    assert "accuracy" in table
    hist = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in hist["epochs"]] == [1, 2, 3, 4]
    assert (out / "history.csv").read_text().startswith("epoch,loss,accuracy")


def test_train_resume_adds_epochs(trained, capsys):
    d, csv = trained
    code, _, err = run(capsys, "train", "--data", csv, "--target", "kind", "--epochs", 5,
                       "--out", d / "out", "--resume", "--no-progress", "--no-plot")
    assert code == 0, err
    hist = json.loads((d / "out" / "history.json").read_text())
    assert [r["epoch"] for r in hist["epochs"]] == [1, 2, 3, 4, 5]


def test_predict_writes_labels_and_probabilities(trained, tmp_path, capsys):
    d, csv = trained
    dest = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", "--checkpoint", d / "out", "--data", csv, "--out", dest)
    assert code == 0, err
    rows = dest.read_text().splitlines()
    assert rows[0] == "prediction,p_a,p_b,p_c" and len(rows) == 91
    assert rows[1].split(",")[0] in "abc"
    assert "accuracy on" in err
    # the model file itself works too, and without --out predictions go to stdout
    code, out, _ = run(capsys, "predict", "--checkpoint", d / "out" / "model.npz", "--data", csv)
    assert code == 0 and out.splitlines()[0] == "prediction,p_a,p_b,p_c"


def test_predict_feature_count_mismatch(trained, tmp_path, capsys):
    d, _ = trained
    wide = make_csv(tmp_path / "wide.csv", extra_col=True)
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out", "--data", wide)[::2])
    assert "expects 3 features" in line and "has 4" in line
    np.savez(tmp_path / "two.npz", X=np.zeros((5, 2)), y=np.zeros(5))
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out",
                               "--data", tmp_path / "two.npz")[::2])
    assert "expects 3 features" in line and "has 2" in line


def test_missing_and_corrupt_checkpoint(trained, tmp_path, capsys):
    _, csv = trained
    line = one_line_error(*run(capsys, "predict", "--checkpoint", tmp_path / "nothing",
                               "--data", csv)[::2])
    assert "no checkpoint" in line
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", bad, "--data", csv)[::2])
    assert "not a readable chainrule checkpoint" in line


def test_unknown_column(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv")
    line = one_line_error(*run(capsys, "train", "--data", csv, "--target", "label",
                               "--out", tmp_path / "o")[::2])
    assert "'label'" in line and "f1, f2, f3, kind" in line
    assert not (tmp_path / "o").exists()


def test_nan_in_data(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv", nan_at=4)
    line = one_line_error(*run(capsys, "train", "--data", csv, "--target", "kind",
                               "--out", tmp_path / "o")[::2])
    assert "'f2'" in line and "line 6" in line and "NaN" in line


def test_wrong_label_shape_and_dtype(tmp_path, capsys):
    np.savez(tmp_path / "onehot.npz", X=np.zeros((6, 2)), y=np.eye(6, 3))
    line = one_line_error(*run(capsys, "train", "--data", tmp_path / "onehot.npz",
                               "--out", tmp_path / "o")[::2])
    assert "shape (6, 3)" in line and "argmax" in line
    np.savez(tmp_path / "frac.npz", X=np.zeros((6, 2)), y=np.array([0, 1.5, 1, 0, 1, 0]))
    line = one_line_error(*run(capsys, "train", "--data", tmp_path / "frac.npz", "--task",
                               "binary", "--out", tmp_path / "o")[::2])
    assert "whole class indices" in line


def test_model_task_mismatch_and_bad_hidden(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv")
    line = one_line_error(*run(capsys, "train", "--data", csv, "--target", "kind", "--model",
                               "linreg", "--out", tmp_path / "o")[::2])
    assert "regression" in line and "multiclass" in line
    line = one_line_error(*run(capsys, "train", "--data", csv, "--target", "kind", "--hidden",
                               "64,x", "--out", tmp_path / "o")[::2])
    assert "--hidden" in line


def test_diverging_lr_stops_cleanly(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv")
    out = tmp_path / "o"
    line = one_line_error(*run(capsys, "train", "--data", csv, "--target", "kind", "--lr", "1e6",
                               "--epochs", 3, "--out", out, "--no-progress")[::2])
    assert "diverged at epoch 1" in line and "--lr 0.01" in line
    assert not out.exists() or not [f for f in os.listdir(out) if f.endswith(".tmp")]
    assert not (out / "model.npz").exists()


def test_bundled_dataset_in_process(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code, text, err = run(capsys, "train", "--data", "iris", "--model", "softmax", "--epochs", 20,
                          "--out", tmp_path / "iris", "--no-progress", "--no-plot")
    assert code == 0, err
    test_acc = float(text.split("\ntest ")[1].split()[1])
    assert test_acc >= 0.8
    code, out, err = run(capsys, "predict", "--checkpoint", tmp_path / "iris", "--data", "iris")
    assert code == 0 and out.splitlines()[0] == "prediction,p_setosa,p_versicolor,p_virginica"
    assert float(err.split("accuracy on iris:")[1]) > 0.8


def test_subprocess_python_m_chainrule_train(tmp_path):
    csv = make_csv(tmp_path / "d.csv", n=60)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", "--epochs", "2",
                           "--data", str(csv), "--target", "kind", "--out", str(tmp_path / "r"),
                           "--no-plot"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stderr and "loss" in proc.stderr      # text progress (no tty)
    assert "test" in proc.stdout and (tmp_path / "r" / "model.npz").exists()
    bad = subprocess.run([sys.executable, "-m", "chainrule", "predict", "--checkpoint",
                          str(tmp_path / "missing"), "--data", str(csv)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "no checkpoint" in bad.stderr
