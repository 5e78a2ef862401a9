"""Parameter and Module: the bookkeeping that lets an optimizer find every weight.

A Module records the Parameters and sub-Modules assigned to its attributes, so
``model.parameters()`` can hand them all to an optimizer and ``state_dict()``
can save them under stable dotted names (``"layers.0.weight"``).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module owns and an optimizer updates (always requires grad)."""

    __slots__ = ()

    def __init__(self, data, dtype=None, requires_grad=True, name=None):
        arr = np.array(data.data if isinstance(data, Tensor) else data, dtype=dtype)
        if arr.dtype.kind not in "fc":
            arr = arr.astype(np.float64)   # integers cannot carry gradients
        super().__init__(arr, requires_grad=requires_grad, name=name)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (Parameter, (self.data, None, self.requires_grad, self.name))


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _count(params):
    return sum(int(p.data.size) for p in params)


class Module:
    """Base class of layers and models: subclass it, assign layers in __init__, write forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------- registration
    def _check_init(self, name):
        if "_parameters" not in self.__dict__:
            raise ChainruleError(
                type(self).__name__, message=f"cannot assign {name!r} before Module.__init__()",
                expected="super().__init__() as the first line of __init__",
                actual="an attribute assigned before the Module was set up",
                fix="call super().__init__() before creating layers or Parameters")

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)):
            self._check_init(name)
            for d in (self._parameters, self._buffers, self._modules):
                d.pop(name, None)
            self.__dict__.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
            return
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                if value is not None:
                    raise ChainruleError(
                        type(self).__name__, message=f"cannot replace Parameter {name!r}",
                        expected="a chainrule.nn.Parameter (or None)",
                        actual=f"{type(value).__name__}",
                        fix=f"wrap it: self.{name} = chainrule.nn.Parameter(value)")
                d["_parameters"][name] = None
                return
            if name in d["_buffers"]:
                d["_buffers"][name] = None if value is None else np.asarray(value)
                return
            d["_modules"].pop(name, None)
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        for reg in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(reg, {}):
                del self.__dict__[reg][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as bias=False)."""
        self._check_init(name)
        if param is not None and not isinstance(param, Parameter):
            raise ChainruleError("register_parameter", expected="a chainrule.nn.Parameter or None",
                                 actual=type(param).__name__,
                                 fix="wrap the array: chainrule.nn.Parameter(array)")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, array):
        """Non-trained state (running statistics...) that state_dict() saves with the weights."""
        self._check_init(name)
        self.__dict__.pop(name, None)
        self._buffers[name] = None if array is None else np.asarray(array)

    def add_module(self, name, module):
        self._check_init(name)
        if module is not None and not isinstance(module, Module):
            raise ChainruleError("add_module", expected="a chainrule.nn.Module",
                                 actual=type(module).__name__, fix="pass a Module instance")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # ------------------------------------------------------------- traversal
    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix=""):
        """This module and all below it, depth first, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs; a Parameter shared by two layers is listed once."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for pname, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix=""):
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def num_parameters(self, trainable_only=False):
        return _count(p for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        """Switch every sub-module to training mode (Dropout active); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Inference mode (Dropout becomes the identity); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.data)

    def requires_grad_(self, flag=True):
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn):
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    # -------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise ChainruleError(type(self).__name__, message="forward() is not defined",
                             expected="a subclass that defines forward(self, x)",
                             actual=f"{type(self).__name__} without forward",
                             fix="define def forward(self, x): ... in your Module subclass")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------- saving state
    def state_dict(self):
        """{dotted name: ndarray copy} of every parameter and buffer (safe to pickle or np.savez)."""
        out = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        out.update((n, np.array(b, copy=True)) for n, b in self.named_buffers())
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the existing parameters (in place, so optimizers keep working)."""
        own = OrderedDict(self.named_parameters())
        bufs = OrderedDict(self.named_buffers())
        keys = set(state_dict)
        missing = [k for k in list(own) + list(bufs) if k not in keys]
        unexpected = [k for k in state_dict if k not in own and k not in bufs]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ChainruleError(
                "load_state_dict", message="the saved state does not match this model",
                expected=f"exactly the keys {list(own) + list(bufs)}", actual="; ".join(parts),
                fix="build the model with the same layer sizes and names it was saved from, "
                    "or pass strict=False to load only the matching keys")
        for name, target in list(own.items()) + list(bufs.items()):
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            have = target.data.shape if isinstance(target, Tensor) else target.shape
            if value.shape != have:
                raise ChainruleError(
                    "load_state_dict", message=f"shape mismatch for {name!r}",
                    expected=f"shape {have} (this model's {name})", actual=f"shape {value.shape}",
                    fix="the checkpoint comes from a model with different layer sizes: build the "
                        "model with the sizes it was saved with")
        for name, p in own.items():
            if name in state_dict:
                v = state_dict[name]
                np.copyto(p.data, np.asarray(v.data if isinstance(v, Tensor) else v),
                          casting="unsafe")
        for name, b in bufs.items():
            if name in state_dict:
                np.copyto(b, np.asarray(state_dict[name]), casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        """One line of settings shown in repr, e.g. 'in_features=3, out_features=2'."""
        return ""

    def _repr_lines(self):
        own = _count(p for p in self._parameters.values() if p is not None)
        head = f"{type(self).__name__}({self.extra_repr()}"
        kids = list(self.named_children())
        if not kids:
            return [head + ")" + (f"  # {own:,} params" if own else "")]
        extra = self.extra_repr()
        lines = [f"{type(self).__name__}("] + (["  " + extra] if extra else [])
        for name, child in kids:
            sub = child._repr_lines()
            lines.append(f"  ({name}): {sub[0]}")
            lines.extend("  " + s for s in sub[1:])
        lines.append(")" + (f"  # {own:,} own params" if own else ""))
        return lines

    def __repr__(self):
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        lines = self._repr_lines()
        if not total or not self._modules:
            return "\n".join(lines)     # nothing to add up
        tail = f"Total parameters: {total:,}"
        if trainable != total:
            tail += f" (trainable: {trainable:,})"
        return "\n".join(lines + [tail])

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules)
                      | set(self._buffers))


class Sequential(Module):
    """Layers applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            if not isinstance(m, Module):
                raise ChainruleError("Sequential", expected="Module instances",
                                     actual=f"{type(m).__name__} at position {name}",
                                     fix="pass layer objects, e.g. Sequential(Linear(2, 3), "
                                         "ReLU()) (note the parentheses)")
            self.add_module(name, m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[i]


class Identity(Module):
    """Returns its input: a placeholder layer (e.g. 'no activation')."""

    def forward(self, x):
        return x
