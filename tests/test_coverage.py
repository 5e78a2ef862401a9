"""docs/coverage.md is complete and current, and every differentiable entry is checked.

Each function marked differentiable is run through check_grad (finite differences,
first and second order, forward and reverse mode) on a few cases Hypothesis draws
from tests/coverage_cases.
"""
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.numpy import coverage

import coverage_cases  # tests/coverage_cases (tests/ is on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = coverage.table()
DIFFERENTIABLE = [name for name, status, _ in ROWS if status == coverage.DIFFERENTIABLE]
CASES = coverage_cases.load()


def test_every_numpy_callable_is_decided():
    undecided = [name for name, status, _ in ROWS if status is None]
    assert not undecided, f"add these to chainrule/numpy/coverage.py: {undecided}"


def test_docs_table_is_current():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "coverage.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_not_yet_entries_are_not_implemented():
    stale = [name for name in coverage._NOT_YET
             if coverage.classify(name, None, explicit={}) == (coverage.DIFFERENTIABLE, "")]
    assert not stale, f"implemented now: remove from coverage._NOT_YET: {stale}"


# functions implemented before this table existed whose cases are still to be written here
# (each is tested in its family's own test file meanwhile): this list may only shrink
BACKLOG = set("""
np.amax np.amin np.array np.array_split np.asarray np.astype np.atleast_1d np.atleast_2d
np.atleast_3d np.broadcast_to np.column_stack np.concatenate np.copy np.cumprod np.cumsum
np.diag np.diagonal np.diff np.dot np.dstack np.einsum np.expand_dims np.flip np.fliplr
np.flipud np.hstack np.inner np.kron np.matmul np.max np.mean np.min np.moveaxis np.outer np.pad
np.prod np.ravel np.repeat np.reshape np.roll np.rot90 np.sort np.split np.squeeze np.stack
np.std np.sum np.swapaxes np.take np.take_along_axis np.tensordot np.tile np.trace np.transpose
np.tril np.triu np.var np.vdot np.vstack np.linalg.cholesky np.linalg.det np.linalg.eigh
np.linalg.eigvalsh np.linalg.inv np.linalg.matmul np.linalg.multi_dot np.linalg.norm
np.linalg.outer np.linalg.pinv np.linalg.qr np.linalg.slogdet np.linalg.solve np.linalg.svd
np.linalg.svdvals np.linalg.tensordot""".split())


def test_every_differentiable_function_has_a_case():
    missing = [name for name in DIFFERENTIABLE if name not in CASES and name not in BACKLOG]
    assert not missing, f"add finite-difference cases to tests/coverage_cases for {missing}"
    done = sorted(BACKLOG & set(CASES))
    assert not done, f"these have cases now: remove them from BACKLOG: {done}"


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_differentiable_function_matches_finite_differences(name, data):
    builders = CASES[name]
    build = builders[data.draw(st.integers(0, len(builders) - 1))]
    f, args = build(data.draw)
    cr.check_grad(f, *args, order=2, modes=("fwd", "rev"), warn_on_kink=False)
