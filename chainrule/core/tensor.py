"""The Tensor: a NumPy array plus the record of how it was computed.

A Tensor is its own graph node (as in micrograd): ``_op`` is the primitive that
made it, ``_args`` the arguments it was called with (Tensors and constants),
``_raw`` the same arguments with Tensors replaced by their arrays (what the
fast, first-order backward pass hands to the rules), ``_kw`` its keyword
arguments, ``_parents`` the (argnum, Tensor) pairs that need gradients, and
``_seq`` a creation number (sorting by it is a topological order).  Leaves have ``_op is None``.  ``_fw`` holds forward-mode tangents,
one per active ``jvp`` level.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import state
from .errors import ChainruleError


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "_op", "_args", "_raw", "_kw", "_parents",
                 "_seq", "_fw", "_retain", "_guard", "_site", "name", "__weakref__")

    __array_priority__ = 1000  # so ndarray (op) Tensor defers to Tensor

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if getattr(type(data), "_chainrule_traced", False):   # chainrule.compile's array:
            arr = data if dtype is None else data.astype(dtype)   # it stays traced
        else:
            arr = np.array(data, dtype=dtype) if dtype is not None else np.asarray(data)
        if arr.dtype == object:
            raise ChainruleError(
                "tensor", expected="numeric data (numbers, arrays, nested lists of numbers)",
                actual=f"an object array built from {type(data).__name__}",
                fix="pass numbers or arrays; use chainrule.numpy.stack to combine Tensors")
        self.data = arr
        self.grad = None
        self.requires_grad = False
        self._op = None
        self._args = None
        self._raw = None
        self._kw = None
        self._parents = None   # [(argnum, Tensor)] of the arguments that need gradients
        self._seq = 0          # creation order: parents always have smaller numbers
        self._fw = None
        self._retain = False
        self._guard = None     # keeps the caller arrays this node saved read-only (core/saved.py)
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ flags
    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind not in "fc":
            raise ChainruleError(
                "requires_grad", expected="a floating-point Tensor",
                actual=f"dtype {self.data.dtype}",
                fix="create it with a float dtype, e.g. chainrule.tensor([1., 2.]) or "
                    "dtype='float64'; only floating-point values have gradients")
        if not flag and self._op is not None:
            raise ChainruleError(
                "requires_grad_", expected="a leaf Tensor", actual=f"the result of {self._op.name}",
                fix="use .detach() to get a Tensor outside the graph")
        self.requires_grad = bool(flag)
        return self

    @property
    def is_leaf(self):
        return self._op is None

    @property
    def grad_fn(self):
        return None if self._op is None else self._op.name

    def retain_grad(self):
        """Keep ``.grad`` on this intermediate after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise ChainruleError("retain_grad", expected="a Tensor that requires grad",
                                 actual="requires_grad=False",
                                 fix="only Tensors inside the graph have gradients")
        self._retain = True
        return self

    def zero_grad(self):
        self.grad = None

    def detach(self):
        return Tensor(self.data)

    # ------------------------------------------------------------ array facts
    shape = property(lambda self: self.data.shape)
    flags = property(lambda self: self.data.flags, doc="the array's flags (read them; NumPy "
                                                         "functions such as isfortran do)")
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def item(self):
        return self.data.item()

    def numpy(self):
        """The values as an ndarray; refused while gradients would be lost (as in PyTorch)."""
        if self.requires_grad or self._fw is not None or _traced(self):
            _refuse_conversion(self, "Tensor.numpy")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy calls this to turn a Tensor (or a list holding one) into a plain array: the
        # gradient would silently stop here, so a Tensor that needs one refuses (and one that
        # chainrule.compile is tracing: its value would be frozen into the program)
        if self.requires_grad or self._fw is not None or _traced(self):
            _refuse_conversion(self, None)
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def __dlpack__(self, *args, **kwargs):
        if self.requires_grad or self._fw is not None or _traced(self):
            _refuse_conversion(self, "Tensor.__dlpack__")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __buffer__(self, flags):           # Python ≥ 3.12: np.frombuffer, memoryview
        if self.requires_grad or self._fw is not None or _traced(self):
            _refuse_conversion(self, "Tensor.__buffer__")
        return memoryview(self.data)

    def __float__(self):
        # float(t), np.float64(t), math.exp(t): a number that forgets where it came from
        if self.requires_grad or self._fw is not None:
            _refuse_conversion(self, "float")
        return float(self.data)

    def __complex__(self):
        if self.requires_grad or self._fw is not None:
            _refuse_conversion(self, "complex")
        return complex(self.data)

    def __int__(self):
        return int(self.data)

    def __bool__(self):
        return bool(self.data)

    def __index__(self):
        return self.data.__index__()

    def __iter__(self):
        for i in range(len(self.data)):
            yield self[i]

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != np.float64 and self.data.dtype.kind == "f" or self.data.dtype.kind not in "f":
            extra += f", dtype={self.data.dtype}"
        if self._op is not None and self.requires_grad and self._op.name != "freed":
            extra += f", grad_fn={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- backward
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this Tensor, seeding it with ``gradient`` (1 for a scalar);
        ``inputs``: accumulate ``.grad`` only into these Tensors (as in PyTorch)."""
        from .backward import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def register_hook(self, fn):
        """Call ``fn(grad)`` with each gradient computed for this Tensor; a returned value
        replaces it.  Returns a handle whose ``remove()`` unregisters it (PyTorch's API)."""
        from .hooks import register_hook
        return register_hook(self, fn)


def tensor(data, dtype=None, requires_grad=False, name=None):
    """Make a Tensor from numbers, nested lists, arrays or Tensors (copied like ``torch.tensor``)."""
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        raise ChainruleError("tensor", expected="numbers or arrays", actual="a list containing Tensors",
                             fix="use chainrule.numpy.stack(list) or chainrule.numpy.array(list) "
                                 "to keep the Tensors' gradients")
    src = data.data if isinstance(data, Tensor) else data
    if getattr(type(src), "_chainrule_traced", False):     # chainrule.compile's array: the
        arr = src.copy() if dtype is None else src.astype(dtype)   # copy stays traced
    else:
        try:
            arr = np.array(src, dtype=dtype)
        except ValueError as e:
            if "inhomogeneous" not in str(e) and "sequence" not in str(e):
                raise
            raise ChainruleError("tensor", message="the nested lists are ragged",
                                 expected="rows of equal length (a rectangular array)",
                                 actual=str(e).splitlines()[0].split(". ", 1)[-1],
                                 fix="pad the rows to one length, or keep them as separate "
                                     "tensors") from None
    return Tensor(arr, requires_grad=requires_grad, name=name)


def _flat(seq):
    for s in seq:
        if isinstance(s, (list, tuple)):
            yield from _flat(s)
        else:
            yield s


def is_active(x):
    """True if ``x`` is a Tensor some derivative is being taken through."""
    return isinstance(x, Tensor) and (x.requires_grad or x._fw is not None)


def has_open_level(t):
    """Whether ``t`` carries a tangent of a jvp call still running in this thread."""
    if t._fw is None:
        return False
    levels = state.local.levels
    return any(j in levels for j in t._fw)


def needs_grad_now(t):
    """Whether turning ``t`` into plain values would lose a derivative being taken now
    (or freeze a value chainrule.compile is tracing into its program)."""
    if has_open_level(t):
        return True
    return t.requires_grad and state.grad_enabled.get() and \
        getattr(t._op, "name", None) != "freed" or _traced(t)   # freed: nothing left to lose


def _traced(t):
    """Whether chainrule.compile is recording ``t``'s value (its data is the tracer's array)."""
    return getattr(type(t.data), "_chainrule_traced", False)


def _numpy_caller():
    """The NumPy function the user called that is converting a Tensor, if any (for the message)."""
    import sys
    f, found = sys._getframe(2), None
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod == "numpy" or mod.startswith("numpy."):
            found = f"np.{f.f_code.co_name}"        # the outermost NumPy frame wins
        elif not mod.startswith("chainrule"):
            break
        f = f.f_back
    return found


def _refuse_conversion(t, op):
    if not needs_grad_now(t):
        return
    if _traced(t):                  # the tracer names the user's line (chainrule/compile)
        t.data._refuse(op or _numpy_caller() or "np.asarray")
    from .errors import TensorConversionError, describe
    op = op or _numpy_caller() or "np.asarray"
    name = op.rsplit(".", 1)[-1]
    why = "carries a forward-mode tangent (inside jvp)" if has_open_level(t) else "requires grad"
    if op == "Tensor.numpy":
        use = "use t.detach().numpy() for the values"
    elif op in ("float", "complex"):
        use = ("to log a value use t.item() (a plain number, on purpose); keep computing with "
               "the Tensor itself (or cnp.astype) where the result needs the gradient")
    else:
        use = (f"call the chainrule.numpy function (cnp.{name}) or build lists with "
               f"cnp.stack/cnp.array")
    raise TensorConversionError(
        op, message="a Tensor that needs gradients cannot become a plain NumPy array: the "
                    "derivative would silently stop there",
        expected="chainrule functions on Tensors, or plain arrays",
        actual=f"a Tensor of {describe(t.data)} that {why}",
        fix=f"{use} so the gradient flows; to use the value as a constant, pass t.detach() "
            f"(or t.data); for a Python number use t.item()")


# Leaves that require grad written in place (under no_grad), by id: when.  A graph recorded
# before such a write saved the old values; backward() compares (backward._check_unmodified),
# as PyTorch's version counters do.  An entry goes with its Tensor.
modified_in_place = {}


def _note_in_place(t):
    if t.requires_grad:
        from .primitive import _next_seq
        key = id(t)
        if key not in modified_in_place:
            weakref.finalize(t, modified_in_place.pop, key, None)
        modified_in_place[key] = _next_seq()


def decided_by_values(op, why, *xs):
    """Mark a step where chainrule's own code reads values to decide a result's shape or which
    entries it takes (``why``).  In eager mode that is exact, call by call; a compiled program
    would replay the trace's decision for every later input, so under ``chainrule.compile``
    a traced value here is refused, naming the user's line."""
    for x in xs:
        d = x.data if isinstance(x, Tensor) else x
        if getattr(d, "_chainrule_traced", False):
            d._refuse_decision(op, why)
        elif type(x) in (list, tuple):
            decided_by_values(op, why, *x)


state.Tensor = Tensor


# ------------------------------------------------------------------ methods
# Operators and methods delegate to chainrule.numpy, so Tensors behave like
# arrays and every operation is recorded.
def _install_methods():
    from .. import numpy as cnp
    from ..numpy import dispatch
    T = Tensor

    def binary(name, reflected=False):
        op = getattr(cnp, name)
        if reflected:
            return lambda self, other: op(other, self)
        return lambda self, other: op(self, other)

    for dunder, name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                         ("truediv", "divide"), ("pow", "power"), ("matmul", "matmul"),
                         ("mod", "mod"), ("floordiv", "floor_divide")]:
        setattr(T, f"__{dunder}__", binary(name))
        setattr(T, f"__r{dunder}__", binary(name, reflected=True))
    for dunder, name in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                         ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal"),
                         ("and", "logical_and"), ("or", "logical_or")]:
        setattr(T, f"__{dunder}__", binary(name))
    for dunder, name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                         ("truediv", "divide"), ("pow", "power"), ("mod", "mod"),
                         ("floordiv", "floor_divide")]:
        setattr(T, f"__i{dunder}__", _in_place(dunder, name, binary(name)))
    T.__neg__ = lambda self: cnp.negative(self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: cnp.abs(self)
    T.__invert__ = lambda self: cnp.logical_not(self)
    T.__getitem__ = lambda self, index: cnp.getitem(self, _plain_index(index))
    ufuncs = dispatch.UFUNCS

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        # ndarray (op) Tensor lands here: go straight to chainrule's primitive when we can
        if method == "__call__" and not kw:
            op = ufuncs.get(ufunc)
            if op is not None:
                return op(*inputs)
        return dispatch.array_ufunc(ufunc, method, inputs, kw)
    T.__array_ufunc__ = __array_ufunc__
    T.__array_function__ = lambda self, func, types, args, kw: dispatch.array_function(func, args, kw)
    T.T = property(lambda self: cnp.transpose(self))
    for name in METHODS:
        fn = getattr(cnp, name, None) if name not in NN_METHODS else None
        if fn is None and name in NN_METHODS:
            from .. import functional
            fn = getattr(functional, name, None)
        if fn is not None and name not in T.__dict__:
            setattr(T, name, _method(fn))
    T.reshape = lambda self, *shape: cnp.reshape(self, shape[0] if len(shape) == 1 else shape)
    T.transpose = lambda self, *axes: cnp.transpose(
        self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None)
    T.view = T.reshape
    T.astype = lambda self, dtype: cnp.astype(self, dtype)
    T.flatten = lambda self: cnp.reshape(self, (-1,))
    T.ravel = T.flatten
    T.mT = property(lambda self: cnp.swapaxes(self, -1, -2))
    # PyTorch's names where they mean exactly the NumPy operation (reductions keep NumPy's
    # axis=/keepdims= and ddof=0: PyTorch's dim= would differ in std/var and max/min)
    T.pow = lambda self, exponent: cnp.power(self, exponent)
    T.clamp = lambda self, min=None, max=None: cnp.clip(self, min, max)  # noqa: A002
    T.unsqueeze = lambda self, dim: cnp.expand_dims(self, dim)
    T.dim = lambda self: self.data.ndim
    T.numel = lambda self: self.data.size
    T.real = property(lambda self: cnp.real(self), doc="the real part (differentiable)")
    T.imag = property(lambda self: cnp.imag(self), doc="the imaginary part (differentiable)")


def _in_place(dunder, name, out_of_place):
    """``t op= other``.

    Outside the graph it writes into ``t.data``, as NumPy and PyTorch do: a parameter update
    under ``no_grad()`` (``w -= lr * w.grad``) keeps ``w`` the same leaf.  A leaf that requires
    grad, while recording, is refused, as in PyTorch.  A Tensor inside the graph (an
    intermediate, or a value meeting one) gets a new Tensor under the same name, as JAX arrays
    do: its gradient stays right, and what was recorded is never overwritten.
    """
    ufunc = getattr(np, name)

    def method(self, other):
        recording = state.grad_enabled.get()
        plain = type(self) is Tensor and type(self.data) is np.ndarray and self._fw is None
        if plain and self.requires_grad and self._op is None and recording:
            from .errors import ChainruleRuntimeError, describe
            raise ChainruleRuntimeError(
                f"Tensor.__i{dunder}__", message="a leaf Tensor that requires grad cannot be "
                "updated in place while gradients are recorded",
                expected="an update under no_grad(), or a new Tensor",
                actual=f"{describe(self.data)} leaf with requires_grad=True",
                fix="wrap parameter updates in `with chainrule.no_grad():` (w -= lr * w.grad), "
                    "or write w = w op value for a new Tensor in the graph")
        carries_tangent = isinstance(other, Tensor) and other._fw is not None
        if plain and not carries_tangent and (
                not recording or not (self.requires_grad or is_active(other))):
            value = other.data if isinstance(other, Tensor) else other
            try:
                ufunc(self.data, value, out=self.data)
                _note_in_place(self)
            except ValueError as e:
                if self.data.flags.writeable:
                    raise
                from .errors import ChainruleTypeError
                raise ChainruleTypeError(
                    f"Tensor.__i{dunder}__", message="these values are held read-only by a "
                    "recorded graph or a compiled program that still needs them",
                    expected="a Tensor nothing live has saved", actual=f"read-only data ({e})",
                    fix="call backward() (or drop the results that use it) first, or update "
                        "a copy: t = t.copy()") from None
            return self
        new = out_of_place(self, other)
        if isinstance(new, Tensor) and type(self) is Tensor:
            if new.shape != self.shape:         # as NumPy and PyTorch: the shape cannot change
                raise ValueError(f"non-broadcastable output operand with shape {self.shape} "
                                 f"doesn't match the broadcast shape {new.shape}")
            if new.dtype != self.dtype:         # nor the dtype (NumPy's same-kind cast)
                if not np.can_cast(new.dtype, self.dtype, "same_kind"):
                    raise TypeError(f"Cannot cast {name} output from {new.dtype} to "
                                    f"{self.dtype} with casting rule 'same_kind'")
                from .. import numpy as cnp
                new = cnp.astype(new, self.dtype)
            if self._retain:                    # the name keeps asking for its gradient
                new.retain_grad()
        return new
    method.__name__ = f"__i{dunder}__"
    return method


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


METHODS = ("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod", "argmax",
           "argmin", "all", "any", "squeeze", "swapaxes", "clip", "exp", "log", "sqrt", "abs",
           "sin", "cos", "tan", "tanh", "square", "dot", "round", "repeat", "trace",
           "diagonal", "conj", "conjugate", "sigmoid", "relu", "softmax", "log_softmax",
           "softplus", "leaky_relu", "logsumexp", "norm", "expand_dims", "sort", "argsort", "nonzero", "copy")
NN_METHODS = ("sigmoid", "relu", "softmax", "log_softmax", "softplus", "leaky_relu")


def _plain_index(index):
    """Indices are constants: unwrap any Tensor inside them (a batched index inside vmap
    stays, for the batching rule)."""
    if isinstance(index, Tensor):
        return index if hasattr(index, "_level") else index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) and not hasattr(i, "_level") else i
                     for i in index)
    if isinstance(index, list):
        return [i.data if isinstance(i, Tensor) and not hasattr(i, "_level") else i
                for i in index] if any(isinstance(i, Tensor) for i in index) else index
    return index


