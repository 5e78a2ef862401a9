"""Cases for the shape family."""
from ._api import case, floats, positive, shapes  # noqa: F401

# implemented before the coverage table existed; still to get cases here (may only shrink)
BACKLOG = set("""
    np.atleast_1d np.atleast_2d np.atleast_3d np.broadcast_to np.diag np.diagonal
    np.expand_dims np.flip np.fliplr np.flipud np.moveaxis np.ravel np.repeat np.reshape
    np.roll np.rot90 np.squeeze np.swapaxes np.tile np.transpose np.tril np.triu np.take
    np.take_along_axis np.astype
""".split())
