"""``GradientReversal``: the GRL as an ``nn.Module``, bound to the layer contract.

The rules (λ argument, ``set_lambda``, ``advance``, ``λ == schedule(step)``) live in
:mod:`grl.core.layer`; this module keeps only the PyTorch mechanics: two 0-d buffers,
``lambda_`` and ``step_count``, in the ``state_dict``, moved by ``.to(device)`` and broadcast
by ``DistributedDataParallel``. A checkpoint restores the step and λ is recomputed from it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from grl.backends.torch import internals
from grl.backends.torch.functions import reverse
from grl.backends.torch.ops import check_input, check_lambda_properties, traced_op
from grl.backends.torch.recomputation import FIRST_PASSES, module_lambda
from grl.core import lambda_ as lambda_rules
from grl.core import layer as contract

_SIXTEEN_BIT = (torch.float16, torch.bfloat16)
_OUTSIDE_COMPILE = (
    "GradientReversal.{} changes λ outside the compiled graph; call it (or "
    "grl.torch.step_all) after optimizer.step(), outside torch.compile"
)


def host_value_for(dtype: torch.dtype, value: float) -> float:
    """``value`` rounded so that ``fill_`` into a ``dtype`` buffer rounds as the spec does
    (16-bit floats through float32, as :func:`grl.core.reference.cast_lambda`)."""
    return float(np.float32(value)) if dtype in _SIXTEEN_BIT else value


def scalar_buffer(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A new 0-d tensor holding ``value``, filled on the device (no host-to-device copy),
    outside inference_mode even if called in it (autograd cannot save such a tensor)."""
    with torch.inference_mode(False), torch.no_grad():
        return torch.full((), host_value_for(dtype, value), dtype=dtype, device=device)


def read_lambda_tensor(value: Any) -> float | None:
    """A 0-d floating tensor given as λ, read on the host; None for anything else."""
    if not isinstance(value, torch.Tensor):
        return None
    check_lambda_properties(value)
    return float(value)


