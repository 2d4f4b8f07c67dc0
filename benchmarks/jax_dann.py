"""JAX macro benchmark: one DANN training step with grl or with identity in its place.

Plain ``jax.numpy`` layers over a parameter dict and ``optax.sgd`` with momentum. Eager
runs the step op by op; compiled is ``jax.jit`` of the whole step. λ comes from the
jittable DANN schedule of :mod:`grl.jax.schedules` at a step count passed in as an array;
"grl, fixed λ" uses a constant λ instead.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from benchmarks import dann_spec, records
from benchmarks.dann_spec import ModelSpec
from benchmarks.settings import Settings
from benchmarks.timing import interleaved_samples
from grl.jax import gradient_reversal
from grl.jax import schedules as jax_schedules

SCHEDULE = jax_schedules.dann(total_steps=dann_spec.SCHEDULE_STEPS)
FIXED = 0.5
VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY)


def _dense(params: dict, name: str, x: jax.Array) -> jax.Array:
    return x @ params[f"{name}.w"] + params[f"{name}.b"]


def _conv_block(params: dict, name: str, x: jax.Array) -> jax.Array:
    y = jax.lax.conv_general_dilated(
        x, params[f"{name}.w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    y = jax.nn.relu(y + params[f"{name}.b"])
    return jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def features(spec: ModelSpec, params: dict, x: jax.Array) -> jax.Array:
    for i in range(len(spec.conv)):
        x = _conv_block(params, f"c{i}", x)
    x = x.reshape(x.shape[0], -1)
    for i in range(len(spec.features)):
        x = jax.nn.relu(_dense(params, f"f{i}", x))
    return x


def make_loss(spec: ModelSpec, variant: str) -> Callable:
    def reversal(f: jax.Array, step: jax.Array) -> jax.Array:
        if variant == records.GRL:
            return gradient_reversal(f, SCHEDULE(step))
        if variant == records.GRL_FIXED:
            return gradient_reversal(f, FIXED)
        return f

    def loss(params: dict, data: dict, step: jax.Array) -> jax.Array:
        f = features(spec, params, jnp.concatenate([data["source"], data["target"]]))
        label_logits = _dense(params, "y", f[: spec.batch])
        label_loss = optax.softmax_cross_entropy_with_integer_labels(
            label_logits, data["labels"]
        ).mean()
        hidden = jax.nn.relu(_dense(params, "d0", reversal(f, step)))
        domain_logits = _dense(params, "d1", hidden)[:, 0]
        domain_loss = optax.sigmoid_binary_cross_entropy(domain_logits, data["domains"]).mean()
        return label_loss + domain_loss

    return loss


def make_update(spec: ModelSpec, variant: str) -> tuple[Callable, tuple]:
    """The pure step ``(params, opt_state, data, step) -> (params, opt_state, step + 1)``."""
    optimizer = optax.sgd(dann_spec.LEARNING_RATE, momentum=dann_spec.MOMENTUM)
    params = {k: jnp.asarray(v) for k, v in dann_spec.init_params(spec).items()}
    data = {k: jnp.asarray(v) for k, v in dann_spec.batch(spec).items()}
    data["labels"] = data["labels"].astype(jnp.int32)
    grad = jax.grad(make_loss(spec, variant))

    def update(params: dict, opt_state: object, data: dict, step: jax.Array) -> tuple:
        updates, opt_state = optimizer.update(grad(params, data, step), opt_state, params)
        return optax.apply_updates(params, updates), opt_state, step + 1

    return update, (params, optimizer.init(params), data, jnp.zeros((), jnp.int32))


class TrainingStep:
    """One full training step of ``variant`` per call; ``state`` holds its arrays."""

    def __init__(self, spec: ModelSpec, variant: str, mode: str):
        update, self.state = make_update(spec, variant)
        self.update = update if mode == "eager" else jax.jit(update)

    def __call__(self) -> None:
        params, opt_state, data, count = self.state
        params, opt_state, count = self.update(params, opt_state, data, count)
        jax.block_until_ready(params)
        self.state = (params, opt_state, data, count)


def run(settings: Settings) -> list[records.Record]:
    from benchmarks import jax_memory

    results: list[records.Record] = []
    for spec in dann_spec.MODELS:
        variants = VARIANTS
        results += jax_memory.step_plan_records(
            {v: make_update(spec, v) for v in variants}, spec.name
        )
        for mode in settings.modes:
            steps = {v: TrainingStep(spec, v, mode) for v in variants}
            samples = interleaved_samples(steps, settings.macro_repeats, settings.macro_sample_s)
            results += records.macro("jax", spec.name, mode, samples)
    return results
