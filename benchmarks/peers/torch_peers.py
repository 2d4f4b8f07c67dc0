"""PyTorch GRLs to compare with: two installed packages and two re-implemented patterns.

Each :class:`Peer` builds a layer ``x -> y`` with a fixed λ and says how a user of that
peer changes λ once per training step (:meth:`Peer.advance`), which is what decides the
peer's recompiles under ``torch.compile``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch._dynamo
from torch import nn

from benchmarks.peers import Availability, describe, probe
from benchmarks.peers.names import COPY_NEG_MUL, DETACH, REVGRAD, TGR


class CopyNegMulFunction(torch.autograd.Function):
    """The transfer-learning library's GRL as its documentation describes it.

    Forward copies (``x · 1.0``) and keeps λ as a Python float on ``ctx``; backward
    negates and then multiplies: ``(−g)·λ``, two passes over the gradient.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x * 1.0

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.neg() * ctx.coeff, None


class CopyNegMulLayer(nn.Module):
    """The library's warm-start layer: λ from a Python step counter, stepped in ``forward``.

    ``λ = 2(hi − lo)/(1 + exp(−α·k/max_iters)) − (hi − lo) + lo`` with ``k`` a plain int
    attribute, incremented by every forward call when ``auto_step`` is on.
    """

    def __init__(self, lambda_: float, max_iters: int = 1_000, auto_step: bool = False):
        super().__init__()
        self.hi, self.lo, self.alpha, self.max_iters = lambda_, 0.0, 10.0, max_iters
        self.iter_num = max_iters if not auto_step else 0
        self.auto_step = auto_step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        span = self.hi - self.lo
        progress = self.iter_num / self.max_iters
        coeff = float(2.0 * span / (1.0 + math.exp(-self.alpha * progress)) - span + self.lo)
        if self.auto_step:
            self.iter_num += 1
        return CopyNegMulFunction.apply(x, coeff)


class DetachTrick(nn.Module):
    """``−λx + (1+λ)·x.detach()``: value ``x`` (up to rounding), gradient ``−λ``; λ a float."""

    def __init__(self, lambda_: float):
        super().__init__()
        self.lambda_ = float(lambda_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.lambda_ * x + (1.0 + self.lambda_) * x.detach()


@dataclass(frozen=True)
class Peer:
    """A peer GRL: how to build it, how its users change λ, and where it comes from."""

    name: str
    origin: str
    build: Callable[[float], nn.Module]
    advance: Callable[[nn.Module, float], None]
    usage: str


def _set_revgrad(layer: nn.Module, value: float) -> None:
    # The package has no setter; replacing the tensor attribute is the only way.
    layer._alpha = torch.tensor(value)


def _set_tgr(layer: nn.Module, value: float) -> None:
    layer.set_alpha(value)


def _set_detach(layer: nn.Module, value: float) -> None:
    layer.lambda_ = value


def _advance_nothing(layer: nn.Module, value: float) -> None:
    """The layer steps itself in ``forward`` (its ``auto_step`` counter)."""


def _revgrad(version: str) -> Peer:
    from pytorch_revgrad import RevGrad

    return Peer(
        REVGRAD,
        f"installed package {REVGRAD} {version}",
        lambda value: RevGrad(alpha=value),
        _set_revgrad,
        "layer._alpha = torch.tensor(λ) each step (the package has no setter)",
    )


def _tgr(version: str) -> Peer:
    from gradient_reversal import GradientReversalLayer

    return Peer(
        TGR,
        f"installed package {TGR} {version}",
        lambda value: GradientReversalLayer(alpha=value),
        _set_tgr,
        "layer.set_alpha(λ) each step (buffer, read with float() in forward)",
    )


#: The installed packages: distribution, module, and the peer once the module imports.
PACKAGES: tuple[tuple[str, str, Callable[[str], Peer]], ...] = (
    (REVGRAD, "pytorch_revgrad", _revgrad),
    (TGR, "gradient_reversal", _tgr),
)


def first_call(peer: Peer) -> str | None:
    """Why the peer cannot be benchmarked: the error of its first forward and backward, eager
    or compiled (None: both ran).

    A package can import and still fail when called: torch-gradient-reversal's custom op
    returns an alias of its input, which AOTAutograd (under every training backend, so
    ``aot_eager`` here) refuses when ``CI`` is set and only warns about otherwise. Such a peer
    is reported with its error instead of ending the benchmark run.
    """
    x = torch.ones(4, requires_grad=True)
    try:
        for mode in ("eager", "compiled"):
            try:
                layer = peer.build(0.5)
                if mode == "compiled":
                    layer = torch.compile(layer, backend="aot_eager")
                torch.autograd.grad(layer(x).sum(), x)
            except Exception as error:  # whatever it raises is the finding
                return f"{describe(error)} (its first {mode} forward and backward)"
        return None
    finally:
        torch._dynamo.reset()  # the probe leaves no compiled code for the sections to count


@functools.cache
def _installed() -> tuple[tuple[Availability, Peer | None], ...]:
    """Each package's availability and, when it imports and runs, its peer (probed once)."""
    found: list[tuple[Availability, Peer | None]] = []
    for distribution, module, make in PACKAGES:
        available = probe(distribution, module)
        if available.version is None:
            found.append((available, None))
            continue
        peer = make(available.version)
        error = first_call(peer)
        if error is None:
            found.append((available, peer))
        else:
            found.append((dataclasses.replace(available, error=error), None))
    return tuple(found)


def availability() -> list[Availability]:
    """Each installed package: its version, and the error of its import or first call."""
    return [available for available, _ in _installed()]


def peers() -> list[Peer]:
    """Every peer that can run here (the others are left out; see :func:`availability`)."""
    result = [peer for _, peer in _installed() if peer is not None]
    result.append(
        Peer(
            COPY_NEG_MUL,
            "re-implemented here from the transfer-learning library's description",
            lambda value: CopyNegMulLayer(value),
            _advance_nothing,
            "auto_step=True: a Python int counter, incremented in forward",
        )
    )
    result.append(
        Peer(
            DETACH,
            "re-implemented here (a common snippet)",
            DetachTrick,
            _set_detach,
            "layer.lambda_ = λ (a Python float) each step",
        )
    )
    return result


def scheduled(peer: Peer, steps: int) -> nn.Module:
    """The peer's layer as a user with a λ schedule builds it (auto-stepping where it can)."""
    if peer.name == COPY_NEG_MUL:
        return CopyNegMulLayer(1.0, max_iters=steps, auto_step=True)
    return peer.build(0.0)
