"""chainrule with cr.compile(..., backend="numba"): fw_chainrule_compiled's functions, with runs
of elementwise ops fused into numba kernels (kernels are cached on disk after the first run;
the first compile in a fresh cache is the number in the notes)."""
import numba  # noqa: F401  (the row is skipped without numba)

from . import fw_chainrule_compiled as compiled

NAME = "chainrule-numba"
version, notes = compiled.version, compiled.notes


def build(kind, p):
    return compiled.build(kind, p, backend="numba")
