"""``step_all``: advance the λ schedule of every ``GradientReversal`` in a model at once."""

from __future__ import annotations

from torch import nn

from grl.backends.torch.module import GradientReversal


def step_all(model: nn.Module) -> int:
    """Call :meth:`GradientReversal.step` on every scheduled GRL in ``model``.

    Call it once per training step, after ``optimizer.step()`` (as with an
    ``lr_scheduler``). The schedule position lives in each module's ``step_count`` buffer,
    so ``model.state_dict()`` is the whole checkpoint: there is no scheduler state to save.
    A GRL shared by several branches is stepped once; GRLs with a fixed λ are left alone.
    Works on wrapped models too (``DistributedDataParallel``, ``torch.compile``), since
    their ``modules()`` include the wrapped model.

    Returns:
        The number of GRLs stepped (0 if every GRL has a fixed λ).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: ``model`` contains no ``GradientReversal`` at all (most likely the
            wrong object was passed).
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
    scheduled = [layer for layer in layers if layer.schedule is not None]
    for layer in scheduled:
        layer.step()
    return len(scheduled)
