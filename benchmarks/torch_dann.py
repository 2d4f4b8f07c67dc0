"""PyTorch macro benchmark: one DANN training step with grl, or with identity in its place.

The step is the usual one: ``zero_grad``, forward and loss (``torch.compile``-d in the
compiled mode), ``backward``, ``optimizer.step()``, and for grl ``step_all`` to advance
the λ schedule. Both variants start from the same weights and see the same batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import dann_spec, records
from benchmarks.dann_spec import ModelSpec
from benchmarks.settings import Settings
from benchmarks.timing import interleaved_samples
from grl.core import schedules
from grl.torch import GradientReversal, step_all


class NHWCFlatten(nn.Module):
    """Flatten in NHWC order, so that the dense kernels match the TF and JAX layouts."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


def _dense(params: dict, name: str) -> nn.Linear:
    weight = params[f"{name}.w"]
    layer = nn.Linear(*weight.shape)
    layer.weight.data = torch.tensor(weight.T.copy())
    layer.bias.data = torch.tensor(params[f"{name}.b"])
    return layer


def _conv(params: dict, name: str) -> nn.Conv2d:
    weight = params[f"{name}.w"]
    layer = nn.Conv2d(weight.shape[2], weight.shape[3], 3, padding=1)
    layer.weight.data = torch.tensor(weight.transpose(3, 2, 0, 1).copy())
    layer.bias.data = torch.tensor(params[f"{name}.b"])
    return layer


class DANN(nn.Module):
    """G_f, then G_y on the source half and ``reversal`` → G_d on both halves."""

    def __init__(self, spec: ModelSpec, params: dict, reversal: nn.Module):
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(len(spec.conv)):
            blocks += [_conv(params, f"c{i}"), nn.ReLU(), nn.MaxPool2d(2)]
        if spec.conv:
            blocks.append(NHWCFlatten())
        for i in range(len(spec.features)):
            blocks += [_dense(params, f"f{i}"), nn.ReLU()]
        self.features = nn.Sequential(*blocks)
        self.label_head = _dense(params, "y")
        self.reversal = reversal
        self.domain_head = nn.Sequential(_dense(params, "d0"), nn.ReLU(), _dense(params, "d1"))

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> tuple:
        features = self.features(torch.cat([source, target]))
        label_logits = self.label_head(features[: source.shape[0]])
        domain_logits = self.domain_head(self.reversal(features)).squeeze(1)
        return label_logits, domain_logits


def dann_loss(model: DANN, data: dict[str, torch.Tensor]) -> torch.Tensor:
    """``L_y + L_d``: the GRL inside the model turns ``L_d``'s gradient into ``−λ·∂L_d``."""
    label_logits, domain_logits = model(data["source"], data["target"])
    return F.cross_entropy(label_logits, data["labels"]) + F.binary_cross_entropy_with_logits(
        domain_logits, data["domains"]
    )


VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY)


def reversal_for(variant: str) -> nn.Module:
    if variant == records.GRL:
        return GradientReversal(schedules.dann(total_steps=dann_spec.SCHEDULE_STEPS))
    if variant == records.GRL_FIXED:
        return GradientReversal(0.5)
    return nn.Identity()


class Shared:
    """What every variant of one comparison shares: weights, optimizer, batch.

    Separate model instances differ by a few percent from memory placement alone, which
    would swamp a 2 % comparison; so the variants are one model whose GRL slot holds a
    different module each.
    """

    def __init__(self, spec: ModelSpec):
        self.data = {
            key: torch.from_numpy(value.transpose(0, 3, 1, 2).copy() if value.ndim == 4 else value)
            for key, value in dann_spec.batch(spec).items()
        }
        self.model = DANN(spec, dann_spec.init_params(spec), nn.Identity())
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=dann_spec.LEARNING_RATE, momentum=dann_spec.MOMENTUM
        )

    def with_reversal(self, reversal: nn.Module) -> DANN:
        """The shared model with ``reversal`` in the GRL slot (same submodules, no copy)."""
        twin = copy.copy(self.model)
        twin._modules = dict(self.model._modules)
        twin.reversal = reversal
        return twin


class TrainingStep:
    """One full training step of ``variant`` (grl, grl with a fixed λ, identity) per call."""

    def __init__(
        self, spec: ModelSpec, variant: str, mode: str, backend: str, shared: Shared | None = None
    ):
        shared = shared or Shared(spec)
        self.variant = variant
        self.data, self.optimizer = shared.data, shared.optimizer
        self.model = shared.with_reversal(reversal_for(variant))
        self.loss = dann_loss if mode == "eager" else torch.compile(dann_loss, backend=backend)

    def __call__(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.loss(self.model, self.data).backward()
        self.optimizer.step()
        if self.variant == records.GRL:
            step_all(self.model)


def steps_for(spec: ModelSpec, mode: str, backend: str) -> dict[str, Callable[[], None]]:
    shared = Shared(spec)
    return {v: TrainingStep(spec, v, mode, backend, shared) for v in VARIANTS}


def run(settings: Settings, backend: str = "inductor") -> list[records.Record]:
    from benchmarks import torch_memory

    results: list[records.Record] = []
    for spec in dann_spec.MODELS:
        for mode in settings.modes:
            steps = steps_for(spec, mode, backend)
            results += torch_memory.step_peak_records(steps, spec.name, mode)
            samples = interleaved_samples(steps, settings.macro_repeats, settings.macro_sample_s)
            results += records.macro("torch", spec.name, mode, samples)
    return results
