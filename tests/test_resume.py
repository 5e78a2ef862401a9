"""Resuming to N epochs gives, bit for bit, the model of a fresh N-epoch run: every schedule.

A run is stopped after k epochs (interrupted, or simply trained for k) and resumed
to N ≥ k; weights and history must equal an uninterrupted N-epoch run's.  A
resume that would change how the run trains (another lr, schedule, batch size,
data...) is refused with the differences named.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chainrule import models, optim
from chainrule.core.errors import ChainruleError
from chainrule.training import LambdaCallback, fit, load_checkpoint

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(36, 3)), np.arange(36) % 3
VAL = (RNG.normal(size=(12, 3)), np.arange(12) % 3)

SCHEDULES = {
    "none": lambda opt: None,
    "step": lambda opt: optim.StepLR(opt, step_size=2, gamma=0.5),
    "multistep": lambda opt: optim.MultiStepLR(opt, milestones=[1, 3], gamma=0.3),
    "exponential": lambda opt: optim.ExponentialLR(opt, gamma=0.8),
    "cosine": lambda opt: optim.CosineAnnealingLR(opt, T_max=5),
    "linear": lambda opt: optim.LinearLR(opt, start_factor=0.2, total_iters=3),
    "lambda": lambda opt: optim.LambdaLR(opt, lambda t: 1 / (1 + t)),
    "warmup+cosine": lambda opt: optim.LinearWarmup(
        opt, 2, start_factor=0.1, after=optim.CosineAnnealingLR(opt, T_max=4)),
}


def run(epochs, folder=None, resume=False, schedule="none", dropout=0.0, stop_after=None,
        patience=None, optimizer="adam"):
    model = models.MLP([3, 5, 3], seed=1, dropout=dropout)
    opt = optim.Adam(model.parameters(), lr=0.02) if optimizer == "adam" else \
        optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    callbacks = []
    if stop_after is not None:
        def stop(epoch, run_):
            if epoch == stop_after + 1:
                raise KeyboardInterrupt          # Ctrl-C during epoch k + 1
        callbacks.append(LambdaCallback(on_epoch_begin=stop))
    try:
        h = fit(model, (X, Y), val_data=VAL, optimizer=opt, epochs=epochs, batch_size=8, seed=4,
                scheduler=SCHEDULES[schedule](opt), checkpoint_dir=folder, resume=resume,
                progress=False, callbacks=callbacks, early_stopping=patience)
    except KeyboardInterrupt:
        return None
    return model.state_dict(), h.records


def same(a, b):
    (wa, ha), (wb, hb) = a, b
    return ha == hb and all(np.array_equal(wa[k], wb[k]) for k in wa)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(schedule=st.sampled_from(sorted(SCHEDULES)), n=st.integers(2, 6), data=st.data(),
       interrupted=st.booleans(), dropout=st.sampled_from([0.0, 0.3]),
       optimizer=st.sampled_from(["adam", "sgd"]))
def test_resumed_runs_equal_fresh_runs(tmp_path_factory, schedule, n, data, interrupted,
                                       dropout, optimizer):
    k = data.draw(st.integers(1, n - 1))
    folder = tmp_path_factory.mktemp("run")
    fresh = run(n, schedule=schedule, dropout=dropout, optimizer=optimizer)
    if interrupted:          # planned for n epochs, stopped by Ctrl-C after k of them
        assert run(n, folder, schedule=schedule, dropout=dropout, stop_after=k,
                   optimizer=optimizer) is None
    else:                    # trained for k epochs, then asked for n
        run(k, folder, schedule=schedule, dropout=dropout, optimizer=optimizer)
    assert load_checkpoint(folder).epoch == k
    resumed = run(n, folder, resume=True, schedule=schedule, dropout=dropout,
                  optimizer=optimizer)
    assert same(fresh, resumed)


def test_early_stopping_state_survives_a_resume(tmp_path):
    fresh = run(8, patience=2)
    assert run(8, tmp_path, patience=2, stop_after=3) is None
    assert same(fresh, run(8, tmp_path, resume=True, patience=2))


def test_a_schedule_tied_to_the_epoch_count_is_refused_when_the_count_changes(tmp_path):
    """CosineAnnealingLR(T_max=epochs): the first epochs of a 4-epoch and an 8-epoch run
    already differ, so growing a finished 4-epoch run to 8 cannot equal a fresh 8."""
    def cosine_run(epochs, resume=False):
        model = models.MLP([3, 5, 3], seed=1)
        opt = optim.Adam(model.parameters(), lr=0.02)
        return fit(model, (X, Y), optimizer=opt, epochs=epochs, batch_size=8, seed=4,
                   scheduler=optim.CosineAnnealingLR(opt, T_max=epochs), checkpoint_dir=tmp_path,
                   resume=resume, progress=False)
    cosine_run(4)
    before = (tmp_path / "model.npz").read_bytes()
    with pytest.raises(ChainruleError, match="scheduler.config.T_max is 8, the run used 4"):
        cosine_run(8, resume=True)
    assert (tmp_path / "model.npz").read_bytes() == before


@pytest.mark.parametrize("change, fragment", [
    (dict(batch_size=9), "batch_size is 9, the run used 8"),
    (dict(seed=5), "seed is 5, the run used 4"),
    (dict(lr=0.5), "lr is 0.5, the run used 0.02"),
    (dict(data=(X[::-1], Y[::-1])), "the training data differ"),
    (dict(loss="nll"), "loss.name is 'NLLLoss'"),
])
def test_a_resume_that_changes_the_run_is_refused(tmp_path, change, fragment):
    def go(epochs, resume=False, batch_size=8, seed=4, lr=0.02, data=(X, Y), loss=None):
        model = models.MLP([3, 5, 3], seed=1)
        return fit(model, data, optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size,
                   seed=seed, loss=loss, checkpoint_dir=tmp_path, resume=resume, progress=False)
    go(2)
    with pytest.raises(ChainruleError, match="cannot continue the run") as e:
        go(4, resume=True, **change)
    assert fragment in str(e.value)


def test_a_scheduler_the_checkpoint_has_no_state_for_is_refused(tmp_path):
    model = models.MLP([3, 5, 3], seed=1)
    fit(model, (X, Y), epochs=2, checkpoint_dir=tmp_path, progress=False)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(ChainruleError, match="scheduler"):
        fit(model, (X, Y), optimizer=opt, epochs=4, checkpoint_dir=tmp_path, resume=True,
            scheduler=optim.StepLR(opt, 1), progress=False)


def test_resuming_to_fewer_epochs_than_done_is_refused(tmp_path):
    run(4, tmp_path)
    with pytest.raises(ChainruleError, match="already has 4 epochs, more than epochs=2"):
        run(2, tmp_path, resume=True)
