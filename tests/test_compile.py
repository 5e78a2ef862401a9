"""chainrule.compile: results equal eager mode's on new inputs, guards re-trace, refusals name
the user's line, results belong to the caller, threads share a compiled function safely."""
import contextlib
import re
import threading
import warnings
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.compile import CheckError, TraceError

rng = np.random.default_rng(0)


def assert_same(a, b, rtol=1e-12):
    """Same structure, types and values (up to rounding) -- what 'returns what fn returns' means."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y, rtol)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k], rtol)
    elif isinstance(a, cr.Tensor):
        assert_same(a.data, b.data, rtol)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * (np.max(np.abs(b)) if b.size else 0))
    else:
        assert a == b


def mlp_loss(params, X, y):
    W1, b1, W2, b2 = params
    h = F.relu(X @ W1 + b1)
    return F.cross_entropy(h @ W2 + b2, y)


def mlp_params():
    return [rng.normal(size=(5, 7)), rng.normal(size=7), rng.normal(size=(7, 3)),
            rng.normal(size=3)]


# ------------------------------------------------------------------- results
def test_value_and_grad_on_new_inputs_equals_eager():
    vg = cr.value_and_grad(mlp_loss)
    fast = cr.compile(vg)
    for _ in range(4):                      # trace, checked run, then plain program runs
        params, X, y = mlp_params(), rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
        assert_same(fast(params, X, y), vg(params, X, y), rtol=1e-10)
    assert fast.stats["traces"] == 1 and fast.stats["hits"] >= 2


def test_labels_are_inputs_not_frozen():
    # the case that motivated refusing conversions: labels must not be frozen into the
    # program; cross_entropy builds its one-hot rows with a primitive, on every run
    vg = cr.grad(mlp_loss)
    fast = cr.compile(vg, check=0)
    params, X = mlp_params(), rng.normal(size=(6, 5))
    fast(params, X, np.array([0, 1, 2, 0, 1, 2]))
    y2 = np.array([2, 2, 0, 1, 1, 0])
    assert_same(fast(params, X, y2), vg(params, X, y2), rtol=1e-10)
    with pytest.raises(cr.ChainruleError, match="class label out of range"):
        fast(params, X, np.array([0, 1, 2, 0, 1, 3]))     # checked when the program runs


def test_raw_numpy_on_inputs_is_recorded():
    # NumPy's own functions, operators, methods and indexing on traced arrays are recorded
    def f(w, X, y):
        z = np.exp(X @ w) / 2 + X.sum(axis=1) ** 2
        picked = z[np.arange(len(y)), y] if z.ndim == 2 else z[y]
        return cnp.sum(picked * X.T[0] + X.mean())
    fast = cr.compile(cr.value_and_grad(f), check=0)
    w = rng.normal(size=4)
    fast(w, rng.normal(size=(5, 4)), rng.integers(0, 5, 5))
    X2, y2 = rng.normal(size=(5, 4)), rng.integers(0, 5, 5)
    assert_same(fast(w, X2, y2), cr.value_and_grad(f)(w, X2, y2))


def test_hvp_and_jvp_compiled():
    f = lambda x: cnp.sum(cnp.sin(x) * x ** 3)          # noqa: E731
    hv = cr.compile(lambda x, v: cr.hvp(f, (x,), (v,)))
    jv = cr.compile(lambda x, v: cr.jvp(cnp.tanh, (x,), (v,)))
    for _ in range(3):
        x, v = rng.normal(size=5), rng.normal(size=5)
        assert_same(hv(x, v), cr.hvp(f, (x,), (v,)))
        assert_same(jv(x, v), cr.jvp(cnp.tanh, (x,), (v,)))


@cr.custom_vjp
def _clip_gradient(x):
    return x


_clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1.0, 1.0),))


@cr.custom_jvp
def _log1pexp(x):
    return cnp.log1p(cnp.exp(x))


@_log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _log1pexp(x), t * F.sigmoid(x)


def _backward_inside(w0, X):
    w = cr.tensor(w0, requires_grad=True)
    loss = cnp.sum((X @ w) ** 2)
    loss.backward()
    return loss.data, w.grad


@pytest.mark.parametrize("make", [
    lambda: cr.jacobian(cr.grad(lambda x: cnp.sum(cnp.sin(x) * x ** 2))),
    lambda: cr.jacfwd(lambda x: cnp.tanh(x) * x),
    lambda: cr.hessian(lambda x: cnp.sum(cnp.exp(x) * x)),
    lambda: cr.grad(lambda x: cnp.sum(_clip_gradient(x * 3) ** 2)),
    lambda: cr.grad(lambda x: cnp.sum(_log1pexp(x) * x)),
], ids=["jacrev-of-grad", "jacfwd", "hessian", "custom_vjp", "custom_jvp"])
def test_transforms_and_custom_rules_compiled(make):
    g = make()
    fast = cr.compile(g)
    for _ in range(3):
        x = rng.normal(size=3)
        assert_same(fast(x), g(x))


def test_backward_and_grad_attributes_inside_the_function():
    fast = cr.compile(_backward_inside)
    for _ in range(3):
        w0, X = rng.normal(size=3), rng.normal(size=(4, 3))
        assert_same(fast(w0, X), _backward_inside(w0, X))


Point = namedtuple("Point", "value grad")


def test_returns_what_the_function_returns():
    def f(x, scale):
        g = cr.grad(lambda z: cnp.sum(z ** 2))(x)
        return {"pair": (cnp.sum(x), [g * scale]), "point": Point(cnp.max(x), g),
                "tensor": cr.tensor(x) * 2, "scalar": cnp.sum(x), "none": None, "text": "ok"}
    fast = cr.compile(f)
    for _ in range(3):
        x = rng.normal(size=4)
        assert_same(fast(x, 3.0), f(x, 3.0))


def test_source_shows_the_chain_rule_and_stats_count():
    fast = cr.compile(cr.grad(lambda x: cnp.sum(cnp.tanh(x))))
    assert fast.source is None and fast.stats["traces"] == 0
    fast(np.ones(3))
    src = fast.source
    assert "tanh(x0)" in src and "d tanh/d arg0" in src and "(3,) float64" in src
    assert re.search(r"test_compile\.py:\d+", src)          # the user's line of each op
    fast(np.ones(3))
    fast(np.ones(3))
    assert fast.stats["traces"] == 1 and fast.stats["hits"] == 2


# -------------------------------------------------------------- guards, cache
def test_new_shapes_dtypes_and_python_values_retrace():
    fast = cr.compile(lambda x, k: cnp.sum(x * k), check=0)
    fast(np.ones(3), 2.0)
    fast(np.ones(3), 2.0)
    assert fast.stats["traces"] == 1
    assert fast(np.ones(4), 2.0) == 8.0                      # shape
    assert fast(np.ones(4, np.float32), 2.0).dtype == np.float32   # dtype
    assert fast(np.ones(4), 3.0) == 12.0                     # a Python number is static
    assert fast.stats["traces"] == 4
    zero_d = cr.compile(lambda x, k: cnp.sum(x * k), check=0)
    for k in (1.0, 2.0, 3.0):                                # a 0-d array is an input
        assert zero_d(np.ones(3), np.asarray(k)) == 3 * k
    assert zero_d.stats["traces"] == 1


SCALE = 2.0


def test_globals_and_closures_read_by_the_trace_are_guarded():
    global SCALE
    fast = cr.compile(lambda x: cnp.sum(x) * SCALE, check=0)
    assert fast(np.ones(2)) == 4.0
    SCALE = 5.0
    try:
        assert fast(np.ones(2)) == 10.0
    finally:
        SCALE = 2.0
    assert fast.stats["traces"] == 2


def test_retrace_false_says_what_changed():
    fast = cr.compile(lambda x: cnp.sum(x), retrace=False)
    fast(np.ones(3))
    with pytest.raises(cr.ChainruleError, match=r"argument 0: shape \(3,\) float64 -> shape \(5,\)"):
        fast(np.ones(5))


def test_cache_is_bounded_and_says_why():
    fast = cr.compile(lambda x, k: x * k, max_traces=2, check=0)
    with pytest.warns(cr.ChainruleWarning, match="0-d array"):
        for k in range(4):
            fast(np.ones(2), float(k))
    s = fast.stats
    assert s["traces"] == 4 and s["cache_size"] == 2 and s["evictions"] == 2


# --------------------------------------------------------------------- refusals
def _refused(f, *args, match=None):
    with pytest.raises(TraceError) as info:
        cr.compile(f)(*args)
    text = str(info.value)
    assert "test_compile.py:" in text, text                 # names the user's line
    if match:
        assert re.search(match, text), text
    return text


def test_python_control_flow_on_traced_values_is_refused():
    def branch(x):
        s = cnp.sum(x)
        if s > 0:                                            # the line the error must name
            return s
        return -s
    text = _refused(branch, np.ones(2), match="bool")
    assert "if s > 0" in text
    _refused(lambda x: float(cnp.sum(x)), np.ones(2), match="float")
    _refused(lambda x: cnp.sum(x).item(), np.ones(2), match="item")
    _refused(lambda x: int(cnp.max(x)), np.ones(2), match="int")
    _refused(cr.grad(lambda x: cnp.sum(x) * float(cnp.sum(x))), np.ones(2), match="float")


def test_conversion_of_any_traced_value_is_refused():
    # also for Tensors that need no gradient: the labels of a loss
    _refused(lambda w, y: cnp.sum(w) + np.asarray(cr.tensor(y)).sum(), np.ones(2),
             np.arange(3), match="np.asarray")
    _refused(lambda x: cr.tensor(x).numpy(), np.ones(2), match="numpy")
    _refused(lambda x: np.allclose(x, 0.0), np.ones(3), match="np.allclose")


def test_a_traced_mask_is_refused():
    # the selection's shape would depend on the values: the program's shapes are fixed
    _refused(lambda x: cnp.sum(x[x > 0]), np.ones(3), match="mask")
    _refused(lambda x: cnp.where(x > 0), np.ones(3), match="np.nonzero")


def test_random_numbers_without_a_generator_argument_are_refused():
    _refused(lambda x: x + np.random.rand(2), np.ones(2), match="np.random.rand")
    _refused(lambda x: x * np.random.default_rng().normal(), np.ones(2), match="default_rng")
    g = np.random.default_rng(1)
    with pytest.raises(TraceError, match="drew random numbers"):
        cr.compile(lambda x: x + g.normal(size=2))(np.ones(2))


def test_a_generator_argument_draws_new_numbers_every_call():
    f = lambda x, g: x + g.normal(size=3)           # noqa: E731
    fast = cr.compile(f)
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):
        assert_same(fast(np.ones(3), a), f(np.ones(3), b))


def test_in_place_writes_to_inputs_are_refused():
    def write(x):
        x[0] = 5.0
        return x
    def iadd(x):
        x += 1
        return x
    assert "x[0] = 5.0" in _refused(write, np.ones(2), match="writes into an input")
    assert "x += 1" in _refused(iadd, np.ones(2), match="writes into an input")
    x = np.ones(2)
    cr.compile(lambda y: y * 2)(x)
    x[0] = 3.0                                   # the caller's array was never made read-only


def test_assignment_into_a_copy_is_recorded():
    def f(x, mask):
        y = x.copy()
        y[mask > 0] = 0.0
        return y * 2
    fast = cr.compile(f)
    for _ in range(3):
        x, m = rng.normal(size=5), rng.integers(0, 2, 5)
        assert_same(fast(x, m), f(x, m))


def test_fallback_eager_warns_once_and_computes_eagerly():
    def branch(x):
        return x * 2 if cnp.sum(x) > 0 else x * 3
    fast = cr.compile(branch, fallback="eager")
    with pytest.warns(cr.ChainruleWarning, match="runs eagerly"):
        assert_same(fast(np.ones(2)), np.full(2, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(fast(-np.ones(2)), np.full(2, -3.0))
    assert fast.stats["eager_calls"] == 2 and fast.stats["traces"] == 0


def test_check_names_the_first_value_that_differs():
    def leaky(x):
        m = np.asarray(x).mean()          # a plain copy: the trace cannot see through it
        return cnp.sum(cnp.tanh(x) * m)
    fast = cr.compile(leaky, check=1)
    # the trace's own probe (the arguments moved and scaled) finds it, at the first call
    with pytest.raises(CheckError, match=r"first value that differs is node v\d+ \(multiply"):
        fast(np.arange(4.0))


# ------------------------------------------------------------ ownership
def test_results_belong_to_the_caller():
    def f(x, y):
        g = cr.grad(lambda a, b: cnp.sum(a + b), argnums=(0, 1))(x, y)
        return x, x.T, g[0], g[1], np.ones(2), cnp.sum(x), cnp.reshape(x, (-1,))
    fast = cr.compile(f, check=0)
    x, y = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    for call in range(3):
        out = fast(x, y)
        arrays = [o for o in out if isinstance(o, np.ndarray)]
        for i, a in enumerate(arrays):
            assert a.flags.writeable
            assert not np.shares_memory(a, x) and not np.shares_memory(a, y)
            for b in arrays[i + 1:]:
                assert not np.shares_memory(a, b)
        for a in arrays:
            a[...] = -99.0                      # the caller may write: the next call is unaffected
        assert_same(fast(x, y), f(x, y))
    np.testing.assert_array_equal(x, x)        # and the inputs were never written


# --------------------------------------------------------------------- threads
def test_two_threads_share_a_compiled_function():
    vg = cr.value_and_grad(mlp_loss)
    fast = cr.compile(vg)
    cases = []
    for k in range(8):
        params, X, y = mlp_params(), rng.normal(size=(6 + k % 2, 5)), rng.integers(0, 3, 6 + k % 2)
        cases.append(((params, X, y), vg(params, X, y)))
    errors = []

    def work(offset):
        try:
            for i in range(60):
                args, expected = cases[(i + offset) % len(cases)]
                assert_same(fast(*args), expected, rtol=1e-10)
        except BaseException as e:      # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert fast.stats["traces"] == 2           # one per batch shape, traced once each


def test_threads_tracing_different_functions_at_once():
    # the call hook, the random-draw guards and the paused collector are shared by all
    # threads: each thread records only its own calls, and eager work elsewhere is unaffected
    errors, barrier = [], threading.Barrier(3)

    def trace_many(k):
        try:
            barrier.wait()
            for i in range(15):
                f = cr.value_and_grad(lambda x: cnp.sum(cnp.sin(x) * (k + 1) + x ** 2))
                x = rng.normal(size=3 + i % 3)
                assert_same(cr.compile(f)(x), f(x))
        except BaseException as e:      # noqa: BLE001
            errors.append(e)

    def eager_meanwhile():
        try:
            barrier.wait()
            for _ in range(200):
                x = cr.tensor(rng.normal(size=4), requires_grad=True)
                cnp.sum(x ** 3).backward()
                np.testing.assert_allclose(x.grad, 3 * x.data ** 2)
                np.random.rand(2)              # not refused: this thread is not tracing
        except BaseException as e:      # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=trace_many, args=(0,)),
               threading.Thread(target=trace_many, args=(1,)),
               threading.Thread(target=eager_meanwhile)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


# ------------------------------------------------------------------ integrations
def test_nested_compiled_functions_are_inlined():
    inner = cr.compile(lambda x: cnp.sin(x) * 2)
    outer = cr.compile(cr.grad(lambda x: cnp.sum(inner(x) ** 2)))
    for _ in range(3):
        x = rng.normal(size=3)
        assert_same(outer(x), cr.grad(lambda x: cnp.sum((cnp.sin(x) * 2) ** 2))(x))


def test_anomaly_mode_runs_eagerly():
    fast = cr.compile(cr.grad(lambda x: cnp.sum(cnp.log(x))))
    fast(np.ones(2))
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError):
        fast(np.zeros(2))


def test_a_models_parameters_must_be_passed_as_arrays():
    from chainrule import nn
    model = nn.Linear(3, 2)

    def via_closure(x):
        return cnp.sum(model(x))

    def as_argument(m, x):
        return cnp.sum(m(x))
    _refused(via_closure, np.ones((1, 3)), match="comes from outside")
    with pytest.raises(TraceError, match="comes from outside"):
        cr.compile(as_argument)(model, np.ones((1, 3)))


def test_differentiating_through_a_compiled_function_runs_it_eagerly():
    fast = cr.compile(lambda x: cnp.sin(x) * 2)
    x = rng.normal(size=3)
    with pytest.warns(cr.ChainruleWarning, match="argument 0 is a Tensor that needs a gradient"):
        g = cr.grad(lambda z: cnp.sum(fast(z)))(x)
    assert_same(g, 2 * np.cos(x))


def test_fit_compiled_equals_eager():
    from chainrule import nn, training
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    results = []
    for compiled in (False, True):
        model = nn.MLP([4, 8, 3], seed=0)
        h = training.fit(model, (X, y), epochs=2, batch_size=16, progress=False,
                         compile=compiled)
        results.append(([p.data.copy() for p in model.parameters()], h))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_fit_compiled_with_dropout_runs_eagerly():
    from chainrule import nn, training
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    model = nn.MLP([4, 8, 3], seed=0, dropout=0.5)
    with pytest.warns(cr.ChainruleWarning, match="random numbers"):
        training.fit(model, (X, y), epochs=1, batch_size=10, progress=False, compile=True)


def test_chainrule_train_compile_equals_eager(tmp_path, capsys):
    from chainrule.cli.main import main
    y = np.arange(60) % 3
    X = np.array([[0, 0], [3, 3], [0, 3]])[y] + rng.normal(size=(60, 2))
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,kind\n" + "".join(f"{p:.4f},{q:.4f},{'xyz'[c]}\n"
                                          for (p, q), c in zip(X, y)))
    weights = []
    for flag in ([], ["--compile"]):
        out = tmp_path / ("c" if flag else "e")
        code = main(["train", "--data", str(csv), "--target", "kind", "--epochs", "2",
                     "--out", str(out), "--no-plot", "--no-progress", "--seed", "1"] + flag)
        assert code == 0, capsys.readouterr().err
        with np.load(out / "model.npz") as z:
            weights.append({k: z[k] for k in z.files if k.startswith("model")})
    assert weights[0].keys() == weights[1].keys() and weights[0]
    for k in weights[0]:
        np.testing.assert_allclose(weights[0][k], weights[1][k], rtol=1e-9, atol=1e-12)


def _fit_weights(model_fn, compile, epochs=2, **kw):
    from chainrule import training
    X, y = np.random.default_rng(7).normal(size=(50, 4)), np.arange(50) % 3
    model = model_fn()
    training.fit(model, (X, y), epochs=epochs, batch_size=16, progress=False, compile=compile,
                 **kw)
    return [p.data.copy() for p in model.parameters()]


def test_fit_compiles_chainrule_models_by_default():
    """The default compiles chainrule's own models: bit for bit what compile=True gives, and
    equal to eager training to rounding."""
    from chainrule import nn
    make = lambda: nn.MLP([4, 8, 3], seed=0)       # noqa: E731
    default, forced, eager = (_fit_weights(make, c) for c in (None, True, False))
    for a, b, c in zip(default, forced, eager):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-12)


def test_fit_trains_user_modules_eagerly_by_default(recwarn):
    """A user's Module may keep Python state in forward (a program would run it once): by
    default it trains eagerly, bit for bit like compile=False, and without a warning."""
    from chainrule import nn

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.MLP([4, 8, 3], seed=0)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return self.body(x)
    models = []

    def make():
        models.append(Counting())
        return models[-1]
    default, eager = _fit_weights(make, None), _fit_weights(make, False)
    for a, b in zip(default, eager):
        assert np.array_equal(a, b)
    assert models[0].calls == models[1].calls == 2 * 4      # every step ran forward
    assert not [w for w in recwarn if issubclass(w.category, cr.ChainruleWarning)]


def test_fit_with_dropout_by_default_runs_eagerly_without_a_warning(recwarn):
    from chainrule import nn
    w = _fit_weights(lambda: nn.MLP([4, 8, 3], seed=0, dropout=0.5), None)
    assert all(np.isfinite(a).all() for a in w)
    assert not [x for x in recwarn if issubclass(x.category, cr.ChainruleWarning)]


@pytest.mark.parametrize("compile", [None, True])
def test_fit_calls_tensor_hooks_on_every_step(compile):
    """A hook registered on a parameter sees every step's gradient, compiled or not."""
    from chainrule import nn
    seen = []
    models = []

    def make():
        m = nn.MLP([4, 8, 3], seed=0)
        next(iter(m.parameters())).register_hook(lambda g: seen.append(1) or g * 0.5)
        models.append(m)
        return m
    ctx = pytest.warns(cr.ChainruleWarning, match="tensor hook") if compile else \
        contextlib.nullcontext()
    with ctx:
        hooked = _fit_weights(make, compile)
    assert len(seen) == 2 * 4
    seen.clear()
    eager = _fit_weights(make, False)
    assert len(seen) == 2 * 4
    for a, b in zip(hooked, eager):
        assert np.array_equal(a, b)


