"""User mistakes end in an Expected/Actual/Fix message naming the operation, never a bare
traceback from deep inside the engine."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleError

a = cr.tensor(np.ones((2, 3)), requires_grad=True)


@pytest.mark.parametrize("make, op, fragments, exc", [
    (lambda: a + np.ones(4), "add", ["(2, 3)", "(4,)", "broadcast"], ValueError),
    (lambda: a * cr.tensor(np.ones((3, 2))), "multiply", ["(3, 2)", "broadcast"], ValueError),
    (lambda: a @ np.ones((2, 2)), "matmul", ["(2, 3)", "(2, 2)"], ValueError),
    (lambda: a[5], "getitem", ["out of bounds", "(2, 3)"], IndexError),
    (lambda: cnp.reshape(a, (4,)), "reshape", ["(2, 3)", "-1"], ValueError),
    (lambda: cnp.linalg.inv(cr.tensor(np.zeros((2, 2)))), "inv", ["ingular", "pinv"],
     np.linalg.LinAlgError),
])
def test_shape_and_value_mistakes_name_the_op_and_shapes(make, op, fragments, exc):
    with pytest.raises(exc) as e:
        make()
    assert isinstance(e.value, ChainruleError)
    msg = str(e.value)
    assert msg.startswith(op) and "Fix:" in msg
    for f in fragments:
        assert f in msg


def test_messages_have_expected_actual_fix_layout():
    err = ChainruleError("op", expected="E", actual="A", fix="F", message="went wrong")
    assert str(err).splitlines() == ["op: went wrong", "  Expected: E", "  Actual:   A",
                                     "  Fix:      F"]


def test_object_data_is_refused_clearly():
    with pytest.raises(ChainruleError, match="numeric"):
        cr.Tensor([object()])
