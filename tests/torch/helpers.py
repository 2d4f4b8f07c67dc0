"""Shared helpers of the PyTorch integration tests (bit comparisons against the NumPy spec)."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import torch
from torch import nn

import grl.torch as grl_torch
from grl.core.reference import gradient_reversal_backward
from tests.conformance.cases import assert_same_bits as same_bits
from tests.conformance.cases import bits  # noqa: F401  (shared helper)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as NumPy, bfloat16 included (as ``ml_dtypes.bfloat16``)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def assert_same_bits(actual: Any, expected: Any) -> None:
    """Bit-for-bit equality (tensors converted first); see tests/conformance/cases.py."""
    if isinstance(actual, torch.Tensor):
        actual = to_numpy(actual)
    if isinstance(expected, torch.Tensor):
        expected = to_numpy(expected)
    same_bits(actual, expected)


def reference_grad(g: torch.Tensor, lambda_: Any) -> np.ndarray:
    """The spec's backward ``g · cast(−λ, dtype(g))``; a tensor λ keeps its own dtype."""
    if isinstance(lambda_, torch.Tensor):
        lambda_ = to_numpy(lambda_)
    return gradient_reversal_backward(to_numpy(g), lambda_)


def float32_value(value: float) -> np.float32:
    """``value`` as the float32 λ buffer holds it."""
    return np.float32(value)


class DANNNet(nn.Module):
    """A tiny DANN: features → (label head, GRL → domain head)."""

    def __init__(self, lambda_: Any, features: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(features, hidden), nn.Tanh())
        self.label_head = nn.Linear(hidden, 2)
        self.grl = grl_torch.GradientReversal(lambda_)
        self.domain_head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.label_head(h), self.domain_head(self.grl(h)).squeeze(-1)


def dann_loss(
    model: nn.Module, source: torch.Tensor, labels: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Label loss on the source batch + domain loss on both batches (GRL called twice)."""
    logits, source_domain = model(source)
    _, target_domain = model(target)
    domain_logits = torch.cat([source_domain, target_domain])
    domains = torch.cat([torch.zeros_like(source_domain), torch.ones_like(target_domain)])
    return nn.functional.cross_entropy(
        logits, labels
    ) + nn.functional.binary_cross_entropy_with_logits(domain_logits, domains)


def make_batches(steps: int, batch: int = 8, features: int = 4, seed: int = 0) -> list[tuple]:
    """Deterministic (source, labels, target) batches."""
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(batch, features, generator=generator),
            torch.randint(0, 2, (batch,), generator=generator),
            torch.randn(batch, features, generator=generator) + 1.0,
        )
        for _ in range(steps)
    ]
