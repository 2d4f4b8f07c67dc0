"""grl for PyTorch: ``gradient_reversal``, the ``GradientReversal`` module and ``step_all``.

λ schedules come from :mod:`grl.core.schedules` (re-exported here as ``schedules``);
``diagnostics`` (the monitor, warnings and placement check of ``docs/diagnostics.md``) is
loaded on first access. Imports neither TensorFlow nor JAX.
"""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from grl._frameworks import require

require("torch")

from grl.backends.torch import GradientReversal, gradient_reversal, step_all  # noqa: E402
from grl.core import schedules  # noqa: E402

if TYPE_CHECKING:
    from grl.backends.torch import diagnostics

__all__ = ["GradientReversal", "diagnostics", "gradient_reversal", "schedules", "step_all"]


def __getattr__(name: str) -> ModuleType:
    if name != "diagnostics":
        raise AttributeError(f"module 'grl.torch' has no attribute {name!r}")
    return importlib.import_module("grl.backends.torch.diagnostics")
