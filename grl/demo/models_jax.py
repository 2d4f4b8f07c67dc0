"""The demo networks and their training step in JAX (plain functions, one ``jax.jit`` step).

λ and the learning rate are traced arguments of the jitted step, so changing them every
step never recompiles.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.diagnostics import Monitor, reversal_metrics
from grl.demo import monitoring
from grl.demo.experiments import Config, Layer, Net, Plan, conv_geometry, is_kernel
from grl.demo.history import LossHistory
from grl.jax import gradient_reversal

Params = dict[str, jax.Array]


def _apply(layers: tuple[Layer, ...], p: Params, x: jax.Array) -> jax.Array:
    for layer in layers:
        kind = layer[0]
        if kind == "dense":
            x = x @ p[f"{layer[1]}.w"] + p[f"{layer[1]}.b"]
        elif kind == "conv":
            x = (
                jax.lax.conv_general_dilated(
                    x,
                    p[f"{layer[1]}.w"],
                    (1, 1),
                    conv_geometry(layer)[1].upper(),
                    dimension_numbers=("NHWC", "HWIO", "NHWC"),
                )
                + p[f"{layer[1]}.b"]
            )
        elif kind == "relu":
            x = jax.nn.relu(x)
        elif kind == "tanh":
            x = jnp.tanh(x)
        elif kind == "maxpool":
            x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
    return x


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, labels[:, None], axis=1).mean()


def _binary_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    # softplus(z) − y·z is −log σ(z) for y = 1 and −log(1 − σ(z)) for y = 0, without overflow.
    return (jax.nn.softplus(logits) - labels * logits).mean()


def _loss(
    p: Params,
    net: Net,
    adversarial: bool,
    xl: jax.Array,
    yl: jax.Array,
    xt: jax.Array,
    lam: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    if not adversarial:
        label_loss = _cross_entropy(_apply(net.label_head, p, _apply(net.features, p, xl)), yl)
        return label_loss, jnp.stack([label_loss, 0.0])
    f = _apply(net.features, p, jnp.concatenate([xl, xt]))
    label_loss = _cross_entropy(_apply(net.label_head, p, f[: yl.shape[0]]), yl)
    d = _apply(net.domain_head, p, gradient_reversal(f, lam))[:, 0]
    domain_y = jnp.concatenate([jnp.zeros(yl.shape[0]), jnp.ones(xt.shape[0])])
    domain_loss = _binary_cross_entropy(d, domain_y)
    return label_loss + domain_loss, jnp.stack([label_loss, domain_loss])


def _step_body(
    p: Params,
    bufs: Params,
    data: tuple[jax.Array, jax.Array, jax.Array],
    l_idx: jax.Array,
    t_idx: jax.Array,
    lr: jax.Array,
    lam: jax.Array,
    net: Net,
    adversarial: bool,
    momentum: float,
    weight_decay: float,
) -> tuple[Params, Params, jax.Array]:
    x, y, xt = data
    grads, losses = jax.grad(_loss, has_aux=True)(
        p, net, adversarial, x[l_idx], y[l_idx], xt[t_idx], lam
    )
    grads = {k: g + weight_decay * p[k] if is_kernel(k) else g for k, g in grads.items()}
    # torch.optim.SGD's momentum: buf = μ·buf + g; p -= lr·buf.
    bufs = jax.tree.map(lambda b, g: momentum * b + g, bufs, grads)
    p = jax.tree.map(lambda w, b: w - lr * b, p, bufs)
    return p, bufs, losses


_step = jax.jit(
    _step_body,
    static_argnames=("net", "adversarial", "momentum", "weight_decay"),
    donate_argnums=(0, 1),
)


def _batch(
    p: Params,
    data: tuple[jax.Array, jax.Array, jax.Array],
    l_idx: jax.Array,
    t_idx: jax.Array,
    net: Net,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The shared features of this step's source + target batch, its labels and domains."""
    x, y, xt = data
    f = _apply(net.features, p, jnp.concatenate([x[l_idx], xt[t_idx]]))
    domain_y = jnp.concatenate([jnp.zeros(l_idx.shape[0]), jnp.ones(t_idx.shape[0])])
    return f, y[l_idx], domain_y


def _reversal_metrics(
    head: Params,
    p: Params,
    batch: tuple[jax.Array, jax.Array, jax.Array],
    lam: jax.Array,
    step: jax.Array,
    net: Net,
) -> dict[str, jax.Array]:
    """The monitor's numbers (grl's ``reversal_metrics``) for ``head`` behind a GRL with λ."""
    f, yl, domain_y = batch
    return reversal_metrics(
        lambda r: _binary_cross_entropy(_apply(net.domain_head, head, r)[:, 0], domain_y),
        f,
        lam,
        step,
        label_loss=lambda g: _cross_entropy(_apply(net.label_head, p, g[: yl.shape[0]]), yl),
        domain_logits=_apply(net.domain_head, head, f)[:, 0],  # the GRL: identity forward
        domain_labels=domain_y,
    )


@functools.partial(jax.jit, static_argnames=("net",))
def _metrics(
    p: Params,
    data: tuple[jax.Array, jax.Array, jax.Array],
    l_idx: jax.Array,
    t_idx: jax.Array,
    lam: jax.Array,
    step: jax.Array,
    net: Net,
) -> dict[str, jax.Array]:
    """DANN: the numbers of the step about to run (same weights, batch and λ); read-only."""
    return _reversal_metrics(p, p, _batch(p, data, l_idx, t_idx, net), lam, step, net)


