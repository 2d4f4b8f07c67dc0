"""The shipped golden vectors are current, and every backend reproduces them."""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check
from grl.core import golden, schedules


def test_golden_file_matches_a_fresh_generation():
    assert golden.dumps(golden.load()) == golden.dumps(golden.generate())


def test_golden_schedules_match_core():
    for case in golden.load()["schedules"]:
        schedule = schedules.from_config(case["config"])
        for step, value in zip(case["steps"], case["values"], strict=True):
            assert schedule(step) == float.fromhex(value)


@pytest.mark.capability("golden vectors reproduced bit for bit")
def test_backend_reproduces_golden_vectors(backend):
    assert len(golden.load()["cases"]) >= 40
    run_check(checks.golden_vectors, backend)
