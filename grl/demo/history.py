"""The per-step losses a trainer keeps, without holding one device value per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Steps whose losses wait on the device before one copy to the host. Kept per step for a
#: whole run, the small loss tensors pinned freed activation memory in the C heap between
#: them: the process grew by about 2 MB per step (23 GB over the full MNIST-M run).
PENDING_STEPS = 100


class LossHistory:
    """(label loss, domain loss) per step: device values, stacked and copied to the host
    every :data:`PENDING_STEPS` steps (one sync per hundred steps, not one per step).

    ``to_host`` turns a list of the framework's (2,) loss tensors into a ``(n, 2)`` array.
    """

    def __init__(self, steps: int, to_host: Callable[[Sequence[Any]], np.ndarray]) -> None:
        self.rows = np.zeros((steps, 2), np.float32)
        self.count = 0
        self.pending: list[Any] = []
        self.to_host = to_host

    def add(self, losses: Any) -> None:
        self.pending.append(losses)
        if len(self.pending) == PENDING_STEPS:
            self._flush()

    def array(self) -> np.ndarray:
        """(steps so far, 2)."""
        self._flush()
        return self.rows[: self.count].copy()

    def _flush(self) -> None:
        if self.pending:
            block = np.asarray(self.to_host(self.pending), np.float32).reshape(-1, 2)
            self.rows[self.count : self.count + len(block)] = block
            self.count += len(block)
            self.pending = []
