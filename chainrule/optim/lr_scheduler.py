"""Learning-rate schedules: set ``group['lr']`` from the step count, with torch's formulas.

Call ``scheduler.step()`` once per epoch (or per batch) after ``optimizer.step()``.
Every schedule here is written in closed form, lr = f(initial_lr, t), so it
depends only on how many times step() was called; this gives the same numbers
as torch.optim.lr_scheduler used on its own.  To run one schedule after
another (warm-up, then cosine decay) use ``SequentialLR`` or ``LinearWarmup(..., after=...)``.
"""
from __future__ import annotations

import bisect
import copy
import math

from ..core.errors import ChainruleError


class LRScheduler:
    """Base class: subclasses define ``_lr(base_lr, t)`` for step count t = 0, 1, 2, ..."""

    _unsaved = ("optimizer",)

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise ChainruleError(type(self).__name__, expected="an optimizer (chainrule.optim.*)",
                                 actual=type(optimizer).__name__,
                                 fix="e.g. StepLR(SGD(model.parameters(), lr=0.1), step_size=10)")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def _lr(self, base_lr, t):
        raise NotImplementedError

    def lr_at(self, t):
        """The learning rates this schedule gives after t steps."""
        return [self._lr(base, t) for base in self.base_lrs]

    def get_lr(self):
        return self.lr_at(self.last_epoch)

    def step(self):
        self.last_epoch += 1
        self._apply(self.get_lr())

    def _apply(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self):
        """The learning rate of each param group, as last set by step()."""
        return list(self._last_lr)

    def state_dict(self):
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._unsaved}

    def load_state_dict(self, state_dict):
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _positive_int(name, v, op):
    if not isinstance(v, int) or v < 1:
        raise ChainruleError(op, expected=f"{name} a positive integer", actual=repr(v),
                             fix=f"e.g. {name}=10")


class StepLR(LRScheduler):
    """lr = initial_lr · γ^⌊t / step_size⌋: divide by 1/γ every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive_int("step_size", step_size, "StepLR")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        return base * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = initial_lr · γ^(number of milestones ≤ t)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        return base * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr = initial_lr · γ^t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        return base * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (initial_lr − η_min)(1 + cos(π t / T_max)) / 2: a smooth decay to η_min
    at t = T_max (and back up after, as in torch, if you keep stepping)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive_int("T_max", T_max, "CosineAnnealingLR")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    """lr = initial_lr · (s + (e − s)·min(t, total_iters)/total_iters): a linear ramp of the
    factor from start_factor to end_factor, then constant (torch.optim.lr_scheduler.LinearLR)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ChainruleError("LinearLR", expected="0 < start_factor <= 1, 0 <= end_factor <= 1",
                                 actual=f"start_factor={start_factor}, end_factor={end_factor}",
                                 fix="e.g. start_factor=0.1 (10% of the lr at step 0)")
        _positive_int("total_iters", total_iters, "LinearLR")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        frac = min(t, self.total_iters) / self.total_iters
        return base * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class LambdaLR(LRScheduler):
    """lr = initial_lr · lr_lambda(t), for any schedule you can write as a function."""

    _unsaved = ("optimizer", "lr_lambda")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def _lr(self, base, t):
        return base * self.lr_lambda(t)


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from step milestones[i-1] on, each restarted at its own t = 0
    (torch.optim.lr_scheduler.SequentialLR)."""

    _unsaved = ("optimizer", "_schedulers")

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), list(milestones)
        if len(milestones) != len(schedulers) - 1 or milestones != sorted(milestones):
            raise ChainruleError("SequentialLR", message="milestones do not fit the schedulers",
                                 expected=f"{len(schedulers) - 1} increasing milestone(s)",
                                 actual=repr(milestones),
                                 fix="one milestone (the step to switch at) between each pair")
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ChainruleError("SequentialLR", expected="schedulers of this same optimizer",
                                 actual="a scheduler built on another optimizer",
                                 fix="build every scheduler with the same optimizer")
        self._schedulers, self.milestones = schedulers, milestones
        super().__init__(optimizer, last_epoch)

    def _current(self, t):
        i = bisect.bisect_right(self.milestones, t)
        return self._schedulers[i], t - (self.milestones[i - 1] if i else 0)

    def lr_at(self, t):
        sched, local = self._current(t)
        return sched.lr_at(local)

    def step(self):
        self.last_epoch += 1
        sched, local = self._current(self.last_epoch)
        sched.last_epoch = local
        sched._apply(sched.lr_at(local))
        self._last_lr = sched.get_last_lr()

    def state_dict(self):
        d = super().state_dict()
        d["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return d

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        for s, sd in zip(self._schedulers, state_dict.pop("_schedulers", [])):
            s.load_state_dict(sd)
        super().load_state_dict(state_dict)


class LinearWarmup(SequentialLR):
    """Ramp the lr linearly from start_factor·lr to lr over ``warmup_steps`` steps, then hand over
    to ``after`` (another scheduler of the same optimizer, restarted at its t = 0) or stay at lr.

        sched = LinearWarmup(opt, 5, start_factor=0.1, after=CosineAnnealingLR(opt, T_max=95))

    Large early steps from a random start can diverge; a short warm-up avoids that.
    """

    def __init__(self, optimizer, warmup_steps, start_factor=1.0 / 3, after=None, last_epoch=-1):
        _positive_int("warmup_steps", warmup_steps, "LinearWarmup")
        self.warmup_steps = warmup_steps
        warm = LinearLR(optimizer, start_factor=start_factor, end_factor=1.0,
                        total_iters=warmup_steps)
        rest = [after] if after is not None else []
        super().__init__(optimizer, [warm] + rest, [warmup_steps] if rest else [], last_epoch)


__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "LambdaLR", "SequentialLR", "LinearWarmup"]
