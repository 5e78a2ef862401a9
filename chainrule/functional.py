"""Neural-network functions and the seeds' losses, differentiable (``chainrule.functional``)."""
from .ops.nn import *  # noqa: F401,F403