def test_fit_compile_rejects_other_values():
    from chainrule import nn
    with pytest.raises(cr.ChainruleError, match="compile must be None, True or False"):
        _fit_weights(lambda: nn.MLP([4, 8, 3], seed=0), "yes")


@settings(max_examples=6, deadline=None)
@given(total=st.integers(2, 5), first=st.integers(1, 4), batch=st.sampled_from([7, 16, 50]))
def test_fit_compiled_resume_equals_an_uninterrupted_run(tmp_path_factory, total, first, batch):
    """Every step's values come from the program, also on the call that traces it, so a run
    resumed (tracing again) equals the uninterrupted compiled run bit for bit."""
    from chainrule import nn, training
    first = min(first, total - 1)
    X, y = np.random.default_rng(3).normal(size=(50, 4)), np.arange(50) % 3
    folder = tmp_path_factory.mktemp("run")
    straight = nn.MLP([4, 8, 3], seed=0)
    training.fit(straight, (X, y), epochs=total, batch_size=batch, progress=False)
    part = nn.MLP([4, 8, 3], seed=0)
    training.fit(part, (X, y), epochs=first, batch_size=batch, progress=False,
                 checkpoint_dir=folder)
    resumed = nn.MLP([4, 8, 3], seed=0)
    training.fit(resumed, (X, y), epochs=total, batch_size=batch, progress=False,
                 checkpoint_dir=folder, resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert np.array_equal(a.data, b.data)


_GLOBAL_ARRAY = np.arange(3.0)


class _Scaler:
    def __init__(self, a):
        self.a = a

    def __call__(self, x):
        return cnp.sum(x * self.a)


def _reaching(path, a):
    """A function that reads the array ``a`` besides its argument, by ``path``; a way to
    replace that array by another; and the array it reads."""
    global _GLOBAL_ARRAY
    if path == "closure":
        def f(x):
            return cnp.sum(x * held)
        held = a

        def rebind(new):
            nonlocal held
            held = new
        return f, rebind, a
    if path == "global":
        _GLOBAL_ARRAY = a

        def f(x):
            return cnp.sum(x * _GLOBAL_ARRAY)

        def rebind(new):
            global _GLOBAL_ARRAY
            _GLOBAL_ARRAY = new
        return f, rebind, a
    if path == "dict":
        box = {"a": a}
        return (lambda x: cnp.sum(x * box["a"])), (lambda new: box.__setitem__("a", new)), a
    if path == "object":
        s = _Scaler(a)
        return s, (lambda new: setattr(s, "a", new)), a
    if path == "numpy at trace time":              # NumPy's own result, folded into the trace
        box = {"a": a}
        return (lambda x: cnp.sum(x) * box["a"].sum()), \
            (lambda new: box.__setitem__("a", new)), a
    t = cr.tensor(a)                               # a constant Tensor (it holds a copy)
    return (lambda x: cnp.sum(x * t)), (lambda new: setattr(t, "data", new)), t.data


@settings(max_examples=30, deadline=None)
@given(path=st.sampled_from(["closure", "global", "dict", "object", "numpy at trace time",
                             "constant Tensor"]),
       n=st.sampled_from([3, 5000]), calls=st.integers(1, 3))
def test_compiled_programs_never_use_a_stale_outside_array(path, n, calls):
    """An array the function reads besides its arguments cannot change under a program:
    writes into it are refused while the program lives, and an array put in its place
    traces again. Either way no call returns a value frozen at the trace."""
    f, rebind, a = _reaching(path, np.linspace(0.5, 1.5, n))
    fast = cr.compile(f)
    x = np.linspace(-1, 1, n)
    for _ in range(calls):
        np.testing.assert_allclose(float(np.asarray(getattr(fast(x), "data", fast(x)))),
                                   float(np.asarray(getattr(f(x), "data", f(x)))), rtol=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 7.0
    new = np.linspace(2.0, 3.0, n)
    rebind(new)
    got = fast(x)
    want = f(x)
    np.testing.assert_allclose(float(np.asarray(getattr(got, "data", got))),
                               float(np.asarray(getattr(want, "data", want))), rtol=1e-12)
    del fast
    import gc
    gc.collect()
    a[0] = 7.0                                    # writeable again once the program is gone


@settings(max_examples=10, deadline=None)
@given(batch=st.integers(1, 6), axis=st.sampled_from([0, 1]))
def test_vmap_of_a_compiled_function_runs_it_eagerly_and_right(batch, axis):
    """vmap of jit works in JAX: here the compiled function sees vmap's batched values, runs
    them eagerly with one warning saying to compile the vmapped function, and is right."""
    f = lambda w, x: cnp.sum(cnp.tanh(x @ w) ** 2)          # noqa: E731
    r = np.random.default_rng(batch)
    w, X = r.normal(size=3), r.normal(size=(batch, 3))
    Xa = X if axis == 0 else X.T
    want = np.stack([cr.grad(f)(w, X[i]) for i in range(batch)])
    with pytest.warns(cr.ChainruleWarning, match=r"batched by vmap.*cr.compile\(cr.vmap"):
        got = cr.vmap(cr.compile(cr.grad(f)), in_axes=(None, axis))(w, Xa)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got2 = cr.compile(cr.vmap(cr.grad(f), in_axes=(None, axis)))(w, Xa)
    np.testing.assert_allclose(got2, want, rtol=1e-12)


_VALUE_DEPENDENT = {
    "percentile lower": lambda x: cnp.percentile(x, 40.0, method="lower"),
    "quantile nearest": lambda x: cnp.quantile(x, 0.3, method="nearest"),
    "quantile inverted_cdf": lambda x: cnp.quantile(x, 0.6, method="inverted_cdf"),
    "unique": lambda x: cnp.unique(cnp.round(x)),
    "union1d": lambda x: cnp.union1d(cnp.round(x), np.array([0.0, 1.0])),
    "intersect1d": lambda x: cnp.intersect1d(cnp.round(x), np.array([0.0, 1.0])),
    "setdiff1d": lambda x: cnp.setdiff1d(cnp.round(x), np.array([0.0, 1.0])),
    "compress": lambda x: cnp.compress(x > 0, x),
    "repeat": lambda x: cnp.repeat(x, cnp.astype(x > 0, np.int64) + 1),
    "bincount": lambda x: cnp.bincount(cnp.astype(cnp.abs(cnp.round(x)), np.int64)),
    "piecewise": lambda x: cnp.piecewise(x, [x < 0, x >= 0], [lambda v: 2 * v, lambda v: v ** 2]),
    "jacfwd sort": cr.jacfwd(cnp.sort),
    "jacfwd argsort pick": cr.jacfwd(lambda x: cnp.take_along_axis(x, cnp.argsort(x), 0)),
    "jacfwd reversed sort": cr.jacfwd(lambda x: cnp.sort(x)[::-1]),
    "sort": cnp.sort,
    "grad of max": cr.grad(lambda x: cnp.max(x) ** 2),
}


@pytest.mark.parametrize("name", sorted(_VALUE_DEPENDENT))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(2, 7))
def test_value_dependent_work_is_refused_or_right_never_frozen(name, seed, n):
    """Functions whose work depends on the values (picks, orders, shapes) either refuse to
    compile, or the program gives eager mode's result on every later input."""
    f = _VALUE_DEPENDENT[name]
    fast = cr.compile(f)
    r = np.random.default_rng(seed)
    for _ in range(5):
        x = r.normal(size=n) * 2
        try:
            want = f(x)
        except cr.ChainruleError:
            continue
        try:
            got = fast(x)
        except (TraceError, CheckError):
            return                               # refused, loudly: eager mode is the answer
        got, want = (np.asarray(getattr(v, "data", v)) for v in (got, want))
        assert got.shape == want.shape and np.allclose(got, want, equal_nan=True), (got, want)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_nan_and_inf_outputs_agree_with_eager_in_the_checks(backend):
    """The checks compare NaN with NaN and inf with inf as equal (a NaN sets no scale)."""
    f = lambda x: cnp.maximum(x * 2.0, x - 1.0) + F.relu(x) * 3.0 + cnp.log(cnp.abs(x))  # noqa
    x = np.array([np.nan, -1.0, 2.0, 0.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = cr.compile(f, backend=backend)
        for _ in range(3):
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(fast(x), f(x))
