"""TensorFlow GRLs to compare with, re-implemented here from their common description.

* the ``tf.custom_gradient`` layer of most TF DANN code: forward ``tf.identity(x)``,
  backward ``tf.negative(dy) * λ`` (two passes), with λ a Python float;
* the loss subtraction ``L_y − λ·L_d`` (JMLR 2016 form), which needs no layer: the
  features get the gradient of ``L_y − λ·L_d`` and the domain head that of ``L_d``
  (one gradient call per group of variables); it has no micro benchmark, only the
  DANN step and the retrace count.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from benchmarks.peers.names import CUSTOM_GRADIENT, LOSS_SUBTRACTION


def custom_gradient_layer(lambda_: float) -> Callable[[tf.Tensor], tf.Tensor]:
    """``x ↦ x`` with the gradient ``(−dy)·λ``; λ fixed at construction as a Python float."""

    @tf.custom_gradient
    def reverse(x: tf.Tensor):
        def grad(dy: tf.Tensor) -> tf.Tensor:
            return tf.negative(dy) * lambda_

        return tf.identity(x), grad

    return reverse


ORIGINS = {
    CUSTOM_GRADIENT: "re-implemented here (the usual tf.custom_gradient GRL)",
    LOSS_SUBTRACTION: "re-implemented here (JMLR 2016 loss form, no layer)",
}
