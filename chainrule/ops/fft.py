"""numpy.fft and its derivatives: every transform is linear, so the rules are transforms too.

Four primitives wrap NumPy's one-axis transforms, ``fft``, ``ifft``, ``rfft`` and
``irfft`` (n, axis, norm); everything else is composed from them as NumPy composes it
(``fftn`` is one-axis transforms, last axis first; ``hfft`` is ``irfft`` of the conjugate),
so values are NumPy's own and the derivatives exact.

With x cropped or zero-padded to n entries (``_resize``) and c the scale ``norm`` asks for,
``fft(x) = c·F·resize(x)``.  The DFT matrix F is symmetric, so the transpose (JAX's
convention, ops/complex.py) is the same transform of the cotangent, resized back:

    fft:    ḡ ↦ resize_L(fft(ḡ))                    (ifft alike)
    rfft:   ḡ ↦ Re resize_L(fft(zero-padded ḡ))     the kept half is the first n//2+1 entries
    irfft:  ḡ ↦ resize(w ∘ ifft(ḡ)[:n//2+1])        w = 1 at 0 and n/2, 2 between:

irfft reads only the real part of the 0 (and n/2) entry and counts every other entry of the
half spectrum twice (once for its conjugate partner), which is where w comes from.
"""
import operator

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _dtype, _shape, conj, defjvp, defvjp
from ..core.tensor import Tensor
from .complex import real
from .construction import _has_tensor, _nested_stack
from .padding import pad_linear
from .indexing import getitem
from .shape import roll

_ops = {}
_SWAP = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


# ------------------------------------------------------------------ helpers
def _along(axis, ndim, sl):
    return (slice(None),) * (axis % ndim) + (sl,)


def _resize(x, n, axis):
    """x cropped or zero-padded to n entries along ``axis`` (what a transform of length n
    does to its input); its own transpose is resizing back."""
    shape = _shape(x)
    length, nd = shape[axis], len(shape)
    if n == length:
        return x
    if n < length:
        return getitem(x, _along(axis, nd, slice(0, n)))
    widths = [(0, 0)] * nd
    widths[axis % nd] = (0, n - length)
    return pad_linear(x, tuple(widths), "constant")


def _half_weights(n, m, axis, ndim, dtype):
    """w along ``axis``: 1 for the 0 and n/2 entries of the half spectrum, 2 for the others."""
    w = np.full(m, 2.0, dtype=np.finfo(dtype).dtype)
    w[0] = 1.0
    if n % 2 == 0 and m > n // 2:
        w[n // 2] = 1.0
    shape = [1] * ndim
    shape[axis % ndim] = m
    return w.reshape(shape)


def _c2c_vjp(op):
    return lambda g, ans, x, n, axis, norm: _resize(op(g, n, axis, norm), _shape(x)[axis], axis)


def _rfft_vjp(g, ans, x, n, axis, norm):
    full = _fft(_resize(g, n, axis), n, axis, norm)
    return real(_resize(full, _shape(x)[axis], axis))


def _irfft_vjp(g, ans, x, n, axis, norm):
    m = n // 2 + 1
    nd = len(_shape(g))
    half = getitem(_ifft(g, n, axis, norm), _along(axis, nd, slice(0, m)))
    return _resize(half * _half_weights(n, m, axis, nd, _dtype(half)), _shape(x)[axis], axis)


# one-axis transforms (a, n, axis, norm), as NumPy's: the table of this family
_fft = Primitive("fft", np.fft.fft)
_ifft = Primitive("ifft", np.fft.ifft)
_rfft = Primitive("rfft", np.fft.rfft)
_irfft = Primitive("irfft", np.fft.irfft)
RULES = {
    _fft:   (_c2c_vjp(_fft), "fft of ḡ, cropped/padded back"),
    _ifft:  (_c2c_vjp(_ifft), "ifft of ḡ, cropped/padded back"),
    _rfft:  (_rfft_vjp, "Re fft of zero-padded ḡ"),
    _irfft: (_irfft_vjp, "w ∘ ifft(ḡ)[:n//2+1], w = 1, 2, …, 2, (1)"),
}
for _op, (_vjp, _formula) in RULES.items():
    defvjp(_op, _vjp, formulas={0: _formula})
    defjvp(_op, (lambda op: lambda t, ans, x, n, axis, norm: op(t, n, axis, norm))(_op))


# ---------------------------------------------------------- public functions
def _prepare(name, a, out):
    """``a`` as a Tensor (lists holding Tensors are stacked), or None for plain input."""
    if out is not None:
        raise ChainruleError(f"fft.{name}", message="out= cannot be recorded for gradients",
                             expected="out=None", actual="an output array",
                             fix=f"assign the result: y = cnp.fft.{name}(...)")
    if isinstance(a, Tensor):
        return a
    return _nested_stack(a) if _has_tensor(a) else None


def _numpy(np_fn, a, params, out):
    """NumPy's own transform on plain input (``out=`` only where given: NumPy 1 has none)."""
    return np_fn(a, *params) if out is None else np_fn(a, *params, out=out)


def _check_norm(norm):
    if norm not in _SWAP:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         f'"forward".')
    return norm


