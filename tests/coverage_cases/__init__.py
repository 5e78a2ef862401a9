"""Finite-difference cases for every function docs/coverage.md marks differentiable.

Each module registers builders with ``@case("np.name", ...)``.  A builder gets
Hypothesis's ``draw`` and returns ``(f, args)``: a function of float64 arrays
built from the chainrule function, and a point away from kinks.  The coverage
test runs ``check_grad(f, *args, order=2, modes=("fwd", "rev"))`` on a few
drawn cases per function, so shapes, axes and keyword arguments are sampled
rather than enumerated.
"""
import importlib
import pkgutil

from ._api import CASES, case, floats, positive, shapes  # noqa: F401


def _modules():
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{__name__}.{info.name}")


def load():
    list(_modules())
    return CASES
