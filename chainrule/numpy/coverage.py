"""What chainrule does with each public callable of numpy, numpy.linalg and numpy.fft.

``table()`` classifies every callable NumPy offers at the installed version:

* **differentiable**: chainrule.numpy has it, with reverse and forward rules
  (tests/test_coverage.py checks each one against finite differences in both modes);
* **not differentiable**: the result has no derivative (integers, booleans,
  indices, shapes, text, files, settings) or is piecewise constant, with the reason;
* **not yet**: it has a derivative chainrule does not compute yet, with the reason
  (on a Tensor that needs a gradient it raises a clear error, never a wrong number).

Functions chainrule implements are found in its namespaces; everything else must be
listed below, so a NumPy release with a new function fails the coverage test until
someone decides what it is.  ``tools/coverage.py`` writes docs/coverage.md from it.
"""
from __future__ import annotations

import numpy as np

DIFFERENTIABLE, NOT_DIFFERENTIABLE, NOT_YET = "differentiable", "not differentiable", "not yet"
SPACES = (("np", "numpy"), ("np.linalg", "numpy.linalg"), ("np.fft", "numpy.fft"))

# reason -> names (qualified with np., np.linalg., np.fft.) that have no derivative
_NO_DERIVATIVE = {
    "integer, boolean or index result": """
        np.allclose np.argwhere np.argpartition np.array_equal np.array_equiv np.digitize
        np.flatnonzero np.isclose np.isin np.iscomplex np.isreal np.isneginf np.isposinf
        np.lexsort np.nanargmax np.nanargmin np.nonzero np.searchsorted np.count_nonzero
        np.argmax np.argmin np.argsort np.all np.any np.linalg.matrix_rank""",
    "facts about shapes, dtypes or memory, not values": """
        np.shape np.ndim np.size np.result_type np.can_cast np.common_type np.min_scalar_type
        np.mintypecode np.promote_types np.isdtype np.issubdtype np.typename np.broadcast_shapes
        np.iscomplexobj np.isrealobj np.isfortran np.iterable np.isscalar np.may_share_memory
        np.shares_memory np.einsum_path""",
    "text": """
        np.array2string np.array_repr np.array_str np.base_repr np.binary_repr
        np.format_float_positional np.format_float_scientific np.datetime_as_string
        np.datetime_data""",
    "made from shapes or numbers, not from an array to differentiate": """
        np.arange np.empty np.eye np.identity np.ones np.zeros np.tri np.indices np.diag_indices
        np.tril_indices np.triu_indices np.mask_indices np.diag_indices_from np.tril_indices_from
        np.triu_indices_from np.fromfunction np.fromiter np.fromstring np.bartlett np.blackman
        np.hamming np.hanning np.kaiser np.empty_like np.zeros_like np.ones_like
        np.fft.fftfreq np.fft.rfftfreq np.ravel_multi_index np.unravel_index np.ix_""",
    "files, settings or printing": """
        np.save np.savez np.savez_compressed np.savetxt np.load np.loadtxt np.genfromtxt
        np.fromfile np.fromregex np.info np.show_config np.show_runtime np.test np.linalg.test
        np.fft.test np.get_include np.get_printoptions np.set_printoptions np.printoptions
        np.getbufsize np.setbufsize np.geterr np.seterr np.geterrcall np.seterrcall""",
    "calendar dates": "np.busday_count np.busday_offset np.is_busday np.isnat",
    "integer and bit arithmetic": """
        np.bitwise_and np.bitwise_or np.bitwise_xor np.bitwise_not np.bitwise_invert np.invert
        np.bitwise_left_shift np.bitwise_right_shift np.left_shift np.right_shift np.gcd np.lcm
        np.packbits np.unpackbits np.bitwise_count""",
    "writes into its argument in place (a recorded array is never mutated: use cnp.where, "
    "or indexing into a new array)": "np.copyto np.fill_diagonal np.place np.put "
                                     "np.put_along_axis np.putmask",
    "reads raw memory (buffers, DLPack), which has no graph": "np.frombuffer np.from_dlpack",
    "np.matrix is deprecated by NumPy; use 2-D arrays": "np.asmatrix np.bmat",
    "piecewise constant: the derivative is 0 wherever it exists (chainrule returns 0)": """
        np.floor np.ceil np.trunc np.rint np.round np.around np.floor_divide np.fix
        np.spacing np.signbit np.heaviside""",
    "comparisons and logic: boolean results": """
        np.greater np.greater_equal np.less np.less_equal np.equal np.not_equal np.logical_and
        np.logical_or np.logical_xor np.logical_not np.isnan np.isinf np.isfinite""",
    "makes a ufunc over object arrays (Python objects carry no graph): write the function with "
    "chainrule.numpy operations, which work elementwise on whole arrays": "np.frompyfunc",
    "makes nditer iterators, not an array result: iterate over t.data for values, or use "
    "chainrule.numpy operations": "np.nested_iters",
}

