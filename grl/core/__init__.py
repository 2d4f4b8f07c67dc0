"""The backend-agnostic specification of the gradient reversal layer.

* :mod:`grl.core.reference` — the NumPy reference numerics (the spec, executable).
* :mod:`grl.core.lambda_` — validation of λ, shared by every backend.
* :mod:`grl.core.schedules` — λ schedules (pure functions of the training step), their
  formulas written once against an array namespace for the host and every device.
* :mod:`grl.core.layer` — the layer contract: λ argument, step, ``advance``, ``set_lambda``.
* :mod:`grl.core.golden` — golden vectors for third-party conformance checks.

Nothing here imports a deep-learning framework.
"""

from __future__ import annotations

import importlib
from typing import Any

from grl.core import schedules
from grl.core.lambda_ import validate_lambda_number

# The reference numerics need ml_dtypes (bfloat16), a costly import that the backends' layers
# and ops never need: loaded on first use.
_REFERENCE_NAMES = ("cast_lambda", "gradient_reversal_backward", "gradient_reversal_forward")

__all__ = [
    "cast_lambda",
    "gradient_reversal_backward",
    "gradient_reversal_forward",
    "schedules",
    "validate_lambda_number",
]


def __getattr__(name: str) -> Any:
    if name in _REFERENCE_NAMES:
        return getattr(importlib.import_module("grl.core.reference"), name)
    raise AttributeError(f"module 'grl.core' has no attribute {name!r}")
