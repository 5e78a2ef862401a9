"""Every public NumPy callable, applied to Tensors: the right derivative or a chainrule error.

The namespaces are enumerated at run time, so a new NumPy version cannot add a
function that silently drops gradients.  For each callable and each input
shape where NumPy itself accepts a plain array:

* on a Tensor that requires grad, it either raises a ChainruleError, or its
  values equal NumPy's and the gradient of a random weighting of its float
  outputs matches central finite differences (a result that silently became
  a constant fails here);
* on a Tensor that needs no gradient, it behaves like the array itself.
"""
import os
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.errors import ChainruleError

SPACES = (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft))

# touch files, global settings or the terminal: not array functions
SIDE_EFFECTS = {
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile",
    "fromregex", "memmap", "seterr", "seterrcall", "setbufsize", "set_printoptions",
    "set_string_function", "info", "show_config", "show_runtime", "test", "lookfor", "source",
    "who", "printoptions", "errstate", "disp", "get_include", "getbufsize", "geterr", "geterrcall",
    "get_printoptions", "byte_bounds", "deprecate", "deprecate_with_doc", "safe_eval",
    "add_docstring", "add_newdoc", "add_newdoc_ufunc", "_add_newdoc_ufunc",
}
# arguments besides the array for functions that need one (the array goes first)
EXTRA = {
    "percentile": (30.0,), "quantile": (0.3,), "nanpercentile": (30.0,), "nanquantile": (0.3,),
    "take": (np.array([0, 2, 2]),), "reshape": ((-1,),), "repeat": (2,), "tile": (2,),
    "roll": (1,), "rot90": (), "power": (2.0,), "float_power": (2.0,), "multiply": (1.5,),
    "add": (1.5,), "subtract": (1.5,), "divide": (1.5,), "true_divide": (1.5,),
    "maximum": (0.1,), "minimum": (0.1,), "fmax": (0.1,), "fmin": (0.1,), "arctan2": (0.7,),
    "hypot": (0.7,), "logaddexp": (0.7,), "logaddexp2": (0.7,), "copysign": (-1.0,),
    "ldexp": (np.array(2),), "nextafter": (5.0,), "heaviside": (0.5,), "dot": (),
    "matmul": (), "inner": (), "outer": (), "kron": (), "vdot": (), "cross": (),
    "tensordot": (), "polyval": (0.7,), "polyfit": (), "convolve": (), "correlate": (),
    "interp": (), "clip": (-1.0, 1.0), "expand_dims": (0,), "moveaxis": (0, -1),
    "swapaxes": (0, -1), "split": (1,), "array_split": (2,), "delete": (1,),
    "insert": (1, 0.5), "append": (np.array([0.5]),), "resize": ((4,),), "pad": (1,),
    "broadcast_to": (None,), "full_like": (), "trapezoid": (), "diff": (), "gradient": (),
    "partition": (1,), "argpartition": (1,), "around": (), "round": (), "histogram": (),
    "histogramdd": (3,),      # 10 bins put the centre of a one-point range on a bin edge
}
# what NumPy itself cannot hand to a Tensor: buffers (PEP 688 needs Python >= 3.12), and bmat,
# which returns None for anything that is not an ndarray, list or string
NUMPY_LIMITS = {"frombuffer": sys.version_info < (3, 12), "bmat": True}


def _callables():
    seen = set()
    for prefix, space in SPACES:
        for name in sorted(dir(space)):
            obj = getattr(space, name)
            if name.startswith("_") or not callable(obj) or name in SIDE_EFFECTS:
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{prefix}.{name}", name, obj


CALLABLES = list(_callables())
SHAPES = ((3,), (3, 3), ())
RNG = np.random.default_rng(7)
POINTS = {s: np.asarray(RNG.uniform(0.2, 0.9, s) * RNG.choice([-1, 1], s) + 0.05) for s in SHAPES}
UNINITIALISED = {"empty", "empty_like"}          # values are whatever memory held


def _args(name, x, shape):
    extra = EXTRA.get(name, ())
    if name == "broadcast_to":
        extra = ((2,) + shape,)
    if name in ("dot", "matmul", "inner", "outer", "kron", "vdot", "tensordot", "polyfit",
                "convolve", "correlate", "cross", "interp", "trapezoid"):
        other = POINTS[shape] * 0.5 + 0.3
        extra = (other,) if name not in ("polyfit", "interp") else \
            ((other, 1) if name == "polyfit" else (other, np.sort(other)))
    return (x,) + extra


def _leaves(r):
    if isinstance(r, (tuple, list)):
        out = []
        for v in r:
            out.extend(_leaves(v))
        return out
    return [r]


