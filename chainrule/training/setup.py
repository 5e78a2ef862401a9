"""Turning names into objects: optimizers, losses, and models rebuilt from a saved config.

A checkpoint stores a small JSON ``config`` ({"model": "mlp", "n_features": 64,
"hidden": [64], ...}) rather than pickled Python objects, so ``build_model``
is what makes a saved model usable again.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ChainruleError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 1e-3, "adamw": 1e-3,
              "rmsprop": 1e-3}
MODELS = ("linreg", "logreg", "softmax", "mlp")


def make_optimizer(optimizer, params, lr=None, weight_decay=0.0):
    """An optimizer from a name (with its usual default lr) or the given Optimizer itself."""
    from .. import optim
    if not isinstance(optimizer, str):
        if lr is not None:
            raise ChainruleError("fit", message="lr= only applies when the optimizer is given by "
                                 "name; set the learning rate on your optimizer object instead")
        return optimizer
    name = optimizer.lower()
    if name not in OPTIMIZERS:
        raise ChainruleError("fit", message=f"unknown optimizer {optimizer!r}; choose from "
                             f"{', '.join(OPTIMIZERS)} or pass a chainrule.optim optimizer")
    lr = DEFAULT_LR[name] if lr is None else float(lr)
    if not lr > 0:
        raise ChainruleError("fit", message=f"the learning rate must be positive, got {lr}")
    params = list(params)
    if name in ("sgd", "momentum", "nesterov"):
        mu = 0.0 if name == "sgd" else 0.9
        return optim.SGD(params, lr=lr, momentum=mu, nesterov=name == "nesterov",
                         weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2)
    return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)


LOSS_NAMES = {"mse": "MSELoss", "l1": "L1Loss", "mae": "L1Loss", "bce": "BCEWithLogitsLoss",
              "bce_with_logits": "BCEWithLogitsLoss", "cross_entropy": "CrossEntropyLoss",
              "ce": "CrossEntropyLoss", "nll": "NLLLoss", "hinge": "HingeLoss"}
TASK_LOSS = {"regression": "mse", "binary": "bce", "multiclass": "cross_entropy"}


def make_loss(loss, model, task):
    """The loss to train with: given, named, the model's default_loss(), or the task's usual one."""
    from .. import losses
    if loss is None:
        if hasattr(model, "default_loss"):
            return model.default_loss()
        loss = TASK_LOSS[task]
    if isinstance(loss, str):
        key = loss.lower()
        if key not in LOSS_NAMES:
            raise ChainruleError("fit", message=f"unknown loss {loss!r}; choose from "
                                 f"{', '.join(LOSS_NAMES)} or pass a callable loss(pred, target)")
        return getattr(losses, LOSS_NAMES[key])()
    if not callable(loss):
        raise ChainruleError("fit", message="loss must be a name or a callable "
                             f"loss(pred, target), got {type(loss).__name__}")
    return loss


def task_of_loss(loss):
    """The task a loss object implies (None when it does not say)."""
    name = type(loss).__name__
    return {"MSELoss": "regression", "L1Loss": "regression", "BCEWithLogitsLoss": "binary",
            "BCELoss": "binary", "HingeLoss": "binary", "CrossEntropyLoss": "multiclass",
            "NLLLoss": "multiclass"}.get(name)


def model_config(kind, n_features, task, n_classes=None, hidden=(), activation="relu", seed=0):
    """The JSON description that build_model() turns back into the same model."""
    if kind not in MODELS:
        raise ChainruleError("model", message=f"unknown model {kind!r}; choose from "
                             f"{', '.join(MODELS)}")
    wants = {"linreg": "regression", "logreg": "binary", "softmax": "multiclass"}.get(kind)
    if wants and wants != task:
        better = {"regression": "linreg or mlp", "binary": "logreg or mlp",
                  "multiclass": "softmax or mlp"}[task]
        raise ChainruleError("model", message=f"--model {kind} is for {wants} but this data is a "
                             f"{task} problem; use --model "
                             + better.replace(" or ", " or --model "))
    if kind == "mlp":
        from ..nn.activations import get_activation
        get_activation(activation)          # an unknown name fails here, not when loading
    n_out = n_classes if task == "multiclass" else 1
    return {"model": kind, "n_features": int(n_features), "task": task, "n_outputs": int(n_out),
            "hidden": [int(h) for h in hidden] if kind == "mlp" else [],
            "activation": activation, "seed": int(seed)}


def _scaled_output():
    from ..nn import Module
    from .. import losses

    class ScaledOutput(Module):
        """Regression net whose inner model predicts the standardized target.

        ŷ = inner(x)·scale + mean: the net's last layer works with numbers near 1
        while predictions and the loss stay in the data's units (Adam is blind to
        the resulting gradient scale). mean/scale are buffers, saved with the weights.
        """

        task = "regression"

        def __init__(self, inner, mean=0.0, scale=1.0):
            super().__init__()
            self.inner = inner
            self.register_buffer("target_mean", np.array(float(mean)))
            self.register_buffer("target_scale", np.array(float(scale) or 1.0))

        def forward(self, x):
            return self.inner(x) * self.target_scale + self.target_mean

        def default_loss(self):
            return losses.MSELoss()

    return ScaledOutput


def build_model(config, y_train=None):
    """A fresh model of the architecture described by ``config`` (weights from its seed).

    With config["scale_target"] the model predicts through ScaledOutput, whose
    mean/scale come from ``y_train`` (or from the checkpoint's weights later).
    """
    model = _build(config)
    if config.get("scale_target"):
        y = np.zeros(1) if y_train is None else np.asarray(y_train, dtype=np.float64)
        model = _scaled_output()(model, y.mean(), y.std())
    return model


def _build(config):
    """A fresh model of the architecture described by ``config`` (weights from its seed)."""
    from .. import models
    try:
        kind, d, seed = config["model"], int(config["n_features"]), config.get("seed", 0)
        if kind == "linreg":
            return models.LinearRegression(d)
        if kind == "logreg":
            return models.LogisticRegression(d)
        if kind == "softmax":
            return models.SoftmaxRegression(d, int(config["n_outputs"]))
        if kind == "mlp":
            sizes = [d, *config["hidden"], int(config["n_outputs"])]
            return models.MLP(sizes, activation=config.get("activation", "relu"),
                              task=config["task"], seed=seed)
    except ChainruleError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise ChainruleError("checkpoint", message="the saved model description is incomplete "
                             f"({type(e).__name__}: {e}); retrain to recreate the checkpoint") \
            from None
    raise ChainruleError("checkpoint", message=f"unknown model kind {kind!r} in the checkpoint")
