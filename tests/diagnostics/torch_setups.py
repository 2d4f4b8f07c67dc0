"""Small DANN setups in PyTorch, each wired right or wrong on purpose."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from grl.torch import GradientReversal

WIRINGS = (
    "correct",
    "detached",  # grl(features.detach()): no gradient reaches the features
    "label_path",  # the label head reads grl(features) too
    "bypass",  # the domain head reads grl(features) + features
    "double_grl",  # grl(grl(features)): the reversals cancel
)


class DANN(nn.Module):
    def __init__(self, lambda_: object = 0.5, wiring: str = "correct", norm: bool = False):
        super().__init__()
        torch.manual_seed(0)
        layers: list[nn.Module] = [nn.Linear(4, 8), nn.Tanh()]
        if norm:
            layers += [nn.BatchNorm1d(8), nn.Dropout(0.5)]
        self.features = nn.Sequential(*layers)
        self.label_head = nn.Linear(8, 2)
        self.domain_head = nn.Linear(8, 1)
        self.grl = GradientReversal(lambda_)
        self.second = GradientReversal(lambda_) if wiring == "double_grl" else None
        self.wiring = wiring

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(x)
        reversed_ = self.grl(features.detach() if self.wiring == "detached" else features)
        if self.second is not None:
            reversed_ = self.second(reversed_)
        domain_input = reversed_ + features if self.wiring == "bypass" else reversed_
        label_input = reversed_ if self.wiring == "label_path" else features
        return self.label_head(label_input), self.domain_head(domain_input).squeeze(1)


def batch(seed: int = 0, n: int = 16) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    x[n // 2 :] += 1.5  # the target domain is shifted
    return {
        "x": x,
        "labels": (x[:, 0] > 0).long(),
        "domains": torch.cat([torch.zeros(n // 2), torch.ones(n - n // 2)]),
    }


def losses(model: DANN, data: dict, domain_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """The two loss terms as the train step adds them (``domain_weight`` ≠ 1 is a mistake)."""
    half = data["x"].shape[0] // 2
    label_logits, domain_logits = model(data["x"])
    return {
        "label": F.cross_entropy(label_logits[:half], data["labels"][:half]),
        "domain": domain_weight
        * F.binary_cross_entropy_with_logits(domain_logits, data["domains"]),
        "domain_logits": domain_logits,
        "domain_labels": data["domains"],
    }
