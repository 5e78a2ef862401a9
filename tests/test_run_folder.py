"""A run folder always describes its last finished epoch: kills, Ctrl-C and SIGTERM.

The signals are real: a child process trains and is interrupted from outside.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from chainrule import models
from chainrule.training import History, fit, load_checkpoint
from chainrule.training.checkpoint import save_run
from chainrule.training.files import atomic_write, interrupts_deferred, remove_stale_temps

from test_cli_train import make_csv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def temp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")]


def consistent(folder):
    """model.npz, history.json and history.csv all describe the same finished epoch."""
    ck = load_checkpoint(folder)
    hist = json.loads((folder / "history.json").read_text())
    rows = (folder / "history.csv").read_text().splitlines()[1:]
    assert [r["epoch"] for r in hist["epochs"]] == list(range(1, ck.epoch + 1))
    assert len(rows) == ck.epoch and hist["epochs"] == ck.history["epochs"]
    return ck.epoch


@needs_posix
def test_sigkill_during_a_checkpoint_write_leaves_a_loadable_run_and_the_temp_is_cleaned(
        tmp_path):
    """The child is killed (SIGKILL: nothing can be cleaned up) in the middle of writing
    the checkpoint of epoch 3; the next run removes the orphaned temporary file."""
    child = textwrap.dedent(f"""
        import os, signal, numpy as np
        from chainrule import models, training
        from chainrule.training import checkpoint
        real, calls = checkpoint.np.savez, []
        def dying_savez(f, **arrays):
            calls.append(1)
            if len(calls) == 3:
                f.write(b"PK half a zip")
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            real(f, **arrays)
        checkpoint.np.savez = dying_savez
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
        training.fit(models.MLP([3, 4, 2], seed=0), (X, y), epochs=5, progress=False,
                     checkpoint_dir={str(tmp_path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", child], env=ENV, capture_output=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = temp_files(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.npz.")
    assert consistent(tmp_path) == 2                       # the last good state, whole
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    fit(models.MLP([3, 4, 2], seed=0), (X, y), epochs=5, progress=False,
        checkpoint_dir=tmp_path, resume=True)
    assert temp_files(tmp_path) == [] and consistent(tmp_path) == 5


def test_stale_temps_of_live_processes_are_kept(tmp_path):
    live = tmp_path / f".model.npz.{os.getpid()}.abcdefgh.tmp"
    dead_pid = 2 ** 22 + 12345                           # above any pid_max in use
    dead = tmp_path / f".history.json.{dead_pid}.abcdefgh.tmp"
    other = tmp_path / f".notes.txt.{dead_pid}.abcdefgh.tmp"
    for f in (live, dead, other):
        f.write_bytes(b"x")
    assert remove_stale_temps(tmp_path, ("model.npz", "history.json")) == [dead.name]
    assert live.exists() and other.exists() and not dead.exists()


@needs_posix
@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, 130, "interrupted"),
                                               (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_and_sigterm_leave_the_folder_describing_the_last_epoch(tmp_path, sig, status,
                                                                      word):
    pytest.importorskip("matplotlib")
    data = make_csv(tmp_path / "d.csv", n=60)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--data", str(data),
                             "--epochs", "100000", "--hidden", "8", "--out", str(out)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "model.npz").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert f"chainrule train: {word}" in err and "Traceback" not in err
    epoch = consistent(out)
    assert f"holds epoch {epoch}" in err and "--resume" in err
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert temp_files(out) == []


def test_an_interrupt_during_the_run_files_waits_until_all_are_written(tmp_path, monkeypatch):
    history = History([{"epoch": 1, "loss": 1.0}])
    save_run(tmp_path, {"w": np.zeros(2)}, history, epoch=1)
    history.append({"epoch": 2, "loss": 0.5})
    from chainrule.training import checkpoint as ck_module
    real = ck_module.atomic_write

    def interrupted_write(path, write, durable=True):
        os.kill(os.getpid(), signal.SIGINT)             # Ctrl-C while the first file is written
        return real(path, write, durable)
    monkeypatch.setattr(ck_module, "atomic_write", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        save_run(tmp_path, {"w": np.ones(2)}, history, epoch=2)
    monkeypatch.undo()
    assert consistent(tmp_path) == 2


def test_interrupts_deferred_delivers_after_the_block():
    events = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            events.append("finished")
    assert events == ["finished"]


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_text() == "new" and os.stat(path).st_mode & 0o777 == 0o640
