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


def test_every_differentiable_function_has_a_case():
    missing = [name for name in DIFFERENTIABLE if name not in CASES]
    assert not missing, f"add finite-difference cases to tests/coverage_cases for {missing}"


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_differentiable_function_matches_finite_differences(name, data):
    builders = CASES[name]
    build = builders[data.draw(st.integers(0, len(builders) - 1))]
    f, args = build(data.draw)
    cr.check_grad(f, *args, order=2, modes=("fwd", "rev"), warn_on_kink=False)
