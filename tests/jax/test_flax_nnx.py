"""grl.jax.nnx.GradientReversal: state, explicit stepping, checkpoints, a DANN step."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, require_module, sample

grl_jax = require("jax")
require_module("flax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

GradientReversal = grl_jax.nnx.GradientReversal
ReversalState = grl_jax.nnx.ReversalState
schedules = grl_jax.schedules


def test_lambda_and_step_are_float32_and_int32_state_not_params():
    layer = GradientReversal(0.75)
    assert layer.lambda_[...].dtype == jnp.float32 and layer.lambda_[...].shape == ()
    assert layer.step[...].dtype == jnp.int32 and int(layer.step[...]) == 0
    state = nnx.state(layer, ReversalState)
    assert set(state.keys()) == {"lambda_", "step"}
    assert not jax.tree.leaves(nnx.state(layer, nnx.Param))


def test_call_applies_the_stored_lambda_and_changes_nothing():
    layer = GradientReversal(schedules.linear(10, lo=0.5, hi=1.5))
    x, g = jnp.asarray(sample("float32", (5,), 40)), jnp.asarray(sample("float32", (5,), 41))
    y, pullback = jax.vjp(layer, x)
    assert y is x or bool(jnp.all(y == x))
    assert_same_bits(pullback(g)[0], reference_grad(g, np.float32(0.5)))
    assert int(layer.step[...]) == 0 and float(layer.lambda_[...]) == 0.5


def test_advance_under_nnx_jit_follows_the_schedule_without_retracing():
    schedule = schedules.dann(20)
    layer = GradientReversal(schedule)
    traces = []

    @nnx.jit
    def advance(layer):
        traces.append(1)
        layer.advance()

    for step in range(1, 6):
        advance(layer)
        assert int(layer.step[...]) == step
        assert layer.lambda_[...] == np.float32(schedule(step))
    assert len(traces) == 1
    layer.advance(jnp.asarray(10, dtype=jnp.int32))
    assert int(layer.step[...]) == 15
    assert layer.lambda_[...] == np.float32(schedule(15))


def test_optax_schedules_are_refused_as_the_contract_says():
    # Changed (issue #12): a λ schedule must be validated and serialisable.
    optax = require_module("optax")
    with pytest.raises(TypeError, match="a callable that is not a grl schedule"):
        GradientReversal(optax.linear_schedule(0.0, 2.0, transition_steps=4))


def test_set_lambda_under_jit_takes_a_traced_lambda():
    layer = GradientReversal(1.0)
    nnx.jit(lambda m, v: m.set_lambda(v))(layer, jnp.float32(0.25))
    assert float(layer.lambda_[...]) == 0.25
    with pytest.raises(TypeError, match=r"lambda_ .*int32"):
        nnx.jit(lambda m, v: m.set_lambda(v))(layer, jnp.int32(1))
    scheduled = GradientReversal(schedules.dann(10))
    with pytest.raises(RuntimeError, match="follows the schedule"):
        nnx.jit(lambda m, v: m.set_lambda(v))(scheduled, jnp.float32(0.25))


def test_fixed_lambda_keeps_its_value_and_set_lambda_validates():
    layer = GradientReversal(2.0)
    assert layer.schedule is None
    layer.advance(3)
    assert int(layer.step[...]) == 3 and float(layer.lambda_[...]) == 2.0
    layer.set_lambda(6)
    assert float(layer.lambda_[...]) == 6.0
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        layer.set_lambda(-1.0)
    with pytest.raises(ValueError, match="lambda_ must be finite"):
        layer.set_lambda(jnp.asarray(jnp.inf))
    assert float(layer.lambda_[...]) == 6.0


@pytest.mark.parametrize(
    ("lambda_", "error", "message"),
    [(-1.0, ValueError, "lambda_ must be >= 0"), ("x", TypeError, "lambda_ must be a real")],
)
def test_bad_lambda_at_construction(lambda_, error, message):
    with pytest.raises(error, match=message):
        GradientReversal(lambda_)


@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [
        (-1, ValueError, "steps must be an int >= 0"),
        (1.5, TypeError, "steps must be an int >= 0; got 1.5 of type float"),
        (True, TypeError, "steps must be an int"),
        (jnp.ones(2, dtype=jnp.int32), TypeError, "steps must be an int"),
        (jnp.asarray(1.0), TypeError, "steps must be an int"),
    ],
)
def test_bad_steps_are_refused(steps, error, message):
    layer = GradientReversal(schedules.dann(10))
    with pytest.raises(error, match=message):
        layer.advance(steps)
    assert int(layer.step[...]) == 0


def _trained_layer() -> GradientReversal:
    layer = GradientReversal(schedules.dann(100, hi=2.0))
    layer.advance(37)
    return layer


def test_nnx_state_round_trip_restores_lambda_and_step():
    graphdef, state = nnx.split(_trained_layer())
    fresh = GradientReversal(schedules.dann(100, hi=2.0))
    nnx.update(fresh, state)
    assert int(fresh.step[...]) == 37
    merged = nnx.merge(graphdef, state)
    for layer in (fresh, merged):
        layer.advance()
        assert layer.lambda_[...] == np.float32(schedules.dann(100, hi=2.0)(38))


def test_orbax_checkpoint_round_trip(tmp_path):
    ocp = require_module("orbax.checkpoint")
    _, state = nnx.split(_trained_layer())
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "grl", state)
    checkpointer.wait_until_finished()
    abstract = nnx.eval_shape(lambda: GradientReversal(schedules.dann(100, hi=2.0)))
    graphdef, abstract_state = nnx.split(abstract)
    restored = nnx.merge(graphdef, checkpointer.restore(tmp_path / "grl", abstract_state))
    assert int(restored.step[...]) == 37
    assert restored.lambda_[...] == _trained_layer().lambda_[...]


class DANN(nnx.Module):
    """Shared features, a label head, and a domain head behind the GRL."""

    def __init__(self, rngs: nnx.Rngs) -> None:
        self.features = nnx.Linear(4, 8, rngs=rngs)
        self.label_head = nnx.Linear(8, 2, rngs=rngs)
        self.grl = GradientReversal(schedules.dann(10))
        self.domain_head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = jnp.tanh(self.features(x))
        return self.label_head(h), self.domain_head(self.grl(h))[:, 0]


def _losses(model: DANN, x, y, d) -> tuple[jax.Array, jax.Array]:
    logits, domain = model(x)
    label_loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))
    domain_loss = jnp.mean(jnp.logaddexp(0.0, domain) - d * domain)
    return label_loss, domain_loss


def test_dann_training_step_reverses_the_domain_gradient_into_the_features():
    optax = require_module("optax")
    model = DANN(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
    x = jnp.asarray(sample("float32", (6, 4), 42))
    y, d = jnp.asarray([0, 1, 0, 1, 0, 1]), jnp.asarray([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    traces = []

    @nnx.jit
    def train_step(model, optimizer, x, y, d):
        traces.append(1)
        grads = nnx.grad(lambda m: sum(_losses(m, x, y, d)))(model)
        optimizer.update(model, grads)
        model.grl.advance()

    model.grl.advance(4)  # λ > 0 from the start
    lam = float(model.grl.lambda_[...])

    @nnx.jit
    def gradients(model, x, y, d):
        label = nnx.grad(lambda m: _losses(m, x, y, d)[0])(model)
        domain = nnx.grad(lambda m: _losses(m, x, y, d)[1])(model)
        total = nnx.grad(lambda m: sum(_losses(m, x, y, d)))(model)
        plain = nnx.grad(lambda m: _losses_without_grl(m, x, d))(model)
        return label, domain, total, plain

    label_grads, domain_grads, total_grads, plain = gradients(model, x, y, d)
    for name in ("kernel", "bias"):
        total, label = total_grads.features[name][...], label_grads.features[name][...]
        domain = domain_grads.features[name][...]
        np.testing.assert_allclose(total, label + domain, rtol=1e-5, atol=1e-7)
        # Without the GRL the domain gradient would enter the features with a + sign.
        expected = -lam * plain.features[name][...]
        np.testing.assert_allclose(domain, expected, rtol=1e-5, atol=1e-7)
    assert not jax.tree.leaves(nnx.state(domain_grads, ReversalState))

    for step in range(5, 8):
        train_step(model, optimizer, x, y, d)
        assert int(model.grl.step[...]) == step
    assert len(traces) == 1
    assert model.grl.lambda_[...] == np.float32(schedules.dann(10)(7))


def _losses_without_grl(model: DANN, x, d) -> jax.Array:
    domain = model.domain_head(jnp.tanh(model.features(x)))[:, 0]
    return jnp.mean(jnp.logaddexp(0.0, domain) - d * domain)


@pytest.mark.parametrize("policy", [None, jax.checkpoint_policies.nothing_saveable])
def test_the_backward_uses_the_lambda_of_its_forward_under_remat(policy):
    layer = GradientReversal(schedules.linear(2, lo=0.5, hi=1.5))
    x, g = jnp.asarray(sample("float32", (4,), 60)), jnp.asarray(sample("float32", (4,), 61))
    graphdef, state = nnx.split(layer)
    forward = jax.checkpoint(lambda s, v: nnx.merge(graphdef, s)(v) * 1.0, policy=policy)
    _, pullback = jax.vjp(forward, state, x)
    layer.advance()  # λ: 0.5 -> 1.0 between the forward and the backward
    assert float(layer.lambda_[...]) == 1.0
    assert_same_bits(pullback(g)[1], reference_grad(g, np.float32(0.5)))
    recomputed = nnx.remat(lambda m, v: m(v) * 1.0, policy=policy)
    grads = nnx.grad(lambda m, v: jnp.sum(g * recomputed(m, v)), argnums=1)(layer, x)
    assert_same_bits(grads, reference_grad(g, np.float32(1.0)))
