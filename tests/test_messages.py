"""Messages that said the wrong thing: each now names the real problem and the fix."""
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import losses, nn
from chainrule.cli import doctor
from chainrule.core.errors import ChainruleError


@pytest.mark.parametrize("make, op", [
    (lambda: cnp.matmul(cr.tensor(np.ones((2, 3)), requires_grad=True), np.ones((2, 3))),
     "matmul"),
    (lambda: cnp.matmul(cr.tensor(np.ones((2, 3)), requires_grad=True), np.ones((4,))),
     "matmul"),
])
def test_the_op_name_is_said_once(make, op):
    with pytest.raises(ChainruleError) as e:
        make()
    first = str(e.value).splitlines()[0]
    assert first.startswith(f"{op}: ") and first.count(f"{op}:") == 1


@pytest.mark.parametrize("rows", [[[1, 2], [3]], [[1.0], [2.0, 3.0], []], [[[1, 2]], [[3]]]])
def test_a_ragged_tensor_list_gets_expected_actual_fix(rows):
    with pytest.raises(ChainruleError) as e:
        cr.tensor(rows)
    msg = str(e.value)
    assert msg.startswith("tensor: the nested lists are ragged") and "Fix:" in msg


@pytest.mark.parametrize("x", ["abc", np.array([["a", "b", "c"]]), [["1", "2", "3"]]])
def test_text_into_an_mlp_is_called_text_not_a_shape_mismatch(x):
    with pytest.raises(ChainruleError) as e:
        nn.MLP([3, 4, 2], seed=0)(x)
    msg = str(e.value)
    assert "must be numbers" in msg and "in_features=" not in msg and "transpose" not in msg


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8", "complex128", "U3"])
def test_linear_refuses_non_float_weights(dtype):
    with pytest.raises(ChainruleError, match="floating-point dtype"):
        nn.Linear(3, 2, dtype=dtype, seed=0)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_linear_keeps_float_dtypes(dtype):
    layer = nn.Linear(3, 2, dtype=dtype, seed=0)
    assert layer.weight.dtype == np.dtype(dtype) and layer.bias.dtype == np.dtype(dtype)
    assert np.abs(layer.weight.data).max() > 0


@pytest.mark.parametrize("loss", [losses.BCELoss(), losses.BCEWithLogitsLoss()])
@pytest.mark.parametrize("target", [2.0, -1.0, 1.5, np.nan])
def test_bce_targets_outside_0_1_are_refused(loss, target):
    with pytest.raises(ChainruleError, match=r"targets must lie in \[0, 1\]"):
        loss(cr.tensor([0.5, 0.25]), np.array([target, 0.0]))


@pytest.mark.parametrize("loss", [losses.BCELoss(), losses.BCEWithLogitsLoss()])
def test_bce_accepts_labels_and_probabilities(loss):
    out = loss(cr.tensor([0.5, 0.25, 0.9]), np.array([1.0, 0.0, 0.3]))
    assert float(out.data) > 0


# ------------------------------------------------------------ doctor --compare
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_doctor_compare_says_the_child_died_of_an_illegal_instruction(tmp_path, monkeypatch):
    """A child killed by SIGILL (kernels this CPU cannot run) is named, not 'list index'."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nkill -ILL $$\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    result = doctor.compare(size=8)
    assert "illegal instruction (SIGILL" in result["error"] and "AVX-512" in result["error"]
    assert "index" not in result["error"]


@pytest.mark.parametrize("rc, stderr, fragment", [
    (132, "", "illegal instruction"),                  # the shell's 128 + 4
    (-9, "", "killed by SIGKILL"),
    (1, "Traceback...\nImportError: no numpy", "status 1: ImportError: no numpy"),
])
def test_doctor_child_failures_in_words(rc, stderr, fragment):
    assert fragment in doctor.child_failure(rc, stderr, "OPENBLAS_CORETYPE=SkylakeX")


def test_doctor_compare_text_report_shows_the_reason(monkeypatch, capsys):
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, -4, "", ""))
    from chainrule.cli.main import main
    assert main(["doctor", "--no-gemm", "--compare"]) == 0
    out = capsys.readouterr().out
    assert "illegal instruction" in out and "list index" not in out
