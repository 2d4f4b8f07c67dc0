"""``step_all``: advance every ``GradientReversal`` in a model by one training step."""

from __future__ import annotations

from torch import nn

from grl.backends.torch.module import GradientReversal


def step_all(model: nn.Module) -> int:
    """Call :meth:`GradientReversal.step` on every GRL in ``model``; returns how many.

    Call it once per training step, after ``optimizer.step()`` (as with an
    ``lr_scheduler``): after ``n`` steps every GRL holds ``step_count == n`` and
    ``λ == schedule(n)`` (a fixed λ stays). The position lives in each module's
    ``step_count`` buffer, so ``model.state_dict()`` is the whole checkpoint. A GRL shared
    by several branches is stepped once. Works on wrapped models too
    (``DistributedDataParallel``, ``torch.compile``): their ``modules()`` include the model.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``model`` contains no ``GradientReversal`` (most likely the wrong
            object was passed).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module; got {type(model).__name__}: {model!r:.60}"
        )
    layers = [module for module in model.modules() if isinstance(module, GradientReversal)]
    if not layers:
        raise ValueError(
            f"model ({type(model).__name__}) contains no grl.torch.GradientReversal module, so "
            "there is no λ schedule to step"
        )
    for layer in layers:
        layer.step()
    return len(layers)