def _length(a, n, axis, default):
    if not -a.ndim <= axis < a.ndim:
        raise np.exceptions.AxisError(axis, a.ndim)
    n = default(a.shape[axis]) if n is None else operator.index(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return n


def _one_axis(name, np_fn, op, default=lambda m: m):
    def fn(a, n=None, axis=-1, norm=None, out=None):
        t = _prepare(name, a, out)
        if t is None:
            return _numpy(np_fn, a, (n, axis, norm), out)
        return op(t, _length(t, n, axis, default), axis, _check_norm(norm))
    fn.__name__ = name
    fn.__doc__ = np_fn.__doc__
    return fn


fft = _one_axis("fft", np.fft.fft, _fft)
ifft = _one_axis("ifft", np.fft.ifft, _ifft)
rfft = _one_axis("rfft", np.fft.rfft, _rfft)
irfft = _one_axis("irfft", np.fft.irfft, _irfft, default=lambda m: 2 * (m - 1))


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.hfft``: irfft of the conjugate, with the opposite scaling (as NumPy does it)."""
    t = _prepare("hfft", a, out)
    if t is None:
        return _numpy(np.fft.hfft, a, (n, axis, norm), out)
    n = _length(t, n, axis, lambda m: 2 * (m - 1))
    return _irfft(conj(t), n, axis, _SWAP[_check_norm(norm)])


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.ihfft``: the conjugate of rfft, with the opposite scaling."""
    t = _prepare("ihfft", a, out)
    if t is None:
        return _numpy(np.fft.ihfft, a, (n, axis, norm), out)
    n = _length(t, n, axis, lambda m: m)
    return conj(_rfft(t, n, axis, _SWAP[_check_norm(norm)]))


def _cook(a, s, axes, invreal=False):
    """(s, axes) as NumPy 2 reads them: -1 in s means the input's length."""
    shapeless = s is None
    if axes is None:
        axes = list(range(-len(s), 0)) if s is not None else list(range(a.ndim))
    axes = [operator.index(x) for x in axes]
    for x in axes:
        if not -a.ndim <= x < a.ndim:
            raise np.exceptions.AxisError(x, a.ndim)
    s = [a.shape[x] for x in axes] if s is None else list(s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and shapeless:
        s[-1] = (a.shape[axes[-1]] - 1) * 2
    s = [a.shape[x] if n is None or n == -1 else operator.index(n) for n, x in zip(s, axes)]
    for n in s:
        if n < 1:
            raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return s, axes


def _many_axes(name, np_fn, kind, default_axes=None):
    def fn(a, s=None, axes=default_axes, norm=None, out=None):
        t = _prepare(name, a, out)
        if t is None:
            return _numpy(np_fn, a, (s, axes, norm), out)
        norm = _check_norm(norm)
        s, axes = _cook(t, s, axes, invreal=kind == "irfft")
        if not axes and kind in ("fft", "ifft"):
            return t                          # NumPy transforms nothing, too
        if kind in ("fft", "ifft"):
            op = _fft if kind == "fft" else _ifft
            for n, x in reversed(list(zip(s, axes))):
                t = op(t, n, x, norm)
        elif kind == "rfft":
            t = _rfft(t, s[-1], axes[-1], norm)
            for n, x in reversed(list(zip(s[:-1], axes[:-1]))):
                t = _fft(t, n, x, norm)
        else:
            for n, x in zip(s[:-1], axes[:-1]):
                t = _ifft(t, n, x, norm)
            t = _irfft(t, s[-1], axes[-1], norm)
        return t
    fn.__name__ = name
    fn.__doc__ = np_fn.__doc__
    return fn


fftn = _many_axes("fftn", np.fft.fftn, "fft")
ifftn = _many_axes("ifftn", np.fft.ifftn, "ifft")
rfftn = _many_axes("rfftn", np.fft.rfftn, "rfft")
irfftn = _many_axes("irfftn", np.fft.irfftn, "irfft")
fft2 = _many_axes("fft2", np.fft.fft2, "fft", (-2, -1))
ifft2 = _many_axes("ifft2", np.fft.ifft2, "ifft", (-2, -1))
rfft2 = _many_axes("rfft2", np.fft.rfft2, "rfft", (-2, -1))
irfft2 = _many_axes("irfft2", np.fft.irfft2, "irfft", (-2, -1))


def _shift(name, np_fn, sign):
    def fn(x, axes=None):
        t = _prepare(name, x, None)
        if t is None:
            return np_fn(x, axes)
        if axes is None:
            axes = tuple(range(t.ndim))
        elif isinstance(axes, (int, np.integer)):
            axes = (axes,)
        shift = tuple(sign * (t.shape[ax] // 2) for ax in axes)
        return roll(t, shift, tuple(axes))
    fn.__name__ = name
    fn.__doc__ = np_fn.__doc__
    return fn


fftshift = _shift("fftshift", np.fft.fftshift, 1)
ifftshift = _shift("ifftshift", np.fft.ifftshift, -1)

_ops.update(fft=fft, ifft=ifft, rfft=rfft, irfft=irfft, hfft=hfft, ihfft=ihfft, fftn=fftn,
            ifftn=ifftn, rfftn=rfftn, irfftn=irfftn, fft2=fft2, ifft2=ifft2, rfft2=rfft2,
            irfft2=irfft2, fftshift=fftshift, ifftshift=ifftshift)
__all__ = sorted(_ops)