@functools.partial(
    jax.jit, static_argnames=("net", "momentum", "weight_decay"), donate_argnums=(0, 1)
)
def _probe(
    head: Params,
    bufs: Params,
    p: Params,
    data: tuple[jax.Array, jax.Array, jax.Array],
    l_idx: jax.Array,
    t_idx: jax.Array,
    lr: jax.Array,
    step: jax.Array,
    net: Net,
    momentum: float,
    weight_decay: float,
) -> tuple[Params, Params, dict[str, jax.Array]]:
    """Source only: one SGD step of the probe domain head on detached features, λ = 0."""
    batch = jax.lax.stop_gradient(_batch(p, data, l_idx, t_idx, net))
    f, _, domain_y = batch
    zero = jnp.float32(0.0)

    def loss(h: Params) -> jax.Array:
        logits = _apply(net.domain_head, h, gradient_reversal(f, zero))[:, 0]
        return _binary_cross_entropy(logits, domain_y)

    grads = jax.grad(loss)(head)
    metrics = _reversal_metrics(head, p, batch, zero, step, net)
    grads = {k: g + weight_decay * head[k] if is_kernel(k) else g for k, g in grads.items()}
    bufs = jax.tree.map(lambda b, g: momentum * b + g, bufs, grads)
    head = jax.tree.map(lambda w, b: w - lr * b, head, bufs)
    return head, bufs, metrics


#: The step's two forms (``compiled``), the default first (docs/results.md has timings).
FORMS = {True: "jax.jit", False: "op by op"}


class Trainer:
    """Runs one method's training plan step by step; same maths as the torch and TF trainers."""

    def __init__(
        self,
        config: Config,
        params: dict[str, np.ndarray],
        plan: Plan,
        labelled: tuple[np.ndarray, np.ndarray],
        target: np.ndarray,
        adversarial: bool,
        compiled: bool = True,
        monitor_every: int | None = None,
    ) -> None:
        # compiled=False runs the same step op by op (for timing; see docs/results.md).
        self._step = _step if compiled else _step_body
        self.net, self.plan = config.net, plan
        self.momentum, self.adversarial = config.momentum, adversarial
        self.weight_decay = config.weight_decay
        self.params = {k: jnp.asarray(v) for k, v in params.items()}
        self.bufs = {k: jnp.zeros_like(v) for k, v in self.params.items()}
        self.data = (jnp.asarray(labelled[0]), jnp.asarray(labelled[1]), jnp.asarray(target))
        self.losses = LossHistory(len(plan.lr), lambda rows: np.asarray(jnp.stack(list(rows))))
        self.log: monitoring.MonitorLog | None = None
        if monitor_every is not None:
            every = monitoring.check_every(monitor_every)
            self.monitor = Monitor(None, thresholds=monitoring.thresholds(every))
            self.log = monitoring.MonitorLog(every, self.monitor.diagnostics)
            if not adversarial:
                # Source only: a probe domain head behind a GRL with λ = 0, its own copy of
                # DANN's initial domain head (grl.demo.monitoring).
                keys = monitoring.head_keys(config.net.domain_head)
                self.probe = {k: jnp.asarray(params[k]) for k in keys}
                self.probe_bufs = {k: jnp.zeros_like(v) for k, v in self.probe.items()}

    def _record(self, i: int, metrics: dict[str, jax.Array]) -> None:
        assert self.log is not None
        self.log.add(i, lambda: monitoring.strip_prefix(self.monitor.update(metrics)))

    def step(self, i: int) -> None:
        """One SGD step of the plan."""
        plan = self.plan
        if self.log is not None:
            recording = i % self.log.every == 0
            args = (self.data, plan.labelled_idx[i], plan.target_idx[i])
            if not self.adversarial:
                self.probe, self.probe_bufs, metrics = _probe(
                    self.probe,
                    self.probe_bufs,
                    self.params,
                    *args,
                    plan.lr[i],
                    i,
                    self.net,
                    self.momentum,
                    self.weight_decay,
                )
                if recording:
                    self._record(i, metrics)
            elif recording:
                # Read on the host before the step, which donates these weights.
                self._record(i, _metrics(self.params, *args, plan.lambda_[i], i, self.net))
        self.params, self.bufs, losses = self._step(
            self.params,
            self.bufs,
            self.data,
            plan.labelled_idx[i],
            plan.target_idx[i],
            plan.lr[i],
            plan.lambda_[i],
            self.net,
            self.adversarial,
            self.momentum,
            self.weight_decay,
        )
        self.losses.add(losses)

    def loss_history(self) -> np.ndarray:
        """(steps, 2): label loss and domain loss of each step so far."""
        return self.losses.array()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class logits for NumPy inputs."""
        f = _apply(self.net.features, self.params, jnp.asarray(x, jnp.float32))
        return np.asarray(_apply(self.net.label_head, self.params, f))

    def features(self, x: np.ndarray) -> np.ndarray:
        """The shared features G_f(x) (the GRL's input) for NumPy inputs."""
        return np.asarray(_apply(self.net.features, self.params, jnp.asarray(x, jnp.float32)))
