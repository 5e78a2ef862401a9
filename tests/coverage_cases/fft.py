"""Cases for numpy.fft: shapes, axes, lengths (cropping and zero-padding) and every norm drawn
by Hypothesis; real and complex inputs (complex ones are checked along real and imaginary
directions)."""
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, shapes
from .complex_numbers import complexes

NORMS = st.sampled_from([None, "backward", "ortho", "forward"])


def _point(draw, shape, real):
    return floats(draw, shape) if real else complexes(draw, shape, 0.3, 1.5, 3)


@case("np.fft.fft", "np.fft.ifft", "np.fft.rfft", "np.fft.irfft", "np.fft.hfft", "np.fft.ihfft")
def _one_axis(draw, names=("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")):
    name = draw(st.sampled_from(names))
    shape = draw(shapes(max_side=5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = draw(st.one_of(st.none(), st.integers(1, 7)))
    if name in ("irfft", "hfft") and n is None and shape[axis] < 2:
        n = 3                           # the default length 2(m-1) would be 0
    real = name in ("rfft", "ihfft") or draw(st.booleans()) and name not in ("irfft", "hfft")
    x = _point(draw, shape, real)
    norm = draw(NORMS)
    f = getattr(cnp.fft, name)
    return (lambda a: f(a, n, axis, norm)), (x,)


def _many(names, default_axes):
    @case(*(f"np.fft.{n}" for n in names))
    def build(draw):
        name = draw(st.sampled_from(names))
        shape = draw(shapes(min_dims=2 if default_axes else 1, max_dims=3, max_side=4))
        nd = len(shape)
        if default_axes:
            axes = (-2, -1)
        else:
            axes = tuple(draw(st.permutations(range(nd)))[:draw(st.integers(1, nd))])
            if draw(st.booleans()):
                axes = tuple(a - nd for a in axes)                  # negative axes
        s = None if draw(st.booleans()) else tuple(draw(st.integers(1, 5)) for _ in axes)
        inverse_real = name.startswith("irfft")
        if inverse_real and s is None and shape[axes[-1]] < 2:
            s = tuple(shape[a] for a in axes[:-1]) + (3,)
        real = name.startswith("rfft") or draw(st.booleans()) and not inverse_real
        x = _point(draw, shape, real)
        norm = draw(NORMS)
        f = getattr(cnp.fft, name)
        if default_axes and draw(st.booleans()):
            return (lambda a: f(a, s, norm=norm)), (x,)
        return (lambda a: f(a, s, axes, norm)), (x,)


_many(("fftn", "ifftn", "rfftn", "irfftn"), default_axes=False)
_many(("fft2", "ifft2", "rfft2", "irfft2"), default_axes=True)


@case("np.fft.fftshift", "np.fft.ifftshift")
def _shift(draw):
    shape = draw(shapes(max_side=5))
    axes = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.permutations(range(len(shape))).map(tuple)))
    f = getattr(cnp.fft, draw(st.sampled_from(["fftshift", "ifftshift"])))
    return (lambda a: f(a, axes)), (_point(draw, shape, draw(st.booleans())),)
