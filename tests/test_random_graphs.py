"""Random computation graphs (fan-out, broadcasting, reuse of intermediates) against finite
differences: the engine, not one rule, is under test here."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

UNARY = [cnp.sin, cnp.tanh, lambda a: a * a, lambda a: cnp.exp(a * 0.3), lambda a: -a,
         lambda a: cnp.sum(a, axis=-1, keepdims=True), lambda a: a.T.T * 1.5]
BINARY = [cnp.add, cnp.subtract, cnp.multiply, lambda a, b: a / (1.5 + b * b)]


@st.composite
def programs(draw):
    """A list of steps; each reads earlier values by index, so values fan out and merge."""
    steps = []
    for n in range(draw(st.integers(2, 8))):
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(UNARY) - 1)),
                          draw(st.integers(0, n + 1))))
        else:
            steps.append(("b", draw(st.integers(0, len(BINARY) - 1)),
                          draw(st.integers(0, n + 1)), draw(st.integers(0, n + 1))))
    return steps


def run(steps, x, y):
    vals = [x, y]
    for step in steps:
        if step[0] == "u":
            vals.append(UNARY[step[1]](vals[step[2]]))
        else:
            vals.append(BINARY[step[1]](vals[step[2]], vals[step[3]]))
    return cnp.sum(vals[-1] * vals[-1]) + cnp.sum(vals[-2])


@settings(max_examples=60, deadline=None)
@given(steps=programs(), order=st.sampled_from([1, 1, 2]))
def test_random_programs_match_finite_differences(steps, order):
    rng = np.random.default_rng(len(steps))
    x = rng.uniform(-1, 1, (2, 3))
    y = rng.uniform(-1, 1, (3,))          # broadcasts against x
    cr.check_grad(lambda a, b: run(steps, a, b), x, y, order=order, rtol=1e-4, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(steps=programs())
def test_backward_and_grad_agree(steps):
    rng = np.random.default_rng(7)
    x0, y0 = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3,))
    x, y = cr.tensor(x0, requires_grad=True), cr.tensor(y0, requires_grad=True)
    run(steps, x, y).backward()
    gx, gy = cr.grad(lambda a, b: run(steps, a, b), argnums=(0, 1))(x0, y0)
    # an input the output never reached keeps .grad None (PyTorch); grad() gives zeros (JAX)
    for t, g in ((x, gx), (y, gy)):
        if t.grad is None:
            np.testing.assert_array_equal(g, np.zeros_like(g))
        else:
            np.testing.assert_allclose(t.grad, g, rtol=1e-12, atol=1e-12)
