"""`chainrule doctor`: the report's fields, the AVX-512 advice, and life without threadpoolctl."""
import json
import sys

import pytest

from chainrule.cli import doctor
from chainrule.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_json_report_fields(capsys):
    code, out = run(capsys, "doctor", "--no-gemm", "--json")
    assert code == 0
    r = json.loads(out)
    import numpy as np
    assert r["numpy"] == np.__version__
    assert r["gemm"] is None
    assert {"model", "logical_cores", "usable_cores", "avx2", "avx512"} <= set(r["cpu"])
    assert isinstance(r["blas"]["libraries"], list) and r["blas"]["libraries"]
    lib = r["blas"]["libraries"][0]
    assert {"internal_api", "version", "architecture", "num_threads"} <= set(lib)
    assert isinstance(r["advice"], list)
    assert "OPENBLAS_CORETYPE" in r["env"]


def test_text_report(capsys):
    code, out = run(capsys, "doctor", "--no-gemm")
    assert code == 0
    for field in ("NumPy", "CPU", "SIMD", "BLAS", "Thread env"):
        assert field in out
    assert "GEMM" not in out


def test_gemm_measurement_is_a_rate(capsys):
    code, out = run(capsys, "doctor", "--size", "64", "--json")
    g = json.loads(out)["gemm"]
    assert code == 0 and g["size"] == 64 and g["float32"] > 0 and g["float64"] > 0


AVX512 = {"avx512": True, "avx2": True}
NO_AVX512 = {"avx512": False, "avx2": True}


def _blas(api="openblas", arch="Haswell"):
    return {"threadpoolctl": "3", "libraries": [{"internal_api": api, "architecture": arch,
                                                 "version": "0.3", "num_threads": 2}]}


def test_advice_avx512_cpu_with_avx2_kernel():
    tips = doctor.advice(AVX512, _blas(arch="Haswell"), env={})
    assert len(tips) == 1 and "export OPENBLAS_CORETYPE=SkylakeX" in tips[0]
    assert "Haswell" in tips[0]


def test_advice_when_the_variable_forces_an_avx2_kernel():
    tips = doctor.advice(AVX512, _blas(arch="Haswell"), env={"OPENBLAS_CORETYPE": "Haswell"})
    assert len(tips) == 1 and "OPENBLAS_CORETYPE=Haswell is set" in tips[0]


@pytest.mark.parametrize("cpu,blas", [(AVX512, _blas(arch="SkylakeX")),
                                      (AVX512, _blas(arch="Cooperlake")),
                                      (NO_AVX512, _blas(arch="Haswell")),
                                      (AVX512, _blas(api="mkl", arch="Haswell"))])
def test_no_advice_when_nothing_to_gain(cpu, blas):
    assert doctor.advice(cpu, blas, env={}) == []


def test_without_threadpoolctl(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)     # import now raises ImportError
    info = doctor.blas_info()
    assert info["threadpoolctl"] is None and info["libraries"]
    code, out = run(capsys, "doctor", "--no-gemm")
    assert code == 0 and "BLAS" in out and "threadpoolctl" in out


def test_compare_toggles_the_coretype(monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    env, label = doctor._other_coretype_env()
    assert env["OPENBLAS_CORETYPE"] == "SkylakeX" and "SkylakeX" in label
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    env, label = doctor._other_coretype_env()
    assert "OPENBLAS_CORETYPE" not in env and "unset" in label


def test_compare_runs_a_child(capsys):
    code, out = run(capsys, "doctor", "--size", "64", "--compare", "--json")
    c = json.loads(out)["compare"]
    assert code == 0 and "setting" in c
    assert "error" in c or c["gemm"]["float64"] > 0


def test_cpu_info_without_proc(monkeypatch):
    real_open = open

    def no_proc(path, *a, **k):
        if str(path).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(path, *a, **k)
    monkeypatch.setattr("builtins.open", no_proc)
    cpu = doctor.cpu_info()
    assert cpu["avx512"] is False and cpu["logical_cores"]
