"""The demo networks and their training step in TensorFlow (``tf.Variable`` + ``tf.function``).

λ lives in a ``tf.Variable`` that the step assigns, so the compiled step is traced once and
never bakes in a stale λ.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from grl.core import diagnostics as core
from grl.demo import monitoring
from grl.demo.experiments import Config, Layer, Plan, conv_geometry, is_kernel
from grl.demo.history import LossHistory
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


#: The step's two forms (``compiled``), the default first (docs/results.md has timings).
FORMS = {False: "tf.function", True: "tf.function + XLA"}


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
        monitor_every: int | None = None,
    ) -> None:
        self.net, self.plan, self.momentum = config.net, plan, config.momentum
        self.adversarial = adversarial
        self.weight_decay = config.weight_decay
        self.vars = {k: tf.Variable(p, name=k.replace(".", "_")) for k, p in params.items()}
        self.bufs = {k: tf.Variable(tf.zeros_like(p)) for k, p in params.items()}
        self.lambda_ = tf.Variable(0.0, dtype=tf.float32)
        self.x, self.y = tf.constant(labelled[0]), tf.constant(labelled[1])
        self.xt = tf.constant(target)
        n = plan.labelled_idx.shape[1]
        self.domain_y = tf.concat([tf.zeros(n), tf.ones(n)], 0)
        self.losses = LossHistory(len(plan.lr), lambda rows: tf.stack(list(rows)).numpy())
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
        self.log: monitoring.MonitorLog | None = None
        if monitor_every is not None:
            self._start_monitor(params, monitoring.check_every(monitor_every), signature)

    def _start_monitor(
        self, params: dict[str, np.ndarray], every: int, signature: list[tf.TensorSpec]
    ) -> None:
        # The Keras monitor is a model.fit callback; this trainer is a tf.function loop, so
        # it feeds the rules every monitor shares (grl.core.diagnostics) directly.
        self.diagnostics = core.Diagnostics(
            scheduled=False, total_steps=None, thresholds=monitoring.thresholds(every)
        )
        self.log = monitoring.MonitorLog(every, self.diagnostics)
        if self.adversarial:
            self._metrics = tf.function(self._dann_metrics, input_signature=signature[:2])
        else:
            # Source only: a probe domain head behind a GRL with λ = 0, its own copy of
            # DANN's initial domain head (grl.demo.monitoring).
            keys = monitoring.head_keys(self.net.domain_head)
            self.probe_vars = {
                k: tf.Variable(params[k], name="probe_" + k.replace(".", "_")) for k in keys
            }
            self.probe_bufs = {k: tf.Variable(tf.zeros_like(params[k])) for k in keys}
            self._probe = tf.function(self._probe_step, input_signature=signature)

    def _reversal_sums(
        self, head: dict[str, tf.Variable], l_idx: tf.Tensor, t_idx: tf.Tensor, lam: tf.Tensor
    ) -> tuple[tf.Tensor, tf.GradientTape, tf.Tensor]:
        """The monitor's sums (|in|², |out|², <in, out>, |task|², domain loss and accuracy)
        for ``head`` behind a GRL with λ = ``lam`` on this step's batch; the tape and the
        domain loss, for the probe's update."""
        xl, yl = tf.gather(self.x, l_idx), tf.gather(self.y, l_idx)
        f = _apply(self.net.features, self.vars, tf.concat([xl, tf.gather(self.xt, t_idx)], 0))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(f)
            r = gradient_reversal(f, lam)
            d = _apply(self.net.domain_head, head, r)[:, 0]
            domain_loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=self.domain_y, logits=d)
            )
            logits = _apply(self.net.label_head, self.vars, f[: tf.shape(yl)[0]])
            label_loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yl, logits=logits)
            )
        arriving, leaving = tape.gradient(domain_loss, [r, f])
        task = tape.gradient(label_loss, f)
        arriving, leaving, task = (tf.cast(g, tf.float64) for g in (arriving, leaving, task))
        correct = tf.cast(d > 0, tf.float32) == self.domain_y
        sums = tf.stack(
            [
                tf.reduce_sum(arriving * arriving),
                tf.reduce_sum(leaving * leaving),
                tf.reduce_sum(arriving * leaving),
                tf.reduce_sum(task * task),
                tf.cast(domain_loss, tf.float64),
                tf.reduce_mean(tf.cast(correct, tf.float64)),
            ]
        )
        return sums, tape, domain_loss

    def _dann_metrics(self, l_idx: tf.Tensor, t_idx: tf.Tensor) -> tf.Tensor:
        """DANN: the sums of the step about to run (same weights, batch and λ); read-only."""
        return self._reversal_sums(self.vars, l_idx, t_idx, self.lambda_)[0]

    def _probe_step(self, l_idx: tf.Tensor, t_idx: tf.Tensor, lr: tf.Tensor) -> tf.Tensor:
        """Source only: one SGD step of the probe domain head on detached features, λ = 0."""
        sums, tape, loss = self._reversal_sums(self.probe_vars, l_idx, t_idx, tf.constant(0.0))
        self._sgd(tape, loss, lr, self.probe_vars, self.probe_bufs)
        return sums

    def _update(self, tape: tf.GradientTape, loss: tf.Tensor, lr: tf.Tensor) -> None:
        self._sgd(tape, loss, lr, self.vars, self.bufs)

    def _sgd(
        self,
        tape: tf.GradientTape,
        loss: tf.Tensor,
        lr: tf.Tensor,
        variables: dict[str, tf.Variable],
        bufs: dict[str, tf.Variable],
    ) -> None:
        names = sorted(variables)
        grads = tape.gradient(loss, [variables[k] for k in names])
        for k, g in zip(names, grads, strict=True):
            if g is None:  # the domain head of a non-adversarial method
                continue
            if is_kernel(k):
                g = g + self.weight_decay * variables[k]
            # torch.optim.SGD's momentum: buf = μ·buf + g; p -= lr·buf.
            bufs[k].assign(self.momentum * bufs[k] + g)
            variables[k].assign_sub(lr * bufs[k])

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
        if self.log is not None:
            self._monitor(i)
        self.losses.add(
            self._step(self.plan.labelled_idx[i], self.plan.target_idx[i], self.plan.lr[i])
        )

    def _monitor(self, i: int) -> None:
        """Before step ``i``: the probe's update (source only) and, every ``every`` steps,
        the monitor's record."""
        assert self.log is not None
        plan, recording = self.plan, i % self.log.every == 0
        if self.adversarial:
            if not recording:
                return
            sums = self._metrics(plan.labelled_idx[i], plan.target_idx[i])
            lam = float(plan.lambda_[i])
        else:
            sums = self._probe(plan.labelled_idx[i], plan.target_idx[i], plan.lr[i])
            lam = 0.0
        if recording:
            # (|in|², |out|², <in, out>, |task|², domain loss, domain accuracy)
            sums = sums.numpy().tolist()
            values = core.step_values(i, lam, sums[:4], *sums[4:])
            self.log.add(i, lambda: monitoring.judge(self.diagnostics, values))

    def loss_history(self) -> np.ndarray:
        """(steps, 2): label loss and domain loss of each step so far."""
        return self.losses.array()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class logits for NumPy inputs."""
        f = _apply(self.net.features, self.vars, tf.constant(x, tf.float32))
        return _apply(self.net.label_head, self.vars, f).numpy()

    def features(self, x: np.ndarray) -> np.ndarray:
        """The shared features G_f(x) (the GRL's input) for NumPy inputs."""
        return _apply(self.net.features, self.vars, tf.constant(x, tf.float32)).numpy()
