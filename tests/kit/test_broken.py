"""Each way the specification rules out is caught, and by the check meant for it."""

from __future__ import annotations

import pytest

from grl.conformance import check
from tests.backends import require
from tests.kit import broken


def outcomes(report) -> dict[str, set[str]]:
    """check name -> the statuses of its cases."""
    found: dict[str, set[str]] = {}
    for result in report.results:
        found.setdefault(result.check, set()).add(result.status)
    return found


def reasons(report, name: str) -> list[str]:
    return [r.reason for r in report.results if r.check == name and r.status == "failed"]


@pytest.fixture(scope="module")
def torch_grl():
    return require("torch").gradient_reversal


def test_grl_itself_passes_the_checks_used_below(torch_grl):
    only = ("backward_reference", "second_derivative", "one_compile", "forward_zero_copy")
    report = check("torch", torch_grl, only=only)
    assert report.ok and not report.failures
    assert {r.check for r in report.results} == set(only)


def test_wrong_sign_is_caught_by_the_backward_check(torch_grl):
    report = check(
        "torch", broken.torch_wrong_sign, only=("backward_reference", "forward_identity")
    )
    assert outcomes(report) == {"backward_reference": {"failed"}, "forward_identity": {"passed"}}
    assert all("differ in bits" in reason for reason in reasons(report, "backward_reference"))
    with pytest.raises(AssertionError, match="departs from the GRL specification in 36 case"):
        report.assert_ok()


def test_lambda_applied_twice_is_caught_by_backward_and_second_order(torch_grl):
    report = check(
        "torch",
        broken.torch_lambda_twice,
        only=("backward_reference", "second_derivative", "forward_identity"),
    )
    statuses = outcomes(report)
    assert statuses["forward_identity"] == {"passed"}
    assert "failed" in statuses["backward_reference"]
    # λ = 1 cannot tell λ from λ²; 0.5 and 6 can.
    failed = {r.case for r in report.failures if r.check == "second_derivative"}
    assert failed and all("lambda_=1.0" not in case for case in failed)


def test_recompiling_lambda_is_caught_by_the_compile_check(torch_grl):
    report = check(
        "torch", broken.torch_recompiling_lambda, only=("one_compile", "backward_reference")
    )
    assert outcomes(report) == {"one_compile": {"failed"}, "backward_reference": {"passed"}}
    assert "compiles/traces for 8 values of λ" in reasons(report, "one_compile")[0]


def test_copy_in_forward_is_caught_by_the_zero_copy_check(torch_grl):
    report = check(
        "torch", broken.torch_copying_forward, only=("forward_zero_copy", "forward_identity")
    )
    assert outcomes(report) == {"forward_zero_copy": {"failed"}, "forward_identity": {"passed"}}
    assert "copies its input" in reasons(report, "forward_zero_copy")[0]


def test_plus_t_in_forward_mode_is_caught_by_the_forward_mode_check():
    require("tf")
    report = check(
        "tf", broken.tf_custom_gradient_snippet, only=("forward_mode", "backward_reference")
    )
    statuses = outcomes(report)
    assert statuses["forward_mode"] == {"failed"}
    assert all("+t" in reason for reason in reasons(report, "forward_mode"))
    # Its float32 backward is right: the defect is forward mode alone.
    assert not [
        r
        for r in report.failures
        if r.check == "backward_reference" and "dtype='float32'" in r.case
    ]


def test_a_framework_not_implemented_error_is_a_failure_not_a_skip(torch_grl):
    """A custom Function without a forward-mode rule fails forward mode (torch raises
    NotImplementedError); only a method the adapter lacks is "not applicable"."""
    import torch

    class NoJvp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lambda_):
            return torch_grl(x, lambda_)

        @staticmethod
        def backward(ctx, g):
            return g, None

    report = check("torch", NoJvp.apply, only=("forward_mode", "layer_state"))
    failed = [r for r in report.results if r.case.startswith("method='forward_ad'")]
    assert failed and all(r.status == "failed" for r in failed)
    assert "NotImplementedError" in failed[0].reason
    assert {r.status for r in report.results if r.check == "layer_state"} == {"not applicable"}
