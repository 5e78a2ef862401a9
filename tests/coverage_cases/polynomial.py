"""Cases for the polynomial functions (coefficients highest power first)."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes  # noqa: F401


def _coeffs(draw, lo=1, hi=5):
    return floats(draw, (draw(st.integers(lo, hi)),))


@case("np.polyval")
def _polyval(draw):
    return cnp.polyval, (_coeffs(draw), floats(draw, draw(shapes(0, 2))))


@case("np.polyadd", "np.polysub", "np.polymul")
def _polybinary(draw):
    f = draw(st.sampled_from([cnp.polyadd, cnp.polysub, cnp.polymul]))
    return f, (_coeffs(draw), _coeffs(draw))


@case("np.polydiv")
def _polydiv(draw):
    u, v = _coeffs(draw, 1, 6), _coeffs(draw, 1, 3)
    v[0] = np.copysign(abs(v[0]) + 0.5, v[0])          # a leading coefficient away from 0
    return (lambda a, b: cnp.polydiv(a, b)), (u, v)


@case("np.polyder")
def _polyder(draw):
    m = draw(st.integers(0, 3))
    return (lambda p: cnp.polyder(p, m)), (_coeffs(draw),)


@case("np.polyint")
def _polyint(draw):
    m = draw(st.integers(0, 3))
    p = _coeffs(draw)
    if m and draw(st.booleans()):                      # constants of integration, differentiable
        k = floats(draw, draw(st.sampled_from([(), (1,), (m,)])))
        return (lambda a, c: cnp.polyint(a, m, c)), (p, k)
    return (lambda a: cnp.polyint(a, m)), (p,)


@case("np.poly")
def _poly(draw):
    if draw(st.booleans()):
        return cnp.poly, (_coeffs(draw, 1, 5),)             # from roots
    n = draw(st.integers(1, 4))
    return cnp.poly, (floats(draw, (n, n)),)               # characteristic polynomial


@case("np.polyfit")
def _polyfit(draw):
    n = draw(st.integers(4, 8))
    deg = draw(st.integers(0, min(3, n - 2)))     # cov=True needs more points than coefficients
    x = np.sort(floats(draw, (n,), -1.5, 1.5, gap=0.2))
    y = floats(draw, draw(st.sampled_from([(n,), (n, 2)])))
    w = positive(draw, (n,), 0.5, 2.0)
    style = draw(st.sampled_from(["plain", "w", "full", "cov", "unscaled"]))
    if style == "plain":
        return (lambda a, b: cnp.polyfit(a, b, deg)), (x, y)
    if style == "w":
        return (lambda a, b, c: cnp.polyfit(a, b, deg, w=c)), (x, y, w)
    if style == "full":
        return (lambda a, b: (lambda c, r, rank, s, rc: (c, r, s))(
            *cnp.polyfit(a, b, deg, full=True))), (x, y)
    cov = True if style == "cov" else "unscaled"
    return (lambda a, b, c: cnp.polyfit(a, b, deg, w=c, cov=cov)), (x, y, w)
