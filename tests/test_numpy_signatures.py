"""Every chainrule.numpy function accepts the parameter names NumPy's function of the same name
accepts, and what they mean is honoured (or refused clearly when it cannot be recorded).

The namespace is enumerated at run time, so a new function (or a new NumPy) cannot slip through.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.core.primitive import Primitive
from chainrule.numpy.signatures import required_positional

KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _pairs():
    for space, mine, prefix in ((np, cnp, ""), (np.linalg, cnp.linalg, "linalg.")):
        for name, fn in sorted(vars(mine).items()):
            ref = getattr(space, name, None)
            if name.startswith("_") or not callable(fn) or isinstance(fn, type) \
                    or ref is None or not callable(ref) or ref is fn:
                continue
            yield prefix + name, fn, ref


PAIRS = list(_pairs())


def _signature(f):
    try:
        return inspect.signature(f)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("name,fn,ref", PAIRS, ids=[p[0] for p in PAIRS])
def test_parameter_names_match_numpy(name, fn, ref):
    theirs, ours = _signature(ref), _signature(fn)
    assert theirs is not None and ours is not None, name
    accepted = {p.name for p in ours.parameters.values() if p.kind in KEYWORD}
    missing = [p.name for p in theirs.parameters.values()
               if p.kind in KEYWORD and p.name not in accepted]
    assert not missing, f"cnp.{name} does not accept NumPy's {missing}"
    # positions that NumPy lets you name must be the same positions here
    pos = lambda s: [p.name for p in s.parameters.values()  # noqa: E731
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for i, (t, o) in enumerate(zip(pos(theirs), pos(ours))):
        kind = theirs.parameters[t].kind
        assert kind is inspect.Parameter.POSITIONAL_ONLY or t == o, \
            f"cnp.{name}: position {i} is {o!r}, NumPy's is {t!r}"


# ---------------------------------------------- arrays passed by keyword are recorded
r = np.random.default_rng(0)
M, V, SPD = r.standard_normal((3, 3)), r.standard_normal(3), np.eye(3) * 2 + 0.1
KEYWORD_CALLS = {     # name: (positional arguments; the first is the one differentiated)
    "dot": (M, V), "kron": (M, V), "outer": (V, V), "tensordot": (M, M), "sum": (M,),
    "mean": (M,), "prod": (M,), "max": (M,), "min": (M,), "amax": (M,), "amin": (M,),
    "var": (M,), "std": (M,), "cumsum": (M,), "cumprod": (M,), "trace": (M,), "clip": (M,),
    "diagonal": (M,), "expand_dims": (M, 0), "squeeze": (M[None],), "swapaxes": (M, 0, 1),
    "transpose": (M,), "moveaxis": (M, 0, 1), "repeat": (M, 2), "roll": (M, 1), "flip": (M,),
    "tril": (M,), "triu": (M,), "tile": (M, 2), "nan_to_num": (M,), "rot90": (M,),
    "round": (M,), "around": (M,), "sinc": (M,), "real": (M,), "imag": (M * (1 + 1j),), "i0": (M,), "broadcast_to": (V, (2, 3)), "reshape": (M, (9,)),
    "linalg.norm": (M,), "linalg.det": (M,), "linalg.inv": (SPD,), "linalg.solve": (SPD, V),
    "argmax": None, "argmin": None, "all": None, "any": None, "count_nonzero": None,
    "argsort": None, "zeros_like": None, "ones_like": None,   # no gradient: nothing to record
}


def _function(name):
    space = cnp.linalg if name.startswith("linalg.") else cnp
    return getattr(space, name.split(".")[-1])


def test_every_primitive_taking_arrays_by_keyword_is_in_the_table():
    names = {n for n, fn, ref in PAIRS if isinstance(fn, Primitive) and
             not isinstance(ref, np.ufunc) and any(required_positional(ref))}
    assert names <= set(KEYWORD_CALLS), sorted(names - set(KEYWORD_CALLS))


@pytest.mark.parametrize("name", sorted(k for k, v in KEYWORD_CALLS.items() if v))
def test_arrays_passed_by_keyword_are_recorded(name):
    fn, ref = _function(name), getattr(np.linalg if "." in name else np, name.split(".")[-1])
    args = KEYWORD_CALLS[name]
    required = required_positional(ref) or (next(iter(inspect.signature(ref).parameters)),)
    lead = sum(1 for n in required if n is None)            # positional-only: stay positional
    named = {n: a for n, a in zip(required[lead:], args[lead:])}
    first = required[0]

    def by_position(x):
        return cnp.sum(fn(x, *args[1:]) * 1.5)

    def by_keyword(x):
        if first is None:
            return cnp.sum(fn(x, *args[1:lead], **named) * 1.5)
        return cnp.sum(fn(*args[len(named) + lead:], **{**named, first: x}) * 1.5)
    want = cr.grad(by_position)(args[0])
    assert np.any(want != 0) or name in ("round", "around")    # piecewise constant
    np.testing.assert_allclose(cr.grad(by_keyword)(args[0]), want)
    np.testing.assert_allclose(cr.jvp(by_keyword, (args[0],), (np.ones_like(args[0]),))[1],
                               cr.jvp(by_position, (args[0],), (np.ones_like(args[0]),))[1])
    np.testing.assert_allclose(np.asarray(fn(*args[:lead], **named, )
                                          if len(named) + lead == len(args) else
                                          fn(*args[:lead], *args[lead + len(named):], **named)),
                               ref(*args))


def test_numpy_itself_with_keyword_arrays_is_right_or_refuses():
    """np.dot(a=x, b=v) reaches chainrule through NumPy (it used to recurse forever): it
    either gives the right gradient or refuses with a chainrule error, never a wrong one."""
    x = cr.tensor(V, requires_grad=True)
    try:
        y = np.dot(a=x, b=V)
    except ChainruleError:
        return
    y.backward()
    np.testing.assert_allclose(x.grad, V)


# ------------------------------------------------------------------- ufunc keywords
UFUNC_OPS = sorted(n for n, fn, ref in PAIRS if isinstance(ref, np.ufunc) and
                   isinstance(fn, Primitive) and fn.differentiable)


def _ufunc_args(ref):
    base = [np.array([0.3, 0.6]), np.array([0.7, 0.4])]
    if ref is np.arccosh:
        base = [b + 1.0 for b in base]
    if ref is np.matmul:
        return [np.array([[0.3, 0.6], [0.1, 0.2]]), np.array([0.7, 0.4])]
    if ref is np.ldexp:                         # an integer exponent
        return [base[0], np.array([2, -1])]
    return base[:ref.nin]


@pytest.mark.parametrize("name", UFUNC_OPS)
def test_ufunc_keywords_reach_numpy_and_the_gradient_is_unchanged(name):
    fn, ref = _function(name), getattr(np, name)
    args = _ufunc_args(ref)
    options = dict(dtype=np.float64, casting="same_kind", order="K", subok=True, out=None,
                   where=True)
    if ref is np.matmul:
        del options["where"]                    # a gufunc: no where=
    plain = lambda *a: cnp.sum(fn(*a) * 1.5)                   # noqa: E731
    keyed = lambda *a: cnp.sum(fn(*a, **options) * 1.5)       # noqa: E731
    nums = tuple(k for k, a in enumerate(args) if a.dtype.kind == "f")
    for g, h in zip(cr.grad(plain, argnums=nums)(*args), cr.grad(keyed, argnums=nums)(*args)):
        np.testing.assert_allclose(g, h)
    if len(nums) == len(args):
        _, t1 = cr.jvp(plain, tuple(args), tuple(np.ones_like(a) for a in args))
        _, t2 = cr.jvp(keyed, tuple(args), tuple(np.ones_like(a) for a in args))
        np.testing.assert_allclose(t1, t2)
    np.testing.assert_array_equal(fn(*args, **options), ref(*args, **options))
    t = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in args]
    out = np.empty(np.shape(ref(*args)))
    with pytest.raises(cr.ChainruleTypeError, match="out="):
        fn(*t, out=out)
    if ref is not np.matmul:
        with pytest.raises(cr.ChainruleTypeError, match="where="):
            fn(*t, where=np.array([True, False]))


def test_float32_dtype_keyword_keeps_gradient_dtypes():
    x = cr.tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    y = cnp.exp(x, dtype=np.float64)
    assert y.dtype == np.float64
    cnp.sum(y).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, np.exp([0.5, 1.5]), rtol=1e-6)


# -------------------------------------------- reductions: where=, initial=, ddof/correction
@st.composite
def reduction_case(draw):
    name = draw(st.sampled_from(["sum", "mean", "prod", "max", "min", "amax", "amin", "var",
                                 "std"]))
    shape = draw(st.sampled_from([(4,), (3, 4), (2, 3, 4)]))
    axis = draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    x = np.where(np.abs(x) < 0.6, x + 0.2, x) + np.arange(x.size).reshape(shape) * 1e-3
    kw = {"keepdims": draw(st.booleans())}
    if draw(st.booleans()):
        mask = rng.random(shape) < 0.7
        first = [slice(None)] * len(shape)
        for ax in (range(len(shape)) if axis is None else [axis]):
            first[ax] = slice(0, 2)              # every slice keeps at least two entries
        mask[tuple(first)] = True
        kw["where"] = mask
    if name in ("sum", "prod", "max", "min", "amax", "amin") and draw(st.booleans()):
        kw["initial"] = {"sum": 0.7, "prod": 1.3}.get(name, -10.0 if "max" in name else 10.0)
    if name in ("max", "min", "amax", "amin") and "where" in kw and "initial" not in kw:
        kw["initial"] = -10.0 if "max" in name else 10.0   # NumPy needs it with where=
    if name in ("var", "std"):
        key = draw(st.sampled_from(["ddof", "correction", None]))
        if key:
            kw[key] = 1
    return name, x, axis, kw


@settings(max_examples=60, deadline=None)
@given(reduction_case())
def test_reduction_keywords_match_numpy_and_finite_differences(case):
    name, x, axis, kw = case
    fn, ref = getattr(cnp, name), getattr(np, name)
    np.testing.assert_allclose(fn(cr.tensor(x), axis=axis, **kw).data,
                               ref(x, axis=axis, **kw), rtol=1e-12)
    f = lambda a: fn(a, axis=axis, **kw) * 1.5     # noqa: E731
    cr.check_grad(f, x, order=2, modes=("fwd", "rev"))
    if "where" in kw:                               # masked-out entries take no gradient
        g = cr.grad(lambda a: cnp.sum(f(a)))(x)
        assert np.all(g[~kw["where"]] == 0)


def test_var_with_a_given_mean_and_constant_keywords():
    x = np.array([1.0, 2.0, 4.0])
    m = np.array(2.5)
    np.testing.assert_allclose(cnp.var(cr.tensor(x), mean=m).data, np.var(x, mean=m))
    cr.check_grad(lambda a: cnp.var(a, mean=m) + cnp.std(a, mean=m), x)
    t = cr.tensor(x, requires_grad=True)
    with pytest.raises(ChainruleError, match="initial= is a constant"):
        cnp.sum(t, initial=cr.tensor(1.0, requires_grad=True))
    with pytest.raises(ChainruleError, match="out="):
        cnp.sum(t, out=np.empty(()))


# ------------------------------------------------------- the other NumPy-only keywords
def test_remaining_numpy_keywords():
    x = np.array([3.0, 1.0, 2.0])
    t = cr.tensor(x, requires_grad=True)
    idx = np.array([0, 4, -5])
    for mode in ("wrap", "clip"):
        np.testing.assert_array_equal(cnp.take(t, idx, mode=mode).data, np.take(x, idx, mode=mode))
        g = cr.grad(lambda a: cnp.sum(cnp.take(a, idx, mode=mode) * np.array([1., 2., 3.])))(x)
        want = np.zeros(3)
        np.add.at(want, np.take(np.arange(3), idx, mode=mode), [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(g, want)
    np.testing.assert_array_equal(cnp.sort(t, stable=True).data, np.sort(x, stable=True))
    e = cnp.einsum("i,i", t, x, dtype=np.float32, out=None, order="K", casting="unsafe")
    assert e.dtype == np.float32
    assert cr.grad(lambda a: cnp.einsum("i,i", a, x, dtype=np.float64))(x).tolist() == x.tolist()
    np.testing.assert_allclose(cnp.linalg.multi_dot([t, x], out=None).data, x @ x)
    np.testing.assert_allclose(cnp.linalg.pinv(cr.tensor(M), rtol=1e-10).data,
                               np.linalg.pinv(M, rtol=1e-10))
    assert cnp.astype(t, np.float32, copy=False).dtype == np.float32
    assert cnp.asarray(t, copy=True) is not t
    assert cnp.array([t, t], order="C", subok=True).shape == (2, 3)
    assert cnp.broadcast_to(t, (2, 3), subok=True).shape == (2, 3)
    with pytest.raises(ChainruleError, match="like="):
        cnp.array([t], like=np.empty(1))