# reason -> names that have a derivative chainrule does not compute yet.  When you implement
# one, delete its name here (the coverage test says so) and add cases in tests/coverage_cases.
_NOT_YET_GROUPS = {
}
_NOT_YET = {name: reason for reason, names in _NOT_YET_GROUPS.items() for name in names.split()}

# types (scalar types, dtypes, iterators, ...): calling one is not an array function
_TYPE_REASON = "a type (dtype, scalar type, iterator or container class), not an array function"
_SCALAR_REASON = ("makes a NumPy scalar, which forgets the graph (use cnp.astype, or t.item() "
                  "for a number)")


def _explicit():
    out = {}
    for reason, names in _NO_DERIVATIVE.items():
        for name in names.split():
            out[name] = (NOT_DIFFERENTIABLE, reason)
    for name, reason in _NOT_YET.items():
        out[name] = (NOT_YET, reason)
    return out


def _mine(prefix):
    """chainrule's own namespace for a NumPy one (never NumPy's, reached through fallbacks)."""
    import importlib
    module = {"np": "chainrule.numpy", "np.linalg": "chainrule.numpy.linalg",
              "np.fft": "chainrule.numpy.fft"}[prefix]
    try:
        return vars(importlib.import_module(module))
    except ImportError:
        return {}


def public_callables():
    """(qualified name, object) for every public callable of numpy, numpy.linalg, numpy.fft."""
    import importlib
    for prefix, module in SPACES:
        space = importlib.import_module(module)
        for name in sorted(dir(space)):
            obj = getattr(space, name)
            if not name.startswith("_") and callable(obj):
                yield f"{prefix}.{name}", obj


def classify(qualname, obj, explicit=None):
    """(status, reason) of one public NumPy callable, or None if nobody has decided yet."""
    explicit = _explicit() if explicit is None else explicit
    if qualname in explicit:
        return explicit[qualname]
    prefix, _, name = qualname.rpartition(".")
    mine = _mine(prefix).get(name)
    if mine is not None and not name.startswith("_"):
        if getattr(mine, "differentiable", True) is False:
            return NOT_DIFFERENTIABLE, "integer, boolean or index result"
        return DIFFERENTIABLE, ""
    if isinstance(obj, type):
        if issubclass(obj, np.generic) and not issubclass(obj, (np.flexible, np.bool_)):
            return NOT_DIFFERENTIABLE, _SCALAR_REASON
        return NOT_DIFFERENTIABLE, _TYPE_REASON
    return None


def table():
    """[(qualified name, status, reason)] for every public callable; reason 'undecided' (a
    status of None) marks a function this module does not know (a new NumPy release)."""
    explicit = _explicit()
    rows = []
    for qualname, obj in public_callables():
        got = classify(qualname, obj, explicit)
        rows.append((qualname,) + (got if got is not None else (None, "undecided")))
    return rows


def markdown():
    """docs/coverage.md: counts, then one row per callable."""
    rows = table()
    counts = {s: sum(1 for r in rows if r[1] == s) for s in (DIFFERENTIABLE, NOT_DIFFERENTIABLE,
                                                              NOT_YET, None)}
    lines = [
        "# NumPy coverage",
        "",
        f"Every public callable of `numpy`, `numpy.linalg` and `numpy.fft` in NumPy "
        f"{np.__version__}, and what chainrule does with it. This file is written by "
        "`python tools/coverage.py` from `chainrule/numpy/coverage.py`; the tests fail when it "
        "is out of date, when NumPy has a function it does not list, and when a function marked "
        "differentiable has no finite-difference test in both modes.",
        "",
        f"- **differentiable** ({counts[DIFFERENTIABLE]}): reverse and forward rules, tested "
        "against finite differences at second order.",
        f"- **not differentiable** ({counts[NOT_DIFFERENTIABLE]}): no derivative exists (the "
        "reason is given); these run on plain values.",
        f"- **not yet** ({counts[NOT_YET]}): a derivative exists but chainrule does not compute "
        "it; on a Tensor that needs a gradient the call raises a clear error.",
        "",
        "| function | status | reason |",
        "|---|---|---|",
    ]
    for name, status, reason in rows:
        lines.append(f"| `{name}` | {status or 'UNDECIDED'} | {reason} |")
    return "\n".join(lines) + "\n"
