"""chainrule.distributed and data-parallel fit: one process here, real ``mpiexec -n 2`` below.

The MPI tests launch the ``mpiexec`` that the ``mpich`` wheel installs next to this Python
(``pip install "chainrule[distributed]"``, done by .ci/run) on tests/mpi_worker.py, which has
rank 0 print what these tests assert on.  Without the wheels they are skipped, loudly.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import distributed as dist
from chainrule import models, training
from chainrule.distributed.buckets import GradientBuckets, plan
from chainrule.training.parallel import epoch_positions, shard_bounds

ROOT = Path(__file__).resolve().parents[1]
WORKER = str(ROOT / "tests" / "mpi_worker.py")
BIN = os.path.dirname(sys.executable)
MPIEXEC = shutil.which("mpiexec", path=BIN)


def _have_mpi4py():
    try:
        import mpi4py  # noqa: F401
        return True
    except ImportError:
        return False


NO_MPI = ("!!! MPI TESTS SKIPPED: the distributed extra is not installed in this Python "
          f"(no mpiexec in {BIN} or no mpi4py); run: pip install \"chainrule[distributed]\"")
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not _have_mpi4py(), reason=NO_MPI)
if MPIEXEC is None or not _have_mpi4py():
    warnings.warn(pytest.PytestWarning(NO_MPI))          # in the summary, not only as an 's'


# --------------------------------------------------------------- a world of one
def test_outside_mpiexec_the_world_is_one_process():
    assert not dist.launched_by_mpi()
    assert dist.init() == 1
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    dist.barrier()
    assert dist.comm() is None


def test_launched_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(dist.DistributedError, match="chainrule\\[distributed\\]"):
        dist.init()


def test_all_reduce_returns_new_arrays_in_the_same_structure():
    a, b = np.arange(3.0), np.ones((2, 2), dtype=np.float32)
    out = dist.all_reduce([a, b])
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_array_equal(out[0], a)
    assert out[1].dtype == np.float32 and not np.shares_memory(out[0], a)
    t = dist.all_reduce((a, b), op="max")
    assert isinstance(t, tuple)
    single = dist.all_reduce(cr.tensor([1.0, 2.0]), op="mean")
    np.testing.assert_array_equal(single, [1.0, 2.0])


@pytest.mark.parametrize("bad, match", [(dict(op="avg"), "unknown op"),
                                        (dict(arrays=np.array(["a"])), "numeric"),
                                        (dict(arrays=np.arange(3), op="mean"), "floating")])
def test_all_reduce_rejects_bad_input_clearly(bad, match):
    args = dict(arrays=np.ones(2), op="sum")
    args.update(bad)
    with pytest.raises(cr.ChainruleError, match=match):
        dist.all_reduce(args["arrays"], op=args["op"])


arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128]),
                    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
leaves = (st.none() | st.booleans() | st.integers(-10 ** 12, 10 ** 12) | st.text(max_size=8)
          | st.floats() | arrays | st.builds(np.float32, st.floats(-1e3, 1e3, width=32)))
trees = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                     | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=4) | st.integers(0, 9), inner,
                                       max_size=3), max_leaves=12)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
                and not np.shares_memory(a, b))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(trees)
def test_broadcast_round_trips_any_tree_as_fresh_copies(tree):
    assert _same(tree, dist.broadcast(tree))


def test_broadcast_refuses_what_it_would_have_to_pickle():
    with pytest.raises(cr.ChainruleError, match="cannot send a"):
        dist.broadcast({"f": lambda: 0})
    with pytest.raises(cr.ChainruleError, match="root"):
        dist.broadcast({}, root=1)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 500), st.integers(1, 17))
def test_shards_split_a_batch_exactly(n, size):
    bounds = [shard_bounds(n, r, size) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))       # contiguous, in order
    lengths = [hi - lo for lo, hi in bounds]
    assert max(lengths) - min(lengths) <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=8), st.integers(1, 6))
def test_gathered_outputs_go_back_to_the_one_process_order(batch_sizes, size):
    total = sum(batch_sizes)
    epoch = np.arange(total) * 10          # what a one-process epoch would see, in order
    starts = np.cumsum([0] + batch_sizes[:-1])
    stacked = np.concatenate([epoch[s + lo:s + hi] for r in range(size)          # rank-major,
                              for s, b in zip(starts, batch_sizes)               # as gathered
                              for lo, hi in [shard_bounds(b, r, size)]])
    back = np.empty_like(stacked)
    back[epoch_positions(batch_sizes, size)] = stacked
    np.testing.assert_array_equal(back, epoch)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.sampled_from(["f4", "f8"])), max_size=20),
       st.integers(1, 150))
def test_bucket_plan_keeps_order_dtype_and_size_cap(items, cap):
    buckets = plan([(n, np.dtype(k)) for n, k in items], cap)
    assert [i for b in buckets for i in b] == list(range(len(items)))
    for b in buckets:
        assert len({items[i][1] for i in b}) == 1
        assert len(b) == 1 or sum(items[i][0] for i in b) <= cap


def test_gradient_buckets_divide_and_keep_missing_gradients_missing():
    ps = [cr.tensor(np.ones((3, 2)), requires_grad=True), cr.tensor(np.ones(4), requires_grad=True),
          cr.tensor(np.ones(2, dtype=np.float32), requires_grad=True)]
    ps[0].grad, ps[2].grad = np.full((3, 2), 6.0), np.full(2, 3.0, dtype=np.float32)
    b = GradientBuckets(ps, extra=2, cap=40)           # tiny cap: several buckets
    assert len(b.buckets) >= 3
    grads, extras = b.reduce([5.0, 7.0], divide=3.0)
    np.testing.assert_array_equal(grads[0], np.full((3, 2), 2.0))
    assert grads[1] is None and grads[2].dtype == np.float32
    np.testing.assert_array_equal(extras, [5.0, 7.0])
    assert not np.shares_memory(grads[0], ps[0].grad)
    assert not any(np.shares_memory(grads[0], buf) for buf, _ in b.buckets)


def _fit_once(**kw):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    model = models.MLP([3, 4, 2], seed=0)
    h = training.fit(model, (X, y), epochs=3, batch_size=7, progress=False, **kw)
    return model.state_dict(), h


def test_distributed_true_outside_mpiexec_is_the_ordinary_run():
    state, h = _fit_once(distributed=True)
    ref_state, ref_h = _fit_once()
    assert h == ref_h
    for k in ref_state:
        np.testing.assert_array_equal(state[k], ref_state[k])
    with pytest.raises(cr.ChainruleError, match="distributed must be"):
        _fit_once(distributed="yes")


def test_data_parallel_start_checks_and_warns_about_dropout_in_a_world_of_one():
    from chainrule import optim
    from chainrule.training.parallel import DataParallel
    X, y = np.ones((8, 3)), np.zeros(8, dtype=int)
    model = models.MLP([3, 4, 2], seed=0, dropout=0.5)
    opt = optim.SGD(model.parameters(), lr=0.1)
    dp = DataParallel()
    with pytest.warns(UserWarning, match="Dropout"):
        dp.start(model, opt, X, y, None, seed=0, batch_size=4, epochs=1, start=0,
                 task="multiclass", loss_fn=training.make_loss(None, model, "multiclass"))
    assert dp.buckets.nbytes >= sum(p.data.nbytes for p in model.parameters())
    with pytest.raises(cr.ChainruleError, match="integer seed"):
        dp.start(model, opt, X, y, None, seed=None, batch_size=4, epochs=1, start=0,
                 task="multiclass", loss_fn=None)


def test_the_docs_python_blocks_run_as_one_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs/distributed.md").read_text(),
                        flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/distributed.md", "exec"), {})   # our own docs


# ---------------------------------------------------------------- under mpiexec
def _mpi(n, *args, timeout=180, command=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [MPIEXEC, "-n", str(n)] + (command or [sys.executable, WORKER]) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def _result(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, proc.stdout[-2000:]           # only rank 0 reports
    return json.loads(lines[0][7:])


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_mpi_fit_equals_the_one_process_run(n):
    res = _result(_mpi(n, "equal"))
    assert res["size"] == n
    assert any(c["steps"] >= 100 for c in res["cases"])
    for c in res["cases"]:
        assert c["params"] <= 1e-6, c                 # up to floating-point summation order
        assert c["history"] <= 1e-6, c                # losses, metrics, validation
        assert len(c["checksums"]) == n and len(set(c["checksums"])) == 1, c


@needs_mpi
@pytest.mark.parametrize("where", ["callback", "loss"])
def test_mpi_one_failing_rank_stops_every_rank(where, tmp_path):
    proc = _mpi(2, "fail", where, tmp_path, timeout=120)
    end = time.time()
    assert proc.returncode != 0
    failed_at = float(re.search(r"FAILING (\d+\.\d+)", proc.stderr).group(1))
    assert end - failed_at < 10, proc.stderr[-2000:]
    rank = 1 if where == "callback" else 0
    assert f"error on rank {rank} of 2: RuntimeError: simulated failure" in proc.stderr
    assert "MPI_Abort" in proc.stderr
    ck = training.load_checkpoint(tmp_path)               # the last checkpoint is intact
    assert ck.epoch == 1


@needs_mpi
@pytest.mark.parametrize("kind, what", [("seed", "seed: rank 0 has 0, rank 1 has 1"),
                                        ("data", "training data: rank 0 has \"40 samples"),
                                        ("model", "parameter 0.weight"),
                                        ("version", "chainrule version")])
def test_mpi_start_up_mismatch_is_reported_once(kind, what):
    proc = _mpi(2, "mismatch", kind, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.count("disagree at start-up") == 1, proc.stderr[-2000:]
    assert what in proc.stderr, proc.stderr[-2000:]


@needs_mpi
@pytest.mark.parametrize("where, at", [("training", "batch"), ("validation", "(validation)")])
def test_mpi_divergence_is_raised_on_every_rank_alike(where, at):
    res = _result(_mpi(2, "diverge", where, timeout=120))
    assert len(res["caught"]) == 2 and len(set(res["caught"])) == 1
    assert "training diverged" in res["caught"][0] and at in res["caught"][0]


@needs_mpi
def test_a_launcher_from_another_mpi_is_refused_not_run_as_many_worlds_of_one():
    env = dict(os.environ, OMPI_COMM_WORLD_SIZE="3", OMPI_COMM_WORLD_RANK="0")
    proc = subprocess.run([sys.executable, "-c", "from chainrule import distributed as d; d.init()"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode != 0
    assert "a world of 3 processes" in proc.stderr and "MPI sees 1" in proc.stderr


def _state(res):
    return {k: np.array(v) for k, v in res["state"].items()}


@needs_mpi
def test_mpi_resume_with_the_same_or_another_number_of_ranks(tmp_path):
    def solo(folder, epochs, again=""):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, WORKER, "resume", str(folder), str(epochs), again],
                              capture_output=True, text=True, timeout=120, env=env)
        return _result(proc)
    whole = solo(tmp_path / "whole", 5)
    solo(tmp_path / "a", 2)                                              # 1 process, then
    a = _result(_mpi(2, "resume", tmp_path / "a", 5, "resume"))          # 2 take over
    _result(_mpi(2, "resume", tmp_path / "b", 3))                        # 2 processes, then
    b = solo(tmp_path / "b", 5, "resume")                                # 1 takes over
    _result(_mpi(2, "resume", tmp_path / "c", 2))
    c = _result(_mpi(2, "resume", tmp_path / "c", 5, "resume"))          # 2 and 2 again
    for res in (a, b, c):
        assert res["epochs"] == 5
        assert len(set(res["checksums"])) == 1
        np.testing.assert_allclose(res["loss"], whole["loss"], rtol=1e-9)
        for k, v in _state(whole).items():
            np.testing.assert_allclose(_state(res)[k], v, rtol=1e-6, atol=1e-12)


@needs_mpi
def test_mpi_chainrule_train_names_the_world_and_matches_one_process(tmp_path):
    cli = [os.path.join(BIN, "chainrule"), "train"]
    args = ["--data", "iris", "--epochs", "3", "--no-plot"]
    proc = _mpi(2, "--out", tmp_path / "mpi", *args, command=cli)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("2 processes") == 1              # rank 0's banner only
    assert proc.stdout.count("split ") == 1 and proc.stderr.count("epoch 3/3") == 1
    solo = subprocess.run(cli + args + ["--out", str(tmp_path / "one"), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert solo.returncode == 0, solo.stderr
    assert "processes" not in solo.stdout
    assert sorted(os.listdir(tmp_path / "mpi")) == sorted(os.listdir(tmp_path / "one"))
    got, want = training.load_checkpoint(tmp_path / "mpi"), training.load_checkpoint(
        tmp_path / "one")
    for k, v in want.model_state.items():
        np.testing.assert_allclose(got.model_state[k], v, rtol=1e-6, atol=1e-12)
    assert got.history["epochs"][-1]["loss"] == pytest.approx(
        want.history["epochs"][-1]["loss"], rel=1e-9)


@needs_mpi
def test_mpi_chainrule_train_shared_error_is_printed_once(tmp_path):
    cli = [os.path.join(BIN, "chainrule"), "train", "--data", "iris", "--resume", "--out",
           str(tmp_path / "nothing-here")]
    proc = _mpi(2, command=cli, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.count("nothing to resume") == 1, proc.stderr[-2000:]


@needs_mpi
def test_mpi_chainrule_user_mistakes_are_one_line_errors_as_in_one_process(tmp_path):
    """Every rank checks the same arguments and files: a mistake is reported once, with the
    exit status and message of one process, no traceback and no abort; nothing is written."""
    exe = os.path.join(BIN, "chainrule")
    run = str(tmp_path / "run")
    first = subprocess.run([exe, "train", "--data", "iris", "--out", run, "--epochs", "2",
                            "--no-progress", "--no-plot"], capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    files = {n: open(os.path.join(run, n), "rb").read() for n in os.listdir(run)}
    (tmp_path / "file").write_text("x")
    mistakes = [
        ["train", "--data", "iris", "--out", run, "--no-progress"],           # a run is there
        ["train", "--data", str(tmp_path / "nosuch.csv"), "--out", str(tmp_path / "r2")],
        ["train", "--data", "iris", "--out", run, "--resume", "--lr", "1e6"],
        ["train", "--data", "iris", "--out", str(tmp_path / "file"), "--no-progress"],
    ]
    for argv in mistakes:
        proc = _mpi(2, command=[exe] + argv, timeout=120)
        alone = subprocess.run([exe] + argv, capture_output=True, text=True, timeout=120)
        assert proc.returncode == alone.returncode == 2, (argv, proc.stderr[-2000:])
        assert proc.stderr.count("error:") == 1, (argv, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and "MPI_Abort" not in proc.stderr, argv
        assert proc.stderr.strip().splitlines()[-1] == alone.stderr.strip().splitlines()[-1]
    assert {n: open(os.path.join(run, n), "rb").read() for n in os.listdir(run)} == files
    again = _mpi(2, command=[exe, "train", "--data", "iris", "--out", run, "--resume",
                             "--no-progress", "--no-plot"], timeout=120)
    assert again.returncode == 0 and again.stdout.count("nothing to train") == 1, again.stdout
    out = str(tmp_path / "p.csv")
    pred = _mpi(2, command=[exe, "predict", "--checkpoint", run, "--data", "iris", "--out", out],
                timeout=120)
    said = pred.stdout + pred.stderr
    assert pred.returncode == 0 and said.count("wrote 150 predictions") == 1, said


@needs_mpi
def test_bench_distributed_runs_tiny():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "bench", "--distributed", "--tiny"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines() if re.match(r"\s+[12]\s", line)]
    assert [r[0] for r in rows] == ["1", "2"]
    assert "bare Allreduce on 2 processes" in proc.stdout


_PROBE = ("import json, os; from chainrule import distributed as d; d.init();\n"
          "from threadpoolctl import threadpool_info\n"
          "info = [p['num_threads'] for p in threadpool_info()]\n"
          "print('RESULT ' + json.dumps({'rank': d.rank(), 'threads': d.blas_threads(), "
          "'pools': info, 'omp': os.environ.get('OMP_NUM_THREADS')})) if d.rank() == 0 else None")


@needs_mpi
@pytest.mark.parametrize("user_setting", [None, "2"])
def test_ranks_on_one_machine_share_its_cores(user_setting):
    """Without a thread setting of the user's, each rank's BLAS gets cores ÷ ranks threads
    (oversubscribed BLAS threads made 2 ranks on 2 cores 20× slower); a setting stands."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                        "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
    if user_setting:
        env["OMP_NUM_THREADS"] = user_setting
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-c", _PROBE], capture_output=True,
                          text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    res = _result(proc)
    if user_setting:
        assert res["threads"] is None and res["omp"] == user_setting
    else:
        expected = max(1, len(os.sched_getaffinity(0)) // 2)
        assert res["threads"] == expected and res["omp"] == str(expected)
        assert res["pools"] and all(n <= expected for n in res["pools"])
