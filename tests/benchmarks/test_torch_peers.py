"""An installed peer that does not import, or whose first call fails, is reported with its
error and left out of the benchmarks, instead of ending the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.peers import names
from tests.backends import require

require("torch")

import torch  # noqa: E402

from benchmarks.peers import torch_peers  # noqa: E402

# An op registered the way torch-gradient-reversal 1.0.0 registers its own: the forward
# returns an alias of the input, which AOTAutograd refuses (error_on_custom_op_aliasing,
# torch's default when CI is set) at the first compiled call; eager calls run.
_LIBRARY = torch.library.Library("grl_test_peers", "DEF")
_LIBRARY.define("alias(Tensor x) -> Tensor")
_LIBRARY.impl("alias", torch.ops.aten.alias, "CompositeExplicitAutograd")
torch.library.register_autograd("grl_test_peers::alias", lambda ctx, grad: -grad)
torch.library.register_fake("grl_test_peers::alias", torch.ops.aten.alias, lib=_LIBRARY)


class AliasingLayer(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.grl_test_peers.alias(x)


def _aliasing(version: str) -> torch_peers.Peer:
    return torch_peers.Peer("aliasing", version, lambda value: AliasingLayer(), _keep, "")


def _keep(layer: torch.nn.Module, value: float) -> None:
    """λ is never changed by these tests."""


@pytest.fixture
def packages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two fake packages: one that does not import, one (pytest itself) whose layer fails
    compiled, as in CI (the error, torch's CI default, is set here for every run)."""
    monkeypatch.setattr(
        torch_peers,
        "PACKAGES",
        (("no-such-peer", "no_such_peer_module", _aliasing), ("pytest", "pytest", _aliasing)),
    )
    torch_peers._installed.cache_clear()
    with torch._functorch.config.patch(error_on_custom_op_aliasing=True):
        yield
    torch_peers._installed.cache_clear()  # the real packages for the other tests


def test_a_peer_that_fails_to_import_or_run_is_reported_and_left_out(packages: None) -> None:
    missing, failing = torch_peers.availability()
    assert missing.version is None
    assert missing.error.startswith("ModuleNotFoundError: No module named 'no_such_peer_module'")
    assert failing.version == pytest.__version__
    assert failing.error.startswith("RuntimeError: ")
    assert "may not alias any inputs to this custom operator" in failing.error
    assert failing.error.endswith("(its first compiled forward and backward)")
    assert [peer.name for peer in torch_peers.peers()] == [names.COPY_NEG_MUL, names.DETACH]


def test_a_peer_whose_first_calls_run_is_benchmarked() -> None:
    peer = torch_peers.Peer("detach", "test", torch_peers.DetachTrick, _keep, "")
    assert torch_peers.first_call(peer) is None
