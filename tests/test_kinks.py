"""Kink reports: elements evaluated exactly at a non-differentiable point, per operation."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.core import backward as core_backward
from chainrule.core.primitive import Primitive, defvjp
from chainrule.explain.kinks import KinkReport, kinks_at


def test_relu_at_zero_counted_with_subgradient():
    x = cr.tensor([0.0, 1.0, 0.0, -2.0], requires_grad=True)
    with cr.kinks() as k:
        cnp.sum(F.relu(x)).backward()
    assert k.total == 2
    c = k.by_op["relu"]
    assert (c.count, c.elements, c.subdifferential, c.chosen) == (2, 4, "[0, 1]", "0")
    assert "relu" in str(k) and "[0, 1]" in k.report and "2 of 4" in k.report
    np.testing.assert_allclose(x.grad, [0.0, 1.0, 0.0, 0.0])   # the chosen subgradient: 0


def test_several_ops_and_passes_add_up():
    x = cr.tensor([0.0, 2.0, 5.0], requires_grad=True)
    y = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with cr.kinks() as k:
        cnp.sum(cnp.abs(x)).backward()                        # |0|
        cnp.sum(cnp.maximum(x, y)).backward()                 # tie at 2
        cnp.sum(cnp.clip(x, 0.0, 5.0)).backward()             # on both bounds
        cnp.sum(cnp.abs(x)).backward()                        # |0| again
    assert {n: c.count for n, c in k.by_op.items()} == {"abs": 2, "maximum": 1, "clip": 2}
    assert k.total == 5
    assert k.by_op["maximum"].where == "tied" and k.by_op["clip"].where == "on a bound"
    assert k.summary() == ("abs: 2 elements at 0; maximum: 1 element tied; "
                           "clip: 2 elements on a bound")


def test_no_kinks():
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    with cr.kinks() as k:
        cnp.sum(F.relu(x) + cnp.sin(x)).backward()
    assert k.total == 0 and k.by_op == {} and k.summary() == ""
    assert "no kinks" in str(k) and "2 elements" in str(k)
    with cr.kinks() as k2:
        cnp.sum(cnp.sin(x)).backward()
    assert "no piecewise" in k2.report


def test_hook_removed_after_block():
    before = list(core_backward._state.hooks)
    with cr.kinks():
        pass
    assert core_backward._state.hooks == before
    x = cr.tensor([0.0], requires_grad=True)
    k = KinkReport()                       # not entered: sees nothing
    cnp.sum(F.relu(x)).backward()
    assert k.total == 0


def test_broken_mask_never_breaks_backward():
    op = Primitive("weird", lambda x: x * 1.0)
    defvjp(op, lambda g, ans, x: g)
    op.kink = (lambda ans, x: 1 / 0, "?", "?")
    x = cr.tensor([1.0], requires_grad=True)
    with cr.kinks() as k:
        cnp.sum(op(x)).backward()
    assert k.total == 0 and x.grad is not None


def test_kinks_at_text():
    f = lambda a: cnp.sum(F.relu(a))                     # noqa: E731
    assert kinks_at(f, [np.array([0.0, 1.0, 0.0])]) == "relu: 2 elements at 0"
    assert kinks_at(f, [np.array([0.5, 1.0])]) == ""
    assert kinks_at(lambda a: cnp.abs(a), [0.0]) == "abs: 1 element at 0"   # non-scalar ok
    assert kinks_at(lambda a: a.nonexistent(), [1.0]) == ""                # f's error: not ours


def test_check_grad_warns_on_a_kink_only():
    f = lambda a: cnp.sum(cnp.abs(a) * a)                # noqa: E731  (differentiable at 0)
    with pytest.warns(UserWarning, match="abs: 1 element at 0"):
        cr.check_grad(f, np.array([0.0, 1.5]), order=1, raise_on_fail=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.check_grad(f, np.array([0.3, 1.5]), order=1)


def test_check_grad_at_a_kink_reports_inconclusive_instead_of_failing():
    with pytest.warns(UserWarning, match="relu: 1 element at 0"):
        report = cr.check_grad(F.relu, np.array([0.0, 1.0]), order=1)   # must not raise
    assert not report.passed and report.inconclusive and "kink" in str(report)
    assert report.kink == "relu: 1 element at 0"
