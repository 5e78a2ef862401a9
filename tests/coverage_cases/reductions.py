"""Cases for the reductions family."""
from ._api import case, floats, positive, shapes  # noqa: F401

# implemented before the coverage table existed; still to get cases here (may only shrink)
BACKLOG = set("""
    np.amax np.amin np.max np.min np.mean np.prod np.std np.sum np.var np.cumprod np.cumsum
    np.trace np.sort
""".split())