def _plain_value(v):
    return v.data if isinstance(v, cr.Tensor) else v


def _is_float_array(v):
    v = _plain_value(v)
    return isinstance(v, (np.ndarray, np.generic, float)) and np.asarray(v).dtype.kind == "f"


def _run(f, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return f(*args)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)             # nothing a call might write lands in the repository


@pytest.mark.parametrize("qualname,name,f", CALLABLES, ids=[c[0] for c in CALLABLES])
def test_numpy_callable_on_tensors(qualname, name, f):
    checked = 0
    for shape in SHAPES:
        x0 = POINTS[shape]
        try:
            expected = _run(f, _args(name, x0.copy(), shape))
        except Exception:
            continue                         # NumPy refuses this input: nothing to compare
        leaves = _leaves(expected)
        if not leaves or not all(isinstance(v, (np.ndarray, np.generic, int, float, bool, complex))
                                 for v in leaves):
            continue                         # not an array function (an object, an iterator...)
        checked += 1
        _inactive_tensor_behaves_like_the_array(f, name, shape, x0, leaves)
        _active_tensor_is_differentiated_or_refused(qualname, f, name, shape, x0, leaves)
    if checked == 0:
        pytest.skip(f"{qualname} accepts none of the sweep's inputs {SHAPES}")


def _inactive_tensor_behaves_like_the_array(f, name, shape, x0, leaves):
    t = cr.tensor(x0)
    try:
        out = _run(f, _args(name, t, shape))
        if out is None and NUMPY_LIMITS.get(name):
            return
        got = _leaves(out)
    except ChainruleError:
        return                               # e.g. a cnp function stricter than NumPy
    except TypeError as e:
        if NUMPY_LIMITS.get(name):
            return
        raise AssertionError(f"{name} on a constant Tensor raised {e!r}") from e
    assert len(got) == len(leaves)
    if name in UNINITIALISED:
        return
    for g, e in zip(got, leaves):
        g = _plain_value(g)
        if isinstance(e, np.ndarray) and e.dtype.kind in "fc":
            np.testing.assert_allclose(np.asarray(g, dtype=e.dtype), e, rtol=1e-10, atol=1e-12,
                                       equal_nan=True)


def _active_tensor_is_differentiated_or_refused(qualname, f, name, shape, x0, leaves):
    t = cr.tensor(x0, requires_grad=True)
    try:
        out = _run(f, _args(name, t, shape))
    except ChainruleError:
        return                               # a clear refusal is allowed
    except TypeError:
        if NUMPY_LIMITS.get(name):
            return
        raise
    if out is None and NUMPY_LIMITS.get(name):
        return
    got = _leaves(out)
    assert len(got) == len(leaves), qualname
    floats = [k for k, v in enumerate(leaves) if _is_float_array(v) and np.size(v)]
    if not floats or name in UNINITIALISED:
        return                               # integer/boolean results carry no derivative
    ws = [RNG.standard_normal(np.shape(leaves[k])) for k in floats]

    def loss_plain(z):
        r = _leaves(_run(f, _args(name, z, shape)))
        return sum(float(np.sum(np.asarray(r[k], dtype=float) * w)) for k, w in zip(floats, ws))

    def loss(z):
        r = _leaves(_run(f, _args(name, z, shape)))
        total = 0.0
        for k, w in zip(floats, ws):
            total = total + (r[k] * w).sum()
        return total if isinstance(total, cr.Tensor) else cr.tensor(float(total))

    for k in floats:
        np.testing.assert_allclose(np.asarray(_plain_value(got[k]), dtype=float),
                                   np.asarray(leaves[k], dtype=float), rtol=1e-10, atol=1e-12,
                                   equal_nan=True, err_msg=f"{qualname}: values differ")
    v = RNG.standard_normal(np.shape(x0))
    h = 1e-6
    numeric = (loss_plain(x0 + h * v) - loss_plain(x0 - h * v)) / (2 * h)
    if not np.isfinite(numeric):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            g = cr.grad(loss)(x0)
        except ChainruleError:
            return
    analytic = float(np.sum(np.asarray(g) * v))
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6), \
        f"{qualname} at shape {shape}: gradient {analytic} but finite differences {numeric}"


def test_the_sweep_covers_numpy():
    # the namespace really is enumerated (hundreds of callables, the linalg and fft ones too)
    names = {q for q, _, _ in CALLABLES}
    assert len(names) > 300 and "np.linalg.det" in names and "np.fft.fft" in names
    assert os.path.basename(__file__).startswith("test_")
