"""``GradientReversal``: the GRL as an ``nn.Module``, with λ (and its schedule position) as state.

λ lives in a 0-d floating buffer ``lambda_``. With a schedule from :mod:`grl.core.schedules`
the module also holds the number of training steps taken in a 0-d int64 buffer
``step_count``, and ``λ = schedule(step_count)``. Both buffers are in the ``state_dict``,
move with ``.to(device)`` and are broadcast by ``DistributedDataParallel``; the schedule's
settings are a construction argument (like a layer's width), so a checkpoint restores the
position on the curve and λ is recomputed from it, bit for bit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from grl.backends.torch.functions import reverse
from grl.backends.torch.ops import check_input, check_lambda_properties, check_lambda_tensor
from grl.core import lambda_ as spec
from grl.core import schedules

_SIXTEEN_BIT = (torch.float16, torch.bfloat16)
_FACTORIES = (schedules.constant, schedules.linear, schedules.dann)

_STEP_OUTSIDE_COMPILE = (
    "GradientReversal.step() changes λ in place, outside the compiled graph; call it (or "
    "grl.torch.step_all) after optimizer.step(), outside torch.compile"
)
_SET_OUTSIDE_COMPILE = (
    "GradientReversal.set_lambda() changes λ outside the compiled graph (it checks whether a "
    "pending backward still reads the current λ); call it outside torch.compile"
)


def as_schedule(value: Any) -> schedules.Schedule | None:
    """The schedule behind ``value`` (validated again), or None for a fixed λ.

    Accepts a :mod:`grl.core.schedules` object or its ``get_config()`` dict; numbers and
    tensors mean a fixed λ. Anything else (a plain callable, an uncalled factory, an
    ``lr_scheduler``) is a TypeError: a schedule must be serialisable and validated.
    """
    if isinstance(value, dict):
        return schedules.from_config(value)
    if schedules.is_schedule(value):
        # Rebuilding from the config re-runs validation, even on a tampered frozen object.
        return schedules.from_config(value.get_config())
    if spec.is_number_like(value) or isinstance(value, torch.Tensor):
        return None
    if value in _FACTORIES or (isinstance(value, type) and issubclass(value, schedules.Schedule)):
        raise TypeError(
            f"{spec.ARGUMENT} got the schedule factory {getattr(value, '__name__', value)} "
            "itself; call it with its settings, e.g. "
            "grl.core.schedules.dann(total_steps=10_000)"
        )
    raise TypeError(
        f"{spec.ARGUMENT} must be a real number >= 0, a 0-d floating tensor, or a schedule "
        "from grl.core.schedules (constant, linear, dann) or its get_config() dict; got "
        f"{spec.describe(value)} of type {type(value).__name__}. For a λ formula of your "
        "own, build the module with a number and call set_lambda() each step."
    )


def fixed_lambda_value(value: Any) -> float:
    """Validate a fixed λ given as a number or a 0-d floating tensor (read on the host)."""
    if isinstance(value, torch.Tensor):
        check_lambda_tensor(value, value)
        return spec.check_real_value(float(value), value)
    return spec.validate_lambda_number(value)


def host_value_for(dtype: torch.dtype, value: float) -> float:
    """``value`` rounded so that ``fill_`` into a ``dtype`` buffer rounds as the spec does.

    16-bit floats are reached through float32 (as in :func:`grl.core.reference.cast_lambda`);
    ``fill_`` would otherwise round the float64 directly, which can differ in the last bit.
    """
    if dtype in _SIXTEEN_BIT:
        return float(np.float32(value))
    return value


def scalar_buffer(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A new 0-d tensor holding ``value`` (rounded to ``dtype`` as the spec casts λ).

    ``torch.full`` fills on the device with the value passed by argument, so a CUDA buffer is
    made without a host-to-device copy (``torch.tensor(value, device=...)`` would make one,
    and wait for it).
    """
    # Made outside inference_mode even if called in it: autograd cannot save such a tensor.
    with torch.inference_mode(False), torch.no_grad():
        return torch.full((), host_value_for(dtype, value), dtype=dtype, device=device)


def memory_has_other_users(tensor: torch.Tensor) -> bool:
    """True if a tensor other than ``tensor`` (an alias, a view) holds its memory."""
    # The two expected holders: ``tensor`` and the storage object made by this call.
    return torch._C._storage_Use_Count(tensor.untyped_storage()._cdata) > 2


def _show(tensor: torch.Tensor) -> str:
    if tensor.is_meta:
        return "?"
    value = tensor.item()
    return f"{value:.6g}" if tensor.is_floating_point() else str(value)


