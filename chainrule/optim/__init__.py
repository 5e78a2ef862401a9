"""Optimizers, learning-rate schedules and gradient clipping, with torch.optim's formulas.

    opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

See docs/learning.md.
"""
from . import lr_scheduler
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, LinearWarmup,
                           LRScheduler, MultiStepLR, SequentialLR, StepLR)
from .optimizers import GD, SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "GD", "Adam", "AdamW", "RMSprop", "lr_scheduler", "LRScheduler",
           "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR",
           "SequentialLR", "LinearWarmup", "clip_grad_norm_", "clip_grad_value_"]
