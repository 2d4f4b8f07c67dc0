"""Diagnostics for domain-adversarial training in PyTorch (the rules: :mod:`grl.core.diagnostics`).

* :class:`Monitor`: autograd hooks on one GRL; :meth:`Monitor.collect` returns the step's
  numbers as a dict that Lightning's ``self.log_dict`` takes, and raises the warnings.
* :func:`check_placement`: one probe forward and backward that reports where the GRL sits,
  with no training side effects.
* :func:`total_steps_from_trainer`: ``total_steps="auto"`` from Lightning's trainer.
* :func:`resolve_total_steps`: gives every ``total_steps="auto"`` GRL of a model its run
  length (a number, or a Lightning trainer's).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from grl.backends.torch.module import GradientReversal
from grl.core import diagnostics as core

__all__ = [
    "GRLWarning",
    "Monitor",
    "Thresholds",
    "check_placement",
    "resolve_total_steps",
    "total_steps_from_trainer",
]

GRLWarning = core.GRLWarning
Thresholds = core.Thresholds


def layer_state(layer: nn.Module) -> tuple[int, float]:
    """``(step, λ)`` of a GRL on the host (``(0, nan)`` for a module that is none)."""
    lambda_ = getattr(layer, "lambda_", None)
    value = float(lambda_) if isinstance(lambda_, torch.Tensor) else math.nan
    step = getattr(layer, "step_count", None)
    if step is None:
        step = getattr(layer, "step", 0)
    step = int(step) if isinstance(step, (int, torch.Tensor)) else 0
    return step, value


def domain_loss_and_accuracy(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy (one logit per example) or cross-entropy, and accuracy."""
    if logits.ndim == labels.ndim + 1 and logits.shape[-1] > 1:
        labels = labels.long()
        return F.cross_entropy(logits, labels), (logits.argmax(-1) == labels).float().mean()
    logits = logits.reshape(labels.shape)
    labels = labels.to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    return loss, ((logits > 0).to(labels.dtype) == labels).float().mean()


