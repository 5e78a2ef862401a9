"""chainrule: exact gradients of NumPy code by the chain rule.

    import chainrule as cr
    import chainrule.numpy as cnp

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = cnp.sum(x ** 2)
    loss.backward()          # seeds d loss / d loss = 1 and applies the chain rule
    x.grad                   # array([2., 4., 6.])

    cr.grad(lambda w: cnp.sum(w ** 2))(np.ones(3))   # JAX style: array([2., 2., 2.])
"""
from .core import tensor as _tensor_module
from .core.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .core.errors import (ChainruleError, ChainruleRuntimeError, ChainruleTypeError, ChainruleWarning,
                          TensorConversionError)
from .core.state import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                         no_grad, set_grad_enabled)
from .core.tensor import Tensor, tensor
from .core.transforms import (elementwise_grad, grad, jvp, linearize, stop_gradient, value_and_grad,
                              vjp)
from .core.jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .core.vmap import vmap
from .core.pytree import ravel_pytree, tree_map
from .core.checkpoint import checkpoint, remat
from . import numpy  # noqa: F401  (registers the differentiable NumPy namespace)
from . import functional  # noqa: F401
from .core.custom import custom_jvp, custom_vjp
from .explain.check import check_grad

_tensor_module._install_methods()

__version__ = "0.1.0"

# Heavier parts load on first use, so `import chainrule` stays quick.
_SUBMODULES = ("nn", "optim", "losses", "data", "models", "training", "explain", "autograd",
               "compile")      # cr.compile(fn): the module is callable (chainrule/compile)
_EXPLAIN = ("trace", "tracing", "graph", "kinks", "taylor_step", "explain_html", "exercise")


def __getattr__(name):
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "jit":               # JAX's name for cr.compile
        return importlib.import_module(f"{__name__}.compile")
    if name in _EXPLAIN:
        return getattr(importlib.import_module(f"{__name__}.explain"), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = ["Tensor", "tensor", "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev",
           "jacfwd", "hessian", "hvp", "vmap", "elementwise_grad", "linearize", "stop_gradient",
           "ravel_pytree", "tree_map", "jit", "checkpoint", "remat", "no_grad", "set_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "ChainruleRuntimeError", "autograd", "enable_grad", "is_grad_enabled",
           "custom_vjp", "custom_jvp", "check_grad", "ChainruleError", "ChainruleTypeError",
           "ChainruleWarning", "TensorConversionError", "AnomalyError", "detect_anomaly",
           "is_anomaly_enabled", "compile",
           "numpy", "functional", "__version__"]
