"""GRLs broken in each way the specification rules out (the kit must catch every one).

Each is grl's own op with exactly one defect, so that the check that catches it is the
only thing that changes. Imported by the kit's tests and by the CLI tests as MODULE:ATTR.
"""

from __future__ import annotations

from typing import Any


def torch_wrong_sign(x: Any, lambda_: Any) -> Any:
    """Backward +λ·g: a second reversal by 1 flips the sign (negation is exact)."""
    from grl.torch import gradient_reversal

    return gradient_reversal(gradient_reversal(x, lambda_), 1.0)


def torch_lambda_twice(x: Any, lambda_: Any) -> Any:
    """Backward −λ²·g: λ applied in the layer and again (as when λ also scales the loss)."""
    from grl.torch import gradient_reversal

    return gradient_reversal(gradient_reversal(gradient_reversal(x, lambda_), lambda_), 1.0)


def torch_recompiling_lambda(x: Any, lambda_: Any) -> Any:
    """λ read as a Python float: torch.compile specialises on it and recompiles."""
    from grl.torch import gradient_reversal

    return gradient_reversal(x, float(lambda_))


def torch_copying_forward(x: Any, lambda_: Any) -> Any:
    """The forward returns a copy of the input (a full extra pass and buffer)."""
    from grl.torch import gradient_reversal

    return gradient_reversal(x, lambda_).clone()


def tf_custom_gradient_snippet(x: Any, lambda_: Any) -> Any:
    """The Keras ``tf.custom_gradient`` snippet: forward mode silently gives +t."""
    import tensorflow as tf

    @tf.custom_gradient
    def reverse(x: Any) -> Any:
        def grad(dy: Any) -> Any:
            return dy * tf.cast(-lambda_, dy.dtype)

        return tf.identity(x), grad

    return reverse(x)
