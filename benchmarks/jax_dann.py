"""JAX macro benchmark: one DANN training step with grl or with identity in its place.

The demo's JAX builder applies the network to a parameter dict; ``optax.sgd`` with
momentum trains it. Eager runs the step op by op; compiled is ``jax.jit`` of the whole
step. λ comes from the jittable DANN schedule of :mod:`grl.jax.schedules` at a step count
passed in as an array; "grl, fixed λ" uses a constant λ instead.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from benchmarks import dann, jax_memory, records
from benchmarks.dann import Model
from benchmarks.settings import Settings
from grl.demo.models_jax import _apply as apply_layers
from grl.jax import gradient_reversal
from grl.jax import schedules as jax_schedules

SCHEDULE = jax_schedules.dann(total_steps=dann.SCHEDULE_STEPS)
VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY)


def make_loss(model: Model, variant: str) -> Callable:
    net = model.net

    def reversal(f: jax.Array, step: jax.Array) -> jax.Array:
        if variant == records.GRL:
            return gradient_reversal(f, SCHEDULE(step))
        if variant == records.GRL_FIXED:
            return gradient_reversal(f, dann.FIXED_LAMBDA)
        return f

    def loss(params: dict, data: dict, step: jax.Array) -> jax.Array:
        f = apply_layers(net.features, params, jnp.concatenate([data["source"], data["target"]]))
        label_logits = apply_layers(net.label_head, params, f[: model.batch])
        label_loss = optax.softmax_cross_entropy_with_integer_labels(
            label_logits, data["labels"]
        ).mean()
        domain_logits = apply_layers(net.domain_head, params, reversal(f, step))[:, 0]
        domain_loss = optax.sigmoid_binary_cross_entropy(domain_logits, data["domains"]).mean()
        return label_loss + domain_loss

    return loss


def make_update(model: Model, variant: str) -> tuple[Callable, tuple]:
    """The pure step ``(params, opt_state, data, step) -> (params, opt_state, step + 1)``."""
    optimizer = optax.sgd(dann.LEARNING_RATE, momentum=dann.MOMENTUM)
    params = {k: jnp.asarray(v) for k, v in model.params().items()}
    data = {k: jnp.asarray(v) for k, v in model.data().items()}
    data["labels"] = data["labels"].astype(jnp.int32)
    grad = jax.grad(make_loss(model, variant))

    def update(params: dict, opt_state: object, data: dict, step: jax.Array) -> tuple:
        updates, opt_state = optimizer.update(grad(params, data, step), opt_state, params)
        return optax.apply_updates(params, updates), opt_state, step + 1

    return update, (params, optimizer.init(params), data, jnp.zeros((), jnp.int32))


class TrainingStep:
    """One full training step of ``variant`` per call; ``state`` holds its arrays."""

    def __init__(self, model: Model, variant: str, mode: str):
        self.pure, self.state = make_update(model, variant)
        self.update = self.pure if mode == "eager" else jax.jit(self.pure)

    def __call__(self) -> None:
        params, opt_state, data, count = self.state
        params, opt_state, count = self.update(params, opt_state, data, count)
        jax.block_until_ready(params)
        self.state = (params, opt_state, data, count)


def steps_for(model: Model, mode: str) -> dict[str, TrainingStep]:
    return {v: TrainingStep(model, v, mode) for v in VARIANTS}


def run(settings: Settings) -> list[records.Record]:
    return dann.run("jax", settings, steps_for, jax_memory.step_plan_records)