class GradientReversal(contract.LayerContract, nn.Module):
    """Gradient reversal layer: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        lambda_: a fixed λ (a number ≥ 0 or a 0-d floating tensor, whose value is copied),
            or a schedule from :mod:`grl.core.schedules` (or its ``get_config()`` dict):
            then ``λ = schedule(step)``, starting at ``schedule(0)``.
        dtype: floating dtype of the λ buffer (float32 by default). The backward pass casts
            λ to each gradient's dtype, so this does not change gradient dtypes.

    Buffers: ``lambda_`` (0-d, ``dtype``), read by the forward pass as a tensor, so changing
    it never recompiles; ``step_count`` (0-d int64), the training steps taken.

    λ changes only through :meth:`step` / ``advance``, ``set_lambda`` and
    ``load_state_dict``, never in ``forward`` (DANN calls the layer twice per step). They
    write the buffers in place, so that λ keeps its address (CUDA graphs and
    ``torch.jit.trace`` read it there), except while something else holds them: a pending
    backward (eager or compiled) or a held ``state_dict()``. Then the buffer gets new memory
    and that holder keeps the λ of its own forward.
    """

    lambda_: torch.Tensor
    step_count: torch.Tensor

    def __init__(self, lambda_: Any = 1.0, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype; got {dtype!r}")
        value = self._parse_lambda(lambda_)
        self.register_buffer("lambda_", scalar_buffer(value, dtype, torch.device("cpu")))
        self.register_buffer("step_count", torch.tensor(0, dtype=torch.int64))
        self._traced = False
        # Notices a schedule that is never advanced (a forgotten step_all): dropped at the
        # first advance, so a correctly stepped run pays for it during one step only.
        self._watch_advancing()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.fx.Proxy):
            return traced_op(x, self.lambda_)
        check_input(x)
        lambda_ = self.lambda_
        if x.device != lambda_.device:
            raise ValueError(
                f"x is on {x.device} but this GradientReversal's lambda_ buffer is on "
                f"{lambda_.device}; move the module (model.to(device)) with its inputs"
            )
        check_lambda_properties(lambda_)
        if torch.jit.is_tracing():
            self._traced = True  # the traced graph reads λ at this address from now on
        if not (x.is_floating_point() or x.is_complex()):
            return x
        # Compiled code never reads (nor guards on) the watch or the recomputation records.
        if not torch.compiler.is_compiling():
            if self._advance_watch is not None:
                self._count_training_pass()
            if FIRST_PASSES or not torch.is_grad_enabled():
                # A reentrant checkpoint's first pass or its recomputation (in backward).
                lambda_ = module_lambda(self, lambda_)
        return reverse(x, lambda_)

    def _count_training_pass(self) -> None:
        if self.training and torch.is_grad_enabled():
            # An unresolved total_steps="auto" has no λ yet: refuse before any work (the
            # watch lives until the first advance, which an unresolved layer never passes).
            self._require_resolved("training forward")
            self._training_pass()

    # -- the contract's hooks ----------------------------------------------------------
    def _read_tensor(self, value: Any) -> float | None:
        return read_lambda_tensor(value)

    def _store_lambda(self, value: float) -> None:
        self._write_buffer("lambda_", value)

    def _current_step(self) -> int:
        return int(self.step_count)

    def _advance(self, steps: int) -> None:
        # Read every time, never cached: DDP's broadcast or a load may have changed it.
        step = int(self.step_count) + steps
        self._write_buffer("step_count", step)
        if self._schedule is not None:
            self._write_buffer("lambda_", self._schedule(step))

    def set_lambda(self, value: Any) -> None:
        """Set a fixed λ (validated like the constructor's ``lambda_``)."""
        if torch.compiler.is_compiling():
            raise RuntimeError(_OUTSIDE_COMPILE.format("set_lambda()"))
        super().set_lambda(value)

    def advance(self, steps: int = 1) -> None:
        """Move on ``steps`` training steps: ``step_count += steps``, λ = schedule(step)."""
        if torch.compiler.is_compiling():
            raise RuntimeError(_OUTSIDE_COMPILE.format("step()"))
        super().advance(steps)

    def step(self) -> None:
        """``advance(1)``: call it once per training step, after ``optimizer.step()``."""
        self.advance(1)

    @torch.no_grad()
    def _write_buffer(self, name: str, value: float | int) -> None:
        """``buffer ← value``: in place unless something else holds the buffer (class doc)."""
        buffer = self._buffers[name]
        assert buffer is not None
        if internals.has_other_holders(buffer) and not self._traced:
            setattr(self, name, scalar_buffer(value, buffer.dtype, buffer.device))
        else:
            buffer.fill_(host_value_for(buffer.dtype, value))

    # -- checkpoints -------------------------------------------------------------------
    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        saved_lambda = state_dict.get(prefix + "lambda_")
        saved_step = state_dict.get(prefix + "step_count")
        problem = _shape_problem(saved_lambda, "lambda_", "floating") or (
            contract.saved_state_problem(_host(saved_lambda), _host(saved_step))
        )
        if problem:
            raise ValueError(f"{prefix}: {problem}" if prefix else problem)
        for name, buffer in self._buffers.items():
            if buffer is not None and internals.has_other_holders(buffer) and not self._traced:
                # The load copies in place: memory that others read keeps its values.
                self._buffers[name] = buffer.detach().clone()
        errors_before = len(error_msgs)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        if saved_step is None and prefix + "step_count" in missing_keys:
            missing_keys.remove(prefix + "step_count")  # a checkpoint from before grl 0.2
        if self._schedule is not None and len(error_msgs) == errors_before:
            self._resumed_at(int(self.step_count))
            self._recompute_loaded_lambda(saved_lambda, prefix)

    def _recompute_loaded_lambda(self, saved: Any, prefix: str) -> None:
        """λ ← schedule(loaded step), warning if the checkpoint's λ disagrees."""
        assert self._schedule is not None
        if self.lambda_.is_meta:
            return
        step = int(self.step_count)
        value = self._schedule(step)
        if isinstance(saved, torch.Tensor) and not saved.is_meta:
            expected = torch.tensor(host_value_for(saved.dtype, value), dtype=saved.dtype)
            if expected.item() != saved.item():
                warnings.warn(
                    f"{prefix}lambda_={saved.item()!r} in the state_dict differs from this "
                    f"module's schedule {self._schedule!r} at step {step} ({value!r}): the "
                    "checkpoint was saved with other schedule settings. Using the schedule's "
                    "value.",
                    stacklevel=3,
                )
        self._write_buffer("lambda_", value)

    def __prepare_scriptable__(self) -> nn.Module:
        raise RuntimeError(
            "grl.torch.GradientReversal cannot be compiled by torch.jit.script: TorchScript "
            "does not support Python autograd.Functions. Use torch.compile, torch.export.export "
            "or torch.onnx.export (the GRL exports as an Identity); torch.jit.trace runs in "
            "Python but its result cannot be saved with torch.jit.save."
        )

    def extra_repr(self) -> str:
        text = f"lambda_={_show(self.lambda_)}, step={_show(self.step_count)}"
        if self._schedule is not None:
            text += f", schedule={self._schedule!r}"
        if self.lambda_.dtype != torch.float32:
            text += f", dtype={self.lambda_.dtype}"
        return text


def _shape_problem(saved: Any, name: str, kind: str) -> str | None:
    if not isinstance(saved, torch.Tensor) or saved.dim() == 0:
        return None
    return f"invalid saved {name}: must be a 0-d {kind} tensor; got {lambda_rules.describe(saved)}"


def _host(saved: Any) -> Any:
    """A saved 0-d buffer as a host number for :func:`grl.core.layer.saved_state_problem`."""
    if not isinstance(saved, torch.Tensor) or saved.is_meta:
        return None
    if saved.dim() != 0 or saved.is_complex() or saved.dtype == torch.bool:
        return lambda_rules.describe(saved)  # not a number: refused with its description
    return float(saved) if saved.is_floating_point() else int(saved)


def _show(tensor: torch.Tensor) -> str:
    if tensor.is_meta:
        return "?"
    value = tensor.item()
    return f"{value:.6g}" if tensor.is_floating_point() else str(value)