def _flat(x: torch.Tensor) -> torch.Tensor:
    """``x`` as one vector, half precision widened (a dot over it accumulates in its dtype)."""
    x = x.detach().reshape(-1)
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _real_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Re ⟨a, b⟩ (conjugating ``a``), so ``_real_dot(x, x)`` is |x|² for complex ``x`` too."""
    return torch.vdot(_flat(a), _flat(b)).real


class Monitor:
    """Records, per training step, what one GRL does (names in :data:`core.METRICS`).

    Hooks: a forward hook on ``layer``; per training forward (``layer.training`` and
    gradients on), a hook on the reversal's autograd node (the gradients arriving and
    leaving) and one on the layer's input (the whole gradient at the shared features). The
    hooks only accumulate three squared norms and a dot product on the device (complex
    gradients included: |x|² = ⟨x, x⟩).

    ``step`` and λ are the ones the step trained with, copied at the training forward (the
    layer's state when no training forward ran).

    Call :meth:`domain` with the domain logits and labels (optional), then :meth:`collect`
    once per training step after ``backward()`` (in Lightning: ``on_train_batch_end``,
    ``self.log_dict(monitor.collect())``); :meth:`end_epoch` and :meth:`end_run` at the ends.
    ``remove()`` detaches the hooks: a layer without a monitor costs nothing.
    """

    def __init__(
        self,
        layer: nn.Module,
        *,
        prefix: str = "grl",
        thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
    ) -> None:
        if not isinstance(layer, nn.Module):
            raise TypeError(
                f"layer must be the GradientReversal module to monitor; got {type(layer).__name__}"
            )
        self.layer = layer
        self.prefix = prefix
        schedule = getattr(layer, "schedule", None)
        self.diagnostics = core.Diagnostics(
            scheduled=schedule is not None,
            total_steps=core.total_steps_of(schedule),
            thresholds=thresholds,
        )
        self._handle = layer.register_forward_hook(self._on_forward)
        self._reset()

    def _reset(self) -> None:
        self._forwards = 0
        self._gradients = 0
        # |in|², |out|², <in, out>, |task|², domain loss and accuracy, step and λ: one host
        # read.
        self._sums: torch.Tensor | None = None

    def remove(self) -> None:
        self._handle.remove()

    def _on_forward(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        if not (module.training and torch.is_grad_enabled()):
            return
        self._forwards += 1
        step, lambda_ = getattr(module, "step_count", None), getattr(module, "lambda_", None)
        if isinstance(step, torch.Tensor) and isinstance(lambda_, torch.Tensor):
            # The step and λ this step trains with, copied on the device (no sync):
            # advance() overwrites the buffers before collect().
            self._sums_on(lambda_.device)[6:] = torch.stack([step.double(), lambda_.double()])
        features = inputs[0]
        if not isinstance(output, torch.Tensor) or output.grad_fn is None:
            return
        leaving: list[torch.Tensor] = []

        def on_node(grad_inputs: tuple, grad_outputs: tuple) -> None:
            arriving, passed = grad_outputs[0], grad_inputs[0]
            if arriving is None or passed is None:
                return
            self._gradients += 1
            passed = passed.detach()
            leaving.append(passed)
            self._add(
                0,
                _real_dot(arriving, arriving),
                _real_dot(passed, passed),
                _real_dot(arriving, passed),
            )

        output.grad_fn.register_hook(on_node)
        if features.requires_grad:

            def on_features(total: torch.Tensor) -> None:
                if leaving:
                    task = total.detach() - leaving.pop()
                    self._add(3, _real_dot(task, task))

            features.register_hook(on_features)

    def _add(self, index: int, *parts: torch.Tensor) -> None:
        """Add ``parts`` to the step's sums from ``index`` on (on the device, no sync)."""
        sums = self._sums_on(parts[0].device)
        sums[index : index + len(parts)] += torch.stack(parts).double()

    def _sums_on(self, device: torch.device) -> torch.Tensor:
        if self._sums is None:
            self._sums = torch.zeros(8, dtype=torch.float64, device=device)
            self._sums[4:] = math.nan
        return self._sums

    @torch.no_grad()
    def domain(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """The domain head's logits and the domain labels of this step (0 source, 1 target)."""
        loss, accuracy = domain_loss_and_accuracy(logits.detach(), labels.detach())
        self._sums_on(loss.device)[4:6] = torch.stack([loss, accuracy]).double()

    def collect(self) -> dict[str, float]:
        """This step's numbers (a dict for ``log_dict``); raises the step's warnings."""
        schedule = getattr(self.layer, "schedule", None)
        if self.diagnostics.total_steps is None and schedule is not None:
            # A total_steps="auto" schedule resolved after this monitor was built.
            self.diagnostics.total_steps = core.total_steps_of(schedule)
        sums = [math.nan] * 8 if self._sums is None else self._sums.tolist()
        if not self._gradients:
            sums[:4] = [math.nan] * 4
        if math.isnan(sums[6]):  # no training forward copied them: the layer's state now
            step, lambda_ = layer_state(self.layer)
        else:
            step, lambda_ = int(sums[6]), sums[7]
        values = core.step_values(step, lambda_, sums[:4], *sums[4:6])
        self.diagnostics.record(values, forward_passes=self._forwards, gradients=self._gradients)
        self._reset()
        return {f"{self.prefix}/{name}": value for name, value in values.items()}

    def end_epoch(self) -> None:
        self.diagnostics.end_epoch()

    def end_run(self) -> None:
        self.diagnostics.end_run(layer_state(self.layer)[0])


# -- the placement check -------------------------------------------------------------------


def _wide(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as one float64 (or complex128) vector, for the probe's host numbers."""
    wide = torch.complex128 if tensor.is_complex() else torch.float64
    return tensor.detach().to(wide).reshape(-1)


def _norm(tensor: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(_wide(tensor)))


def _dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.vdot(_wide(a), _wide(b)).real)


def check_placement(
    model: nn.Module,
    losses: Callable[[nn.Module, Any], Mapping[str, torch.Tensor]],
    batch: Any,
    *,
    thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
) -> core.PlacementReport:
    """Where do the model's GRLs sit? One probe forward and backward, no side effects.

    Args:
        model: the model holding the :class:`GradientReversal` layer(s).
        losses: ``losses(model, batch)`` runs the training forward and returns
            ``{"label": L_y, "domain": L_d}``: the two terms exactly as the train step adds
            them to its loss. With ``"domain_logits"`` and ``"domain_labels"`` also, the
            check can see a sign or a λ hidden in the loss weights.
        batch: one training batch.

    A GRL whose λ is 0 (a schedule at step 0) shows no sign: it is probed with λ = 1.
    Parameters, their ``.grad``, buffers (batch-norm statistics, λ, step), the RNG state
    and any optimizer are left as they were: gradients come from ``torch.autograd.grad``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    layers = [module for module in model.modules() if isinstance(module, GradientReversal)]
    calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls.append((module, inputs[0], output))

    handles = [layer.register_forward_hook(record) for layer in layers]
    buffers = {name: buffer.clone() for name, buffer in model.named_buffers()}
    zero = {layer: layer.lambda_ for layer in layers if float(layer.lambda_) == 0.0}
    for layer, lambda_ in zero.items():  # the same tensor is put back below
        layer.lambda_ = torch.full_like(lambda_, core.PROBE_LAMBDA)
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            out = losses(model, batch)
            probes = _probes(out, calls)
    finally:
        for handle in handles:
            handle.remove()
        for layer, lambda_ in zero.items():
            layer.lambda_ = lambda_
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                saved = buffers.get(name)
                if saved is not None and not torch.equal(buffer, saved):
                    buffer.copy_(saved)
    return core.placement_report(probes, thresholds.tolerance)


def _probes(
    out: Mapping[str, torch.Tensor], calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]]
) -> list[core.GradientProbe]:
    for key in ("label", "domain"):
        if key not in out:
            raise KeyError(
                f"losses(model, batch) must return a mapping with 'label' and 'domain'; got "
                f"keys {sorted(out)}"
            )
    weight = _honest_weight(out)
    tensors = [t for _, x, r in calls for t in (x, r)]
    domain = _grads(out["domain"], tensors)
    label = _grads(out["label"], tensors)
    outputs = [r for _, _, r in calls]
    probes = []
    for i, (module, x, _) in enumerate(calls):
        at_input, arriving = domain[2 * i], domain[2 * i + 1]
        lambda_ = float(module.lambda_)
        rest = _wide(at_input) + lambda_ * _wide(arriving)
        probes.append(
            core.GradientProbe(
                lambda_=lambda_,
                domain_arriving=_norm(arriving),
                domain_at_input=_norm(at_input),
                domain_input_dot=_dot(at_input, arriving),
                domain_rest=_norm(rest),
                label_arriving=_norm(label[2 * i + 1]),
                fed_by_grl=any(x is r for r in outputs),
                honest_weight=weight,
            )
        )
    return probes


def _grads(loss: torch.Tensor, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    wanted = [t for t in tensors if t.requires_grad]
    found = (
        torch.autograd.grad(loss, wanted, retain_graph=True, allow_unused=True)
        if wanted and loss.requires_grad
        else [None] * len(wanted)
    )
    by_id = {id(t): g for t, g in zip(wanted, found, strict=True)}
    return [torch.zeros_like(t) if by_id.get(id(t)) is None else by_id[id(t)] for t in tensors]


def _honest_weight(out: Mapping[str, torch.Tensor]) -> float | None:
    logits, labels = out.get("domain_logits"), out.get("domain_labels")
    if logits is None or labels is None:
        return None
    honest, _ = domain_loss_and_accuracy(logits, labels.detach())
    (term,) = _grads(out["domain"], [logits])
    (reference,) = _grads(honest, [logits])
    size = _dot(reference, reference)
    return _dot(term, reference) / size if size else None


#: What to do when Lightning cannot tell the run length.
_LIGHTNING_FIX = (
    "Give the Trainer max_steps, or max_epochs with a dataloader that has a length (or "
    "limit_train_batches), or build the schedule with total_steps=<number of training steps>"
)


def total_steps_from_trainer(trainer: Any) -> int:
    """The run length for ``total_steps="auto"``: ``trainer.estimated_stepping_batches``
    (Lightning reports ``inf`` when it cannot know it: a clear error then)."""
    if not hasattr(trainer, "estimated_stepping_batches"):
        raise TypeError(
            "total_steps must be an int > 0 or a Lightning Trainer (an object with "
            f"estimated_stepping_batches); got {type(trainer).__name__}"
        )
    return core.resolve_total_steps(
        trainer.estimated_stepping_batches, "trainer.estimated_stepping_batches", _LIGHTNING_FIX
    )


def resolve_total_steps(model: nn.Module, total_steps: Any) -> int:
    """Give every ``total_steps="auto"`` GRL in ``model`` its run length; returns it.

    ``total_steps`` is an int > 0 or a Lightning ``Trainer`` (its
    ``estimated_stepping_batches``). In a LightningModule call
    ``resolve_total_steps(self, self.trainer)`` in ``setup()``: it runs before a checkpoint
    is restored (``fit(ckpt_path=...)``), which needs the run length to recompute λ.
    GRLs with a fixed λ or a schedule that has its length are left as they are.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(total_steps, numbers.Integral) and not isinstance(total_steps, bool):
        length = int(core.schedules._total_steps(total_steps, auto=False))  # int > 0
    else:
        length = total_steps_from_trainer(total_steps)
    for module in model.modules():
        if isinstance(module, GradientReversal):
            module.resolve_total_steps(length)
    return length
