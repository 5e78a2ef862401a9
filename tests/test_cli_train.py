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


def test_train_resume_adds_epochs_to_a_constant_schedule_run(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv")
    out = tmp_path / "out"
    for epochs, extra in ((3, ("--schedule", "constant")), (5, ("--resume",))):
        code, _, err = run(capsys, "train", "--data", csv, "--target", "kind", "--epochs",
                           epochs, "--out", out, "--no-progress", "--no-plot", *extra)
        assert code == 0, err
    hist = json.loads((out / "history.json").read_text())
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
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out", "--data", wide,
                               "--no-header")[::2])
    assert "expects 3 features" in line and "has 5" in line
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


def test_predict_matches_columns_by_name_and_refuses_unknown_names(trained, tmp_path, capsys):
    d, csv = trained
    lines = csv.read_text().splitlines()
    cols = [line.split(",") for line in lines]
    order = [3, 2, 0, 1]                                  # kind, f3, f1, f2
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join(",".join(r[j] for j in order) for r in cols) + "\n")
    code, a, _ = run(capsys, "predict", "--checkpoint", d / "out", "--data", csv)
    code2, b, _ = run(capsys, "predict", "--checkpoint", d / "out", "--data", shuffled)
    assert code == code2 == 0 and a == b                  # same predictions in any column order
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join(["a,b,c,kind"] + lines[1:]) + "\n")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out",
                               "--data", renamed)[::2])
    assert "none of the columns" in line and "f1, f2, f3" in line and "matched by name" in line
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(["f1,b,f3,kind"] + lines[1:]) + "\n")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out",
                               "--data", partial)[::2])
    assert "lacks the model's feature column f2" in line
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(r[:3]) for r in cols[1:]) + "\n")
    line = one_line_error(*run(capsys, "predict", "--checkpoint", d / "out",
                               "--data", bare)[::2])
    assert "looks like data" in line and "--no-header" in line
    code, c, _ = run(capsys, "predict", "--checkpoint", d / "out", "--data", bare, "--no-header")
    assert code == 0 and c == a


def test_predict_refuses_a_checkpoint_with_nan_weights_and_non_finite_outputs(trained, tmp_path,
                                                                             capsys):
    from chainrule.training import load_checkpoint, save_checkpoint
    d, csv = trained
    ck = load_checkpoint(d / "out")
    state = dict(ck.model_state)
    state["0.weight"] = np.full_like(state["0.weight"], np.nan)
    save_checkpoint(tmp_path / "nan.npz", state, config=ck.config, n_features=3,
                    standardizer=ck.standardizer)
    line = one_line_error(*run(capsys, "predict", "--checkpoint", tmp_path / "nan.npz",
                               "--data", csv)[::2])
    assert "non-finite weights" in line and "'0.weight'" in line
    state = {k: v * 1e200 if k.endswith("weight") else v for k, v in ck.model_state.items()}
    save_checkpoint(tmp_path / "huge.npz", state, config=ck.config, n_features=3,
                    standardizer=ck.standardizer)         # finite weights, overflowing outputs
    line = one_line_error(*run(capsys, "predict", "--checkpoint", tmp_path / "huge.npz",
                               "--data", csv, "--out", tmp_path / "p.csv")[::2])
    assert "not finite" in line and "Nothing was written" in line
    assert not (tmp_path / "p.csv").exists()


def test_activation_has_choices_and_unknown_names_fail_early(tmp_path, capsys):
    csv = make_csv(tmp_path / "d.csv")
    with pytest.raises(SystemExit):
        main(["train", "--data", str(csv), "--activation", "swish"])
    err = capsys.readouterr().err
    assert "invalid choice: 'swish'" in err and "tanh" in err
    from chainrule.core.errors import ChainruleError
    from chainrule.training import model_config
    with pytest.raises(ChainruleError, match="activation") as e:
        model_config("mlp", 3, "multiclass", 3, hidden=[4], activation="swish")
    assert "incomplete" not in str(e.value)
