"""The interface between the conformance suite and one backend.

The op and layer methods are the shipped kit's (:class:`grl.conformance.Adapter`, which
documents each one); this class adds the layer-contract methods that
``tests/conformance/test_layer_contract.py`` drives. Arrays cross the boundary as NumPy
arrays (``bfloat16`` as ``ml_dtypes.bfloat16``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grl.conformance.adapter import SECOND_ORDER_TARGET
from grl.conformance.adapter import Adapter as OpAdapter

__all__ = ["SECOND_ORDER_TARGET", "Adapter", "OpAdapter"]


class Adapter(OpAdapter):
    # -- the layer contract (grl.core.layer; tests/conformance/test_layer_contract.py) --
    #: This backend's layers, by the name the layer-contract tests use.
    layer_kinds: Sequence[str] = ()

    def contract_layer(self, kind: str, lambda_: Any) -> Any:
        """A new layer of ``kind`` built with ``lambda_`` (a number, a 0-d tensor made by
        :meth:`make_lambda`, a schedule or a config dict, or a bad value to be refused):
        a handle that the other ``contract_*`` methods take."""
        raise NotImplementedError

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        """The layer's λ (as a Python float), λ's storage dtype name, and its step."""
        raise NotImplementedError

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        raise NotImplementedError

    def contract_advance(self, handle: Any, steps: Any) -> None:
        raise NotImplementedError

    def contract_train(self, handle: Any, batches: int) -> Any:
        """``batches`` training steps of a small model holding the layer, through the
        framework's own training and stepping path (torch: optimizer step then
        ``step_all``; Keras: ``fit`` with ``GradientReversalScheduler``; NNX: a jitted step
        calling ``advance``; Linen: ``advance(variables)``). Returns the layer's handle."""
        raise NotImplementedError

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        """Save the layer with the framework's native checkpoint (torch ``state_dict``,
        Keras weights file, NNX state, Linen variables), build a fresh layer of ``kind``
        with ``lambda_`` and restore into it; returns the restored handle."""
        raise NotImplementedError

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        """Load a saved state with this λ and step through the native loading path."""
        raise NotImplementedError

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        """``schedule`` at each of ``steps`` (float64), evaluated by this backend's compiled
        device path (``grl.core.schedules.evaluate`` with the framework's namespace)."""
        raise NotImplementedError
