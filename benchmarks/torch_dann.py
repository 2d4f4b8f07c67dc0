"""PyTorch macro benchmark: one DANN training step with grl, or with identity in its place.

The model is the demo's ``DANNModel``. The step is the usual one: ``zero_grad``, forward
and loss (``torch.compile``-d in the compiled mode), ``backward``, ``optimizer.step()``,
and for grl ``step_all`` to advance the λ schedule.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks import dann, records, torch_memory
from benchmarks.dann import Model
from benchmarks.settings import Settings
from grl.core import schedules
from grl.demo.models_torch import DANNModel
from grl.torch import GradientReversal, step_all

VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY)


def dann_loss(model: DANNModel, data: dict[str, torch.Tensor]) -> torch.Tensor:
    """``L_y + L_d``: the GRL inside the model turns ``L_d``'s gradient into ``−λ·∂L_d``."""
    features = model.features(torch.cat([data["source"], data["target"]]))
    label_logits = model.label_head(features[: data["labels"].shape[0]])
    return F.cross_entropy(label_logits, data["labels"]) + F.binary_cross_entropy_with_logits(
        model.domain_logits(features), data["domains"]
    )


def reversal_for(variant: str) -> nn.Module:
    if variant == records.GRL:
        return GradientReversal(schedules.dann(total_steps=dann.SCHEDULE_STEPS))
    if variant == records.GRL_FIXED:
        return GradientReversal(dann.FIXED_LAMBDA)
    return nn.Identity()


class Shared:
    """What every variant of one comparison shares: weights, optimizer, batch.

    Separate model instances differ by a few percent from memory placement alone, which
    would swamp a 2 % comparison; so the variants are one model whose GRL slot holds a
    different module each.
    """

    def __init__(self, model: Model):
        self.data = {
            key: torch.from_numpy(value).permute(0, 3, 1, 2).contiguous()
            if value.ndim == 4
            else torch.from_numpy(value)
            for key, value in model.data().items()
        }
        self.model = DANNModel(model.net, model.params())
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=dann.LEARNING_RATE, momentum=dann.MOMENTUM
        )

    def with_reversal(self, reversal: nn.Module) -> DANNModel:
        """The shared model with ``reversal`` in the GRL slot (same submodules, no copy)."""
        twin = copy.copy(self.model)
        twin._modules = dict(self.model._modules)
        twin.grl = reversal
        return twin


class TrainingStep:
    """One full training step of ``variant`` (grl, grl with a fixed λ, identity) per call."""

    def __init__(self, model: Model, variant: str, mode: str, backend: str, shared: Shared):
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


def steps_for(model: Model, mode: str, backend: str = "inductor") -> dict[str, TrainingStep]:
    shared = Shared(model)
    return {v: TrainingStep(model, v, mode, backend, shared) for v in VARIANTS}


def run(settings: Settings) -> list[records.Record]:
    def steps(model: Model, mode: str) -> dict[str, TrainingStep]:
        return steps_for(model, mode, settings.torch_backend)

    return dann.run("torch", settings, steps, torch_memory.step_peak_records)
