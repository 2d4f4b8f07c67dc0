"""A small variable update, run from eager code as one compiled TensorFlow call.

The Keras layer's ``advance`` is a dozen scalar operations and two assignments. Run op by
op from eager code, between two compiled train steps, they cost far more than their work:
each eager op, or each op of a graph function, is a separate dispatch (a graph function's
executor adds about 10 µs per op on a CPU). An XLA computation runs them as one kernel.
Measured on a CPU, between two XLA steps of the benchmark's MLP DANN model: 0.5–0.7 ms
per update as a graph function or as eager assignments, 0.1–0.2 ms as an XLA call.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


class EagerUpdate:
    """``update(n)`` as an XLA call when ``xla``, else (or where XLA fails) a graph call.

    The schedule formulas give the host's bits under XLA too (see
    :mod:`grl.core.schedules`), so the caller asks for XLA wherever one call can update
    the variables (not for variables mirrored over several devices). The XLA function is
    called through its concrete function (one per distinct ``n``, a Python int): that
    skips the argument matching of a ``tf.function`` call, about half of the call's cost.
    A device without XLA support fails the first XLA call before any update; the graph
    function, which does the same update, then takes over.
    """

    def __init__(self, update: Callable[[int], None], xla: bool) -> None:
        self._graph = tf.function(update, autograph=False)
        self._xla = tf.function(update, autograph=False, jit_compile=True) if xla else None
        self._compiled: dict[int, Callable[[], object]] = {}

    def __call__(self, n: int) -> None:
        if self._xla is None:
            self._graph(n)
            return
        compiled = self._compiled.get(n)
        if compiled is not None:
            compiled()
            return
        concrete = self._xla.get_concrete_function(n)
        try:
            concrete()
        except tf.errors.OpError:
            if self._compiled:
                raise  # XLA works here: a real error
            self._xla = None
            self._graph(n)
            return
        self._compiled[n] = concrete
