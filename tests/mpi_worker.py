"""Programs the distributed tests launch with ``mpiexec -n N python tests/mpi_worker.py MODE ...``.

Each mode trains small models under MPI and has rank 0 print one ``RESULT {json}`` line with
what the test asserts on; the assertions themselves live in tests/test_distributed.py.
"""
import json
import sys
import time

import numpy as np

from chainrule import distributed as dist
from chainrule import losses, models, training


def result(**kw):
    if dist.is_main():
        print("RESULT " + json.dumps(kw), flush=True)


def checksums(model):
    """Every rank's parameter checksum, in rank order (gathered as bytes, not pickled)."""
    mine = dist.fingerprint(list(model.state_dict().values())).encode()
    return [b.decode() for b in dist.allgather_bytes(mine)]


def rel_error(a, b):
    """Largest relative difference between two state dicts (relative to each array's scale)."""
    return max(float(np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(b[k])), 1e-300))
               for k in b)


def history_error(h, ref):
    worst = 0.0
    for r, s in zip(h.records, ref.records):
        for k, v in s.items():
            worst = max(worst, abs(r[k] - v) / max(abs(v), 1e-12))
    return worst if len(h) == len(ref) else float("inf")


def problem(task, n, d, rng):
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    if task == "regression":
        return X, X @ w + 0.1 * rng.standard_normal(n)
    if task == "binary":
        return X, (X @ w > 0).astype(int)
    return X, (X @ w > 0).astype(int) + (X[:, 0] > 0.5).astype(int)


def configs(size):
    """Cases chosen to stress the splitting: uneven last batches, a last batch smaller than the
    world (some ranks get no rows), batches that do not divide by the world size."""
    rng = np.random.default_rng(7)
    cases = [  # the case: 100 optimizer steps (20 epochs x 5 batches) of a small MLP
        dict(task="multiclass", model="mlp", n=97, batch=20, epochs=20, opt="adam", val=31,
             loss=None),
        dict(task="binary", model="logreg", n=5 * size + 1, batch=size + 1, epochs=6,
             opt="momentum", val=0, loss=None),
        dict(task="regression", model="linreg", n=41, batch=7, epochs=5, opt="sgd", val=9,
             loss=None),
        dict(task="regression", model="mlp", n=33, batch=size, epochs=4, opt="rmsprop", val=2,
             loss="sum"),
    ]
    for _ in range(3):       # a few more drawn at random (the same on every rank)
        task = ["multiclass", "binary", "regression"][rng.integers(3)]
        batch = int(rng.integers(size, 3 * size + 4))
        cases.append(dict(task=task, model="mlp", n=int(rng.integers(batch, 60)), batch=batch,
                          epochs=3, opt=["adam", "sgd", "nesterov"][rng.integers(3)],
                          val=int(rng.integers(0, 7)), loss=None))
    return cases


def build(c, d):
    out = 3 if c["task"] == "multiclass" else 1
    if c["model"] == "logreg":
        return models.LogisticRegression(d)
    if c["model"] == "linreg":
        return models.LinearRegression(d)
    return models.MLP([d, 6, out], activation="tanh", task=c["task"], seed=3)


def fit_case(c, X, y, distributed):
    model = build(c, X.shape[1])
    loss = losses.MSELoss(reduction="sum") if c["loss"] == "sum" else None
    val = (X[:c["val"]], y[:c["val"]]) if c["val"] else None
    lr = 1e-4 if c["loss"] == "sum" else None
    h = training.fit(model, (X, y), loss=loss, optimizer=c["opt"], lr=lr, epochs=c["epochs"],
                     batch_size=c["batch"], seed=11, val_data=val, progress=False,
                     distributed=distributed)
    return model, h


def equal():
    size = dist.world_size()
    out = []
    for c in configs(size):
        X, y = problem(c["task"], c["n"], 4, np.random.default_rng(c["n"]))
        model, h = fit_case(c, X, y, None)
        sums = checksums(model)
        row = dict(case=c, checksums=sums, steps=c["epochs"] * -(-c["n"] // c["batch"]))
        if dist.is_main():
            ref_model, ref_h = fit_case(c, X, y, False)
            row.update(params=rel_error(model.state_dict(), ref_model.state_dict()),
                       history=history_error(h, ref_h))
        out.append(row)
    result(size=size, cases=out)


def fail(where, folder):
    """Rank 1 raises in a callback at epoch 2, or rank 0 inside its loss at a later step."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 2, 64)
    calls = {"n": 0}

    def mark_and_raise():
        print(f"FAILING {time.time():.3f}", file=sys.stderr, flush=True)
        raise RuntimeError("simulated failure")

    def on_epoch_begin(epoch, run):
        if where == "callback" and epoch == 2 and dist.rank() == 1:
            mark_and_raise()

    base = losses.CrossEntropyLoss()

    def loss(out, target):
        calls["n"] += 1
        if where == "loss" and dist.rank() == 0 and calls["n"] == 12:
            mark_and_raise()
        return base(out, target)

    model = models.MLP([5, 8, 2], seed=1)
    try:
        training.fit(model, (X, y), loss=loss, epochs=5, batch_size=8, checkpoint_dir=folder,
                     progress=False,
                     callbacks=[training.LambdaCallback(on_epoch_begin=on_epoch_begin)])
    except RuntimeError:
        time.sleep(60)       # a caught error must not keep the job alive: fit has aborted it


def mismatch(kind):
    r = dist.rank()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40 + (r if kind == "data" else 0), 4))
    y = (X[:, 0] > 0).astype(int)
    if kind == "version" and r == 1:
        import chainrule
        chainrule.__version__ = "0.0.0-other"
    model = models.MLP([4, 5 + (r if kind == "model" else 0), 2], seed=0)
    training.fit(model, (X, y), epochs=2, batch_size=8, progress=False,
                 seed=r if kind == "seed" else 0)


def diverge(where):
    """A divergence every rank sees alike (global loss, gathered validation): no abort needed."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    Xv = X[:6] * (1e200 if where == "validation" else 1.0)
    try:
        training.fit(models.LinearRegression(3), (X, y), optimizer="sgd", epochs=3,
                     lr=1e6 if where == "training" else 0.01, batch_size=8, val_data=(Xv, y[:6]),
                     progress=False)
    except training.TrainingDiverged as e:           # every rank can catch it
        caught = [b.decode() for b in dist.allgather_bytes(str(e).encode())]
        result(caught=caught)


def resume(folder, epochs, again=""):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((70, 4)), rng.integers(0, 3, 70)
    model = models.MLP([4, 7, 3], seed=2)
    h = training.fit(model, (X, y), epochs=int(epochs), batch_size=9, seed=4, progress=False,
                     checkpoint_dir=folder, resume=again == "resume", val_data=(X[:10], y[:10]))
    state = {k: v.tolist() for k, v in model.state_dict().items()}
    result(size=dist.world_size(), epochs=len(h), state=state, checksums=checksums(model),
           loss=h["loss"])


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    {"equal": equal, "fail": fail, "mismatch": mismatch, "resume": resume,
     "diverge": diverge}[mode](*rest)
