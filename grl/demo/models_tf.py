"""The demo networks and their training step in TensorFlow (``tf.Variable`` + ``tf.function``).

λ lives in a ``tf.Variable`` that the step assigns, so the compiled step is traced once and
never bakes in a stale λ.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from grl.demo.experiments import Config, Layer, Plan, conv_geometry, is_kernel
from grl.tf import gradient_reversal


def _apply(layers: tuple[Layer, ...], v: dict[str, tf.Variable], x: tf.Tensor) -> tf.Tensor:
    for layer in layers:
        kind = layer[0]
        if kind == "dense":
            x = tf.matmul(x, v[f"{layer[1]}.w"]) + v[f"{layer[1]}.b"]
        elif kind == "conv":
            padding = conv_geometry(layer)[1].upper()
            x = tf.nn.conv2d(x, v[f"{layer[1]}.w"], 1, padding) + v[f"{layer[1]}.b"]
        elif kind == "relu":
            x = tf.nn.relu(x)
        elif kind == "tanh":
            x = tf.tanh(x)
        elif kind == "maxpool":
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        elif kind == "flatten":
            x = tf.reshape(x, (tf.shape(x)[0], -1))
    return x


class Trainer:
    """Runs one method's training plan step by step; same maths as the torch and JAX trainers."""

    def __init__(
        self,
        config: Config,
        params: dict[str, np.ndarray],
        plan: Plan,
        labelled: tuple[np.ndarray, np.ndarray],
        target: np.ndarray,
        adversarial: bool,
        compiled: bool = False,
    ) -> None:
        self.net, self.plan, self.momentum = config.net, plan, config.momentum
        self.weight_decay = config.weight_decay
        self.vars = {k: tf.Variable(p, name=k.replace(".", "_")) for k, p in params.items()}
        self.bufs = {k: tf.Variable(tf.zeros_like(p)) for k, p in params.items()}
        self.lambda_ = tf.Variable(0.0, dtype=tf.float32)
        self.x, self.y = tf.constant(labelled[0]), tf.constant(labelled[1])
        self.xt = tf.constant(target)
        n = plan.labelled_idx.shape[1]
        self.domain_y = tf.concat([tf.zeros(n), tf.ones(n)], 0)
        self.losses: list[tf.Tensor] = []
        signature = [
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([], tf.float32),
        ]
        self._step = tf.function(
            self._adversarial_step if adversarial else self._plain_step,
            input_signature=signature,
            # XLA on top of tf.function; off by default: docs/results.md has the timings.
            jit_compile=compiled,
        )

    def _update(self, tape: tf.GradientTape, loss: tf.Tensor, lr: tf.Tensor) -> None:
        names = sorted(self.vars)
        grads = tape.gradient(loss, [self.vars[k] for k in names])
        for k, g in zip(names, grads, strict=True):
            if g is None:  # the domain head of a non-adversarial method
                continue
            if is_kernel(k):
                g = g + self.weight_decay * self.vars[k]
            # torch.optim.SGD's momentum: buf = μ·buf + g; p -= lr·buf.
            self.bufs[k].assign(self.momentum * self.bufs[k] + g)
            self.vars[k].assign_sub(lr * self.bufs[k])

    def _plain_step(self, l_idx: tf.Tensor, t_idx: tf.Tensor, lr: tf.Tensor) -> tf.Tensor:
        del t_idx
        xl, yl = tf.gather(self.x, l_idx), tf.gather(self.y, l_idx)
        with tf.GradientTape() as tape:
            logits = _apply(
                self.net.label_head, self.vars, _apply(self.net.features, self.vars, xl)
            )
            label_loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yl, logits=logits)
            )
        self._update(tape, label_loss, lr)
        return tf.stack([label_loss, 0.0])

    def _adversarial_step(self, l_idx: tf.Tensor, t_idx: tf.Tensor, lr: tf.Tensor) -> tf.Tensor:
        xl, yl = tf.gather(self.x, l_idx), tf.gather(self.y, l_idx)
        x = tf.concat([xl, tf.gather(self.xt, t_idx)], 0)
        with tf.GradientTape() as tape:
            f = _apply(self.net.features, self.vars, x)
            logits = _apply(self.net.label_head, self.vars, f[: tf.shape(yl)[0]])
            label_loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yl, logits=logits)
            )
            d = _apply(self.net.domain_head, self.vars, gradient_reversal(f, self.lambda_))
            domain_loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=self.domain_y, logits=d[:, 0])
            )
            loss = label_loss + domain_loss  # inside the tape, or it has no gradient
        self._update(tape, loss, lr)
        return tf.stack([label_loss, domain_loss])

    def step(self, i: int) -> None:
        """One SGD step of the plan."""
        self.lambda_.assign(self.plan.lambda_[i])
        self.losses.append(
            self._step(self.plan.labelled_idx[i], self.plan.target_idx[i], self.plan.lr[i])
        )

    def loss_history(self) -> np.ndarray:
        """(steps, 2): label loss and domain loss of each step so far."""
        return tf.stack(self.losses).numpy() if self.losses else np.zeros((0, 2))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class logits for NumPy inputs."""
        f = _apply(self.net.features, self.vars, tf.constant(x, tf.float32))
        return _apply(self.net.label_head, self.vars, f).numpy()

    def features(self, x: np.ndarray) -> np.ndarray:
        """The shared features G_f(x) (the GRL's input) for NumPy inputs."""
        return _apply(self.net.features, self.vars, tf.constant(x, tf.float32)).numpy()
