"""Training: a fit loop with validation, metrics, progress, early stopping and checkpoints.

    from chainrule import models, training
    from chainrule.data import load, train_val_test_split
    ds = load("digits")
    train, val, test = train_val_test_split(ds.X, ds.y, seed=0)
    model = models.MLP([64, 64, 10], seed=0)
    history = training.fit(model, train, val_data=val, epochs=30, standardize=True, seed=0)
    training.evaluate(model, test, standardizer=history.standardizer)  # {'loss':, 'accuracy':}
    history.plot("curves.png")

See docs/training.md.
"""
import numpy as np

from .callbacks import Callback, EarlyStopping, LambdaCallback, ProgressBar
from .checkpoint import Checkpoint, atomic_write, load_checkpoint, save_checkpoint
from .fit import TrainingDiverged, evaluate, fit, predict
from .history import History
from .metrics import accuracy, predicted_labels, probabilities, r2_score
from .setup import build_model, make_loss, make_optimizer, model_config


def load_model(path):
    """(model, checkpoint) from a checkpoint file or run folder: ready to predict."""
    ck = load_checkpoint(path)
    if not ck.config:
        from ..core.errors import ChainruleError
        raise ChainruleError("checkpoint", message=f"{ck.path} has no model description; build "
                             "the model yourself and call model.load_state_dict(ck.model_state)")
    for name, value in (ck.model_state or {}).items():
        arr = np.asarray(value)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            from ..core.errors import ChainruleError
            what = "NaN" if np.isnan(arr).any() else "Inf"
            raise ChainruleError("checkpoint", message=f"{ck.path} holds non-finite weights "
                                 f"({what} in {name!r}), so every prediction would be NaN; "
                                 "retrain the model (a lower --lr usually prevents this)")
    model = build_model(ck.config)
    try:
        model.load_state_dict(ck.model_state)
    except ValueError as e:
        from ..core.errors import ChainruleError
        raise ChainruleError("checkpoint", message=f"{ck.path} is inconsistent: "
                             + " ".join(str(e).split())) from None
    model.eval()
    return model, ck


__all__ = ["fit", "evaluate", "predict", "load_model", "History", "Callback", "EarlyStopping",
           "LambdaCallback", "ProgressBar", "TrainingDiverged", "Checkpoint", "atomic_write",
           "load_checkpoint", "save_checkpoint", "accuracy", "r2_score", "predicted_labels",
           "probabilities", "build_model", "make_loss", "make_optimizer", "model_config"]
