"""LossHistory: the per-step losses, with at most PENDING_STEPS device values held."""

from __future__ import annotations

import numpy as np

from grl.demo import history
from grl.demo.history import LossHistory


def test_rows_in_order_across_flushes_and_few_values_held():
    copies = []

    def to_host(rows):
        copies.append(len(rows))
        return np.stack(rows)

    steps = 2 * history.PENDING_STEPS + 37
    losses = LossHistory(steps, to_host)
    expected = np.arange(2 * steps, dtype=np.float32).reshape(steps, 2)
    for i, row in enumerate(expected):
        losses.add(row)
        assert len(losses.pending) < history.PENDING_STEPS
        if i == 10:
            np.testing.assert_array_equal(losses.array(), expected[:11])
    np.testing.assert_array_equal(losses.array(), expected)
    assert sum(copies) == steps and max(copies) == history.PENDING_STEPS
    assert losses.array().shape == (steps, 2) and LossHistory(3, to_host).array().shape == (0, 2)
