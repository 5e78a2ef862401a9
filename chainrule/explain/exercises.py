"""The shipped exercises, one per seed text, each with its worked solution.

Every solution is the seed's own formula, written in plain NumPy from the forward
values (never from chainrule's gradients), so marking a solution checks the seed's
derivation and chainrule's backward pass against each other.

    chainrule exercise                 # the list
    chainrule exercise chain           # the task
    cr.exercise("chain").check({...})  # the same in Python
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import numpy as cnp
from ..core.errors import ChainruleError


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    text: str
    build: object            # () -> (f, args, names)
    solution: object         # values -> {name: gradient}


# ---------------------------------------------------------- seed 000: the chain
CHAIN_X, CHAIN_Y = 1.5, 0.5


def _chain():
    def loss(w1, w2, w3):
        y_hat = CHAIN_X * w1 * w2 * w3
        y_hat.name = "y_hat"
        return cnp.mean((CHAIN_Y - y_hat) ** 2)      # n = 1 data point
    return loss, (0.7, -1.3, 0.4), ["w1", "w2", "w3"]


def _chain_solution(v):
    d_yhat = 2.0 * (v["y_hat"] - CHAIN_Y) / 1        # ∂/∂ŷ (1/n) Σ (y − ŷ)²
    w1, w2, w3 = v["w1"], v["w2"], v["w3"]
    return {"y_hat": d_yhat, "w1": d_yhat * CHAIN_X * w2 * w3,
            "w2": d_yhat * CHAIN_X * w1 * w3, "w3": d_yhat * CHAIN_X * w1 * w2}


# ----------------------------------------------- seed 002: logistic regression
LOGIT_X, LOGIT_Y = np.array([0.5, -1.2, 2.0]), 1.0


def _logistic():
    def error(W, b):
        z = cnp.dot(W, LOGIT_X) + b
        z.name = "z"
        y_hat = F.sigmoid(z)
        y_hat.name = "y_hat"
        return -(LOGIT_Y * cnp.log(y_hat) + (1.0 - LOGIT_Y) * cnp.log(1.0 - y_hat))
    return error, (np.array([0.4, 0.1, -0.3]), 0.2), ["W", "b"]


def _logistic_solution(v):
    y, y_hat = LOGIT_Y, v["y_hat"]
    return {"y_hat": -y / y_hat + (1 - y) / (1 - y_hat),
            "z": y_hat - y,                          # σ' = σ(1 − σ) cancels the 1/ŷ terms
            "W": -(y - y_hat) * LOGIT_X, "b": -(y - y_hat)}


# ------------------------------------------ seed 003: ‖w‖² and the MSE of a line
LINREG_X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.3], [2.0, 1.0]])
LINREG_Y = np.array([3.0, -0.5, -1.0, 4.0])
LINREG_LAMBDA = 0.1


def _linreg():
    def loss(w, b):
        residual = LINREG_X @ w + b - LINREG_Y
        residual.name = "residual"
        mse = cnp.mean(residual ** 2)
        mse.name = "mse"
        penalty = LINREG_LAMBDA * cnp.sum(w ** 2)
        penalty.name = "penalty"
        return mse + penalty
    return loss, (np.array([0.8, -0.4]), 0.3), ["w", "b"]


def _linreg_solution(v):
    r, n = v["residual"], len(LINREG_Y)
    return {"mse": 1.0, "penalty": 1.0, "residual": 2.0 * r / n,
            "w": 2.0 / n * LINREG_X.T @ r + LINREG_LAMBDA * 2.0 * v["w"],   # ∇‖w‖² = 2w
            "b": 2.0 / n * np.sum(r)}


# ---------------------------------------------- seed 004: softmax + NLL
SOFTMAX_LABEL = 2


def _softmax():
    def nll(a):
        y_hat = F.softmax(a)
        y_hat.name = "y_hat"
        return -cnp.log(y_hat[SOFTMAX_LABEL])
    return nll, (np.array([0.3, -1.2, 2.0, 0.1]),), ["a"]


def _softmax_solution(v):
    y_hat = v["y_hat"]
    e = np.eye(len(y_hat))[SOFTMAX_LABEL]
    return {"y_hat": -e / y_hat[SOFTMAX_LABEL],      # −(1/ŷ_l) e_l
            "a": -(e - y_hat)}                        # −(e_l − ŷ)


# ------------------------------------------------------------- one MLP layer
_rng = np.random.default_rng(14)
MLP_X = np.round(_rng.normal(size=(4, 3)), 2)
MLP_Y = np.array([1.0, -1.0, 0.5, 2.0])


def _mlp():
    def loss(W, b, v):
        z = MLP_X @ W + b
        z.name = "z"
        h = F.relu(z)
        h.name = "h"
        out = h @ v
        out.name = "out"
        return cnp.mean((out - MLP_Y) ** 2)
    W = np.array([[0.5, -0.3, 0.8, 0.1], [-0.6, 0.4, 0.2, -0.9], [0.3, 0.7, -0.5, 0.6]])
    return loss, (W, np.array([0.1, -0.2, 0.05, 0.3]), np.array([0.7, -1.1, 0.4, 0.9])), \
        ["W", "b", "v"]


def _mlp_solution(v):
    n = len(MLP_Y)
    d_out = 2.0 * (v["out"] - MLP_Y) / n
    d_h = np.outer(d_out, v["v"])
    d_z = d_h * (v["z"] > 0)                          # relu gates
    return {"out": d_out, "h": d_h, "z": d_z, "W": MLP_X.T @ d_z, "b": d_z.sum(axis=0),
            "v": v["h"].T @ d_out}


EXERCISES = {s.name: s for s in [
    Spec("chain", "chain: seed 000, \"a gradient of 1 on ŷ\"",
         f"ŷ = x·w1·w2·w3 and the MSE L = (1/n) Σ (y − ŷ)² with n = 1, x = {CHAIN_X}, "
         f"y = {CHAIN_Y}.\nStart from ∂L/∂L = 1; the first step gives ∂L/∂ŷ, then multiply "
         "through the chain.", _chain, _chain_solution),
    Spec("logistic", "logistic: seed 002, the gradient of logistic regression",
         f"z = W·x + b, ŷ = σ(z), E = −y ln ŷ − (1 − y) ln(1 − ŷ) at x = {LOGIT_X.tolist()}, "
         f"y = {LOGIT_Y:g}.\nUse σ'(z) = σ(z)(1 − σ(z)); the seed's result is "
         "∇E = −(y − ŷ)(x, 1).", _logistic, _logistic_solution),
    Spec("linreg", "linreg: seed 003, ‖w‖² and the MSE of linear regression",
         "residual = X w + b − y, mse = (1/N) Σ residual², penalty = λ‖w‖² with λ = "
         f"{LINREG_LAMBDA}, L = mse + penalty;\nX = {LINREG_X.tolist()}, y = "
         f"{LINREG_Y.tolist()}.\nw reaches L along two paths: add them "
         "(∇‖w‖² = 2w).", _linreg, _linreg_solution),
    Spec("softmax", "softmax: seed 004, softmax and the negative log-likelihood",
         f"ŷ = softmax(a), L = −log ŷ_l with the true class l = {SOFTMAX_LABEL}.\n"
         "The seed's results: ∇_ŷ L = −e_l/ŷ_l and ∇_a L = −(e_l − ŷ).",
         _softmax, _softmax_solution),
    Spec("mlp", "mlp: one MLP layer, z = XW + b, h = relu(z), out = h·v, MSE",
         f"X = {MLP_X.tolist()}, y = {MLP_Y.tolist()}; L = (1/N) Σ (out − y)².\n"
         "Matrix shapes guide the products: ∂L/∂W has W's shape (3, 4).", _mlp, _mlp_solution),
]}


def names():
    return list(EXERCISES)


def load(name, rtol=1e-3, atol=1e-8):
    """The shipped exercise ``name`` as an Exercise."""
    from .exercise import Exercise
    spec = EXERCISES.get(name)
    if spec is None:
        raise ChainruleError("exercise", message=f"no exercise called {name!r}",
                             expected="one of " + ", ".join(EXERCISES), actual=repr(name),
                             fix="run `chainrule exercise` for the list")
    f, args, arg_names = spec.build()
    return Exercise(f, args, names=arg_names, title=spec.title, text=spec.text,
                    solution=spec.solution, rtol=rtol, atol=atol)
