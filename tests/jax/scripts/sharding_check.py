"""Sharding checks on 4 host CPU devices; run by tests/jax/test_sharding.py in a subprocess.

XLA_FLAGS=--xla_force_host_platform_device_count=4 must be set before JAX starts, which is
why this runs in its own process. Every check compares with the same computation on one
device, bit for bit: the inputs are small integers and λ = 0.5, so every sum in the
gradients is exact whatever order the devices add their parts in. Prints OK at the end.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import grl.jax as grl_jax

reverse = grl_jax.gradient_reversal
LAMBDA = jnp.float32(0.5)


def integers(shape: tuple[int, ...], seed: int, limit: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(-limit, limit + 1, shape).astype(np.float32)


def same_bits(actual: jax.Array, expected: jax.Array) -> None:
    np.testing.assert_array_equal(
        np.asarray(actual).view(np.uint32), np.asarray(expected).view(np.uint32)
    )


X = integers((8, 3), 0)
C = integers((8, 3), 1)
PARAMS = {"w1": integers((3, 4), 2, 2), "w2": integers((4, 2), 3, 2)}


def elementwise_loss(x, c, lam):
    return jnp.sum(c * jnp.sin(reverse(x, lam)))


def training_loss(params, x, lam):
    features = reverse(x @ params["w1"], lam)
    return 0.5 * jnp.sum((features @ params["w2"]) ** 2)


def one_device_gradients() -> tuple[jax.Array, dict[str, jax.Array]]:
    """The reference: the same gradients on one device, outside any mesh."""
    device = jax.devices()[0]
    x, c = jax.device_put(X, device), jax.device_put(C, device)
    params = jax.device_put(PARAMS, device)
    elementwise = jax.jit(jax.grad(elementwise_loss))(x, c, LAMBDA)
    training = jax.jit(jax.grad(training_loss))(params, x, LAMBDA)
    # The reference itself follows the rule: the cotangent times −λ (exact: λ = 0.5).
    same_bits(elementwise, np.asarray(c * jnp.cos(x)) * np.float32(-0.5))
    out = (X @ PARAMS["w1"]) @ PARAMS["w2"]  # small integers: exact in float32
    same_bits(training["w2"], (X @ PARAMS["w1"]).T @ out)
    same_bits(training["w1"], X.T @ ((out @ PARAMS["w2"].T) * np.float32(-0.5)))
    return elementwise, training


def check_jit_with_named_sharding(mesh: jax.sharding.Mesh, expected: jax.Array) -> None:
    sharding = NamedSharding(mesh, P("data"))
    x, c = jax.device_put(X, sharding), jax.device_put(C, sharding)
    assert reverse(x, LAMBDA) is x  # eagerly the very same sharded array

    out = jax.jit(reverse)(x, LAMBDA)
    assert out.sharding.is_equivalent_to(x.sharding, x.ndim), out.sharding
    same_bits(out, X)

    grad = jax.jit(jax.grad(elementwise_loss))(x, c, LAMBDA)
    assert grad.sharding.is_equivalent_to(x.sharding, x.ndim), grad.sharding
    same_bits(grad, expected)


def check_shard_map_training_step(mesh: jax.sharding.Mesh, expected: dict) -> None:
    def local_step(params, x, lam):
        # params are replicated (invariant over "data"): shard_map's autodiff already sums
        # their gradients over the devices (the transpose of its implicit pvary).
        return jax.grad(training_loss)(params, x, lam)

    step = jax.jit(
        jax.shard_map(local_step, mesh=mesh, in_specs=(P(), P("data"), P()), out_specs=P())
    )
    x = jax.device_put(X, NamedSharding(mesh, P("data")))
    params = jax.device_put(PARAMS, NamedSharding(mesh, P()))
    sharded = step(params, x, LAMBDA)
    for name in PARAMS:
        same_bits(sharded[name], expected[name])

    specs = {"in_specs": (P("data"), P()), "out_specs": P("data")}
    forward = jax.jit(jax.shard_map(lambda x, lam: reverse(x, lam), mesh=mesh, **specs))
    out = forward(x, LAMBDA)
    assert out.sharding.is_equivalent_to(x.sharding, x.ndim), out.sharding
    same_bits(out, X)


def main() -> None:
    assert jax.device_count() == 4, jax.devices()
    elementwise, training = one_device_gradients()
    auto = jax.make_mesh((4,), ("data",), axis_types=(AxisType.Auto,))
    check_jit_with_named_sharding(auto, elementwise)
    check_shard_map_training_step(auto, training)
    explicit = jax.make_mesh((4,), ("data",), axis_types=(AxisType.Explicit,))
    with jax.set_mesh(explicit):
        check_jit_with_named_sharding(explicit, elementwise)
        check_shard_map_training_step(explicit, training)
    print("OK")


if __name__ == "__main__":
    main()