def __setitem__(self, index, value):
    from .errors import ChainruleTypeError
    recording = state.grad_enabled.get()

    def blocks(t):            # under no_grad a leaf may be written, as in PyTorch (no tangent)
        return isinstance(t, Tensor) and (t._fw is not None or (t.requires_grad and recording))
    if blocks(self) or blocks(value):
        which = "its value" if is_active(value) and not is_active(self) else "the Tensor"
        raise ChainruleTypeError(
            "Tensor.__setitem__", message="in-place assignment would corrupt recorded gradients",
            expected="a Tensor outside the graph, and a value that needs no gradient",
            actual=f"{which} requires grad or carries a forward-mode tangent",
            fix="build a new Tensor instead, e.g. cnp.where(mask, value, t) or "
                "cnp.concatenate([...]); assign into t.data under no_grad() for parameter updates")
    try:
        self.data[_plain_index(index)] = value.data if isinstance(value, Tensor) else value
        _note_in_place(self)
    except ValueError as e:
        if self.data.flags.writeable or isinstance(e, ChainruleError):
            raise
        raise ChainruleTypeError(
            "Tensor.__setitem__", message="these values are saved by a recorded operation that "
                                          "still needs them for backward",
            expected="a Tensor no live graph has saved", actual=f"read-only data ({e})",
            fix="call backward() (or drop the results that use it) first, or assign into a copy: "
                "t = t.copy()") from None


Tensor.__setitem__ = __setitem__