class GradientReversal(nn.Module):
    """Gradient reversal layer: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        lambda_: a fixed λ (a number ≥ 0 or a 0-d floating tensor, whose value is copied),
            or a schedule from :mod:`grl.core.schedules` (or its ``get_config()`` dict), e.g.
            ``grl.core.schedules.dann(total_steps=10_000)``: then ``λ = schedule(k)`` after
            ``k`` calls of :meth:`step`, starting at ``schedule(0)``.
        dtype: floating dtype of the λ buffer (float32 by default). The backward pass casts
            λ to each gradient's dtype, so this does not change gradient dtypes.

    Buffers:
        ``lambda_``: the current λ (0-d, ``dtype``); the forward pass reads it as a tensor,
        so changing it never recompiles under ``torch.compile``.
        ``step_count`` (only with a schedule): steps taken so far (0-d int64).

    λ changes only through :meth:`step`, :meth:`set_lambda` and ``load_state_dict``, never
    in ``forward``: DANN calls the layer twice per training step (source and target batch).
    They write into the buffers in place, so that λ keeps its memory (CUDA graphs and
    ``torch.jit.trace`` read it there), except while other tensors share that memory. That is
    the case while a backward is pending: the forward pass saves an alias of λ, not a copy
    (it allocates nothing), and the backward keeps the λ of its own forward because λ then
    moves to new memory (a tensor of the same dtype, device and shape: no recompile).
    """

    lambda_: torch.Tensor
    step_count: torch.Tensor

    def __init__(self, lambda_: Any = 1.0, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype; got {dtype!r}")
        schedule = as_schedule(lambda_)
        self._schedule = schedule
        value = fixed_lambda_value(lambda_) if schedule is None else schedule(0)
        self.register_buffer("lambda_", scalar_buffer(value, dtype, torch.device("cpu")))
        if schedule is not None:
            self.register_buffer("step_count", torch.tensor(0, dtype=torch.int64))
        self._seen_step: tuple[torch.Tensor, int, int] | None = None

    @property
    def schedule(self) -> schedules.Schedule | None:
        """The λ schedule given at construction, or None for a fixed λ."""
        return self._schedule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        lambda_ = self.lambda_
        if x.device != lambda_.device:
            raise ValueError(
                f"x is on {x.device} but this GradientReversal's lambda_ buffer is on "
                f"{lambda_.device}; move the module (model.to(device)) with its inputs"
            )
        check_lambda_properties(lambda_)
        if not (x.is_floating_point() or x.is_complex()):
            return x
        return reverse(x, lambda_)

    @torch.no_grad()
    def _write_buffer(self, name: str, value: float | int) -> None:
        """``buffer ← value``, in place unless its memory has other users (see the class doc).

        Those users are the aliases of λ that eager forward passes save for backward
        (:func:`grl.backends.torch.functions.reverse`), released when the backward runs, and
        anything else sharing the memory, such as a ``state_dict()`` still held: that one
        keeps λ and the step count it was taken at, consistent with each other.
        """
        buffer = self._buffers[name]
        assert buffer is not None
        if memory_has_other_users(buffer):
            setattr(self, name, scalar_buffer(value, buffer.dtype, buffer.device))
        else:
            buffer.fill_(host_value_for(buffer.dtype, value))

    @torch.compiler.disable(reason=_SET_OUTSIDE_COMPILE)
    @torch.no_grad()
    def set_lambda(self, value: Any) -> None:
        """Set a fixed λ (validated; the buffer keeps its dtype and device)."""
        if self._schedule is not None:
            raise RuntimeError(
                f"this GradientReversal follows the schedule {self._describe_schedule()}; "
                "advance it with step(), or build the module with a number to set λ by hand"
            )
        self._write_buffer("lambda_", fixed_lambda_value(value))

    def step(self) -> float:
        """Advance the schedule one training step: ``k ← k + 1``, ``λ ← schedule(k)``.

        Returns ``schedule(k)`` as a Python float (computed on the host: no device sync).
        The same as :meth:`advance` with one step (``step`` is the PyTorch idiom).
        """
        return self.advance(1)

    @torch.compiler.disable(reason=_STEP_OUTSIDE_COMPILE)
    @torch.no_grad()
    def advance(self, steps: int = 1) -> float:
        """Advance the schedule ``steps`` training steps: ``k ← k + steps``, ``λ ← schedule(k)``.

        The name every grl layer shares (Keras layer, Flax NNX module). Returns the new λ
        as a Python float.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an int >= 0; got {steps!r}")
        if self._schedule is None:
            raise RuntimeError(
                f"GradientReversal.step() needs a schedule, but this module has the fixed "
                f"lambda_={_show(self.lambda_)}; build it with e.g. "
                "lambda_=grl.core.schedules.dann(total_steps=...), or use set_lambda()"
            )
        step = self._current_step() + steps
        value = self._schedule(step)
        self._write_buffer("step_count", step)
        self._write_buffer("lambda_", value)
        self._remember_step(step)
        return value

    def _current_step(self) -> int:
        """The step count, read from the buffer only if something else changed it.

        ``load_state_dict``, DDP's buffer broadcast and ``.to()`` all change or replace the
        buffer, which changes its identity or version counter; otherwise the host copy from
        the last :meth:`step` is exact and reading the device (a sync) is skipped.
        """
        seen, buffer = self._seen_step, self.step_count
        if seen is not None and seen[0] is buffer and seen[1] == buffer._version:
            return seen[2]
        step = int(buffer)
        self._remember_step(step)
        return step

    def _remember_step(self, step: int) -> None:
        self._seen_step = (self.step_count, self.step_count._version, step)

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
        problem = self._check_saved_state(state_dict, prefix)
        if problem:
            error_msgs.append(problem)
            return
        for name, buffer in self._buffers.items():
            if buffer is None or prefix + name not in state_dict:
                continue
            if memory_has_other_users(buffer):
                # The load copies into buffers in place: as in _write_buffer, memory that
                # others read (a pending backward, a state_dict) keeps its values.
                with torch.no_grad():
                    self._buffers[name] = buffer.clone()
        errors_before = len(error_msgs)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        loaded_step = prefix + "step_count" in state_dict and len(error_msgs) == errors_before
        if self._schedule is None or not loaded_step or self.lambda_.is_meta:
            return
        self._recompute_loaded_lambda(state_dict.get(prefix + "lambda_"), prefix)

    def _check_saved_state(self, state_dict: dict[str, Any], prefix: str) -> str | None:
        """Reject an invalid λ or step count before anything is copied into this module."""
        saved_lambda = state_dict.get(prefix + "lambda_")
        if isinstance(saved_lambda, torch.Tensor) and not saved_lambda.is_meta:
            try:
                fixed_lambda_value(saved_lambda.detach())
            except (TypeError, ValueError) as error:
                return f"invalid {prefix}lambda_ in the state_dict: {error}"
        saved_step = state_dict.get(prefix + "step_count")
        if self._schedule is None or not isinstance(saved_step, torch.Tensor):
            return None
        if saved_step.is_meta:
            return None
        if (
            saved_step.shape != ()
            or saved_step.is_floating_point()
            or saved_step.is_complex()
            or saved_step.dtype == torch.bool
        ):
            return (
                f"{prefix}step_count in the state_dict must be a 0-d integer tensor; got "
                f"{spec.describe(saved_step)}"
            )
        if int(saved_step) < 0:
            return f"{prefix}step_count in the state_dict must be >= 0; got {int(saved_step)}"
        return None

    @torch.no_grad()
    def _recompute_loaded_lambda(self, saved: Any, prefix: str) -> None:
        """λ ← schedule(loaded step), warning if the checkpoint's λ disagrees."""
        assert self._schedule is not None
        step = self._current_step()
        value = self._schedule(step)
        if isinstance(saved, torch.Tensor) and not saved.is_meta:
            expected = torch.tensor(host_value_for(saved.dtype, value), dtype=saved.dtype)
            if expected.item() != saved.item():
                warnings.warn(
                    f"{prefix}lambda_={saved.item()!r} in the state_dict differs from this "
                    f"module's schedule {self._describe_schedule()} at step {step} "
                    f"({value!r}): the checkpoint was saved with other schedule settings. "
                    "Using the schedule's value.",
                    stacklevel=2,
                )
        self._write_buffer("lambda_", value)

    def _describe_schedule(self) -> str:
        assert self._schedule is not None
        config = self._schedule.get_config()
        name = config.pop("name")
        settings = ", ".join(f"{key}={value!r}" for key, value in config.items())
        return f"{name}({settings})"

    def __prepare_scriptable__(self) -> nn.Module:
        raise RuntimeError(
            "grl.torch.GradientReversal cannot be compiled by torch.jit.script: TorchScript "
            "does not support Python autograd.Functions. Use torch.compile, torch.export.export "
            "or torch.onnx.export (the GRL exports as an Identity); torch.jit.trace runs in "
            "Python but its result cannot be saved with torch.jit.save."
        )

    def extra_repr(self) -> str:
        text = f"lambda_={_show(self.lambda_)}"
        if self._schedule is not None:
            text += f", schedule={self._describe_schedule()}, step={_show(self.step_count)}"
        if self.lambda_.dtype != torch.float32:
            text += f", dtype={self.lambda_.dtype}"
        return text
