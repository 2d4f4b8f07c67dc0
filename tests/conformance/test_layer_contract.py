"""The layer contract (grl.core.layer), held on every layer of every backend.

Each test runs once per layer kind: the PyTorch module, the Keras layer, the Flax NNX and
Linen modules. The expected values come from grl.core alone (the host schedules, rounded
to float32 as every layer stores λ), never from a backend.
"""

from __future__ import annotations

import numpy as np
import pytest

from grl.core import schedules
from tests.backends import BACKENDS
from tests.conformance.conftest import load_adapter

#: The layers of each backend, by the names their adapters take.
LAYER_KINDS = {"torch": ("module",), "tf": ("keras",), "jax": ("nnx", "linen"), "mlx": ("module",)}

SCHEDULE = schedules.dann(total_steps=50)


def _layer_params() -> list:
    return [
        pytest.param((name, kind), id=f"{name}-{kind}")
        for name in BACKENDS
        for kind in LAYER_KINDS[name]
    ]


@pytest.fixture(params=_layer_params())
def layer_kind(request: pytest.FixtureRequest) -> tuple:
    name, kind = request.param
    return load_adapter(name), kind


def f32(value: float) -> float:
    return float(np.float32(value))


def state(backend, handle) -> tuple[float, str, int]:
    return backend.run(lambda: backend.contract_state(handle))


def build(backend, kind, lambda_):
    return backend.run(lambda: backend.contract_layer(kind, lambda_))


def test_every_backend_lists_its_layers():
    assert set(LAYER_KINDS) == set(BACKENDS)


@pytest.mark.capability("layer: λ from a number, a 0-d tensor, a schedule or its config")
@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        (0.75, 0.75),
        (2, 2.0),
        (np.float64(0.1), f32(0.1)),
        (SCHEDULE, 0.0),
        (schedules.linear(10, 0.1, 0.9).get_config(), f32(0.1)),
    ],
    ids=["float", "int", "numpy", "schedule", "config"],
)
def test_construction(layer_kind, argument, expected):
    backend, kind = layer_kind
    assert state(backend, build(backend, kind, argument)) == (expected, "float32", 0)


@pytest.mark.capability("layer: λ from a number, a 0-d tensor, a schedule or its config")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_construction_from_a_tensor(layer_kind, dtype):
    backend, kind = layer_kind
    handle = build(backend, kind, backend.run(lambda: backend.make_lambda(0.25, dtype)))
    assert state(backend, handle) == (0.25, "float32", 0)


BAD_ARGUMENTS = [
    (-1.0, ValueError, "must be >= 0"),
    (float("nan"), ValueError, "must be finite"),
    (True, TypeError, "bool is ambiguous"),
    ("0.5", TypeError, "must be a real number >= 0, a 0-d floating tensor, or a schedule"),
    (lambda step: 0.5, TypeError, "a callable that is not a grl schedule"),
    (schedules.dann, TypeError, "call it with its settings"),
    ({"class_name": "ExponentialDecay", "config": {}}, ValueError, "Keras object config"),
    ({"name": "dann", "total_steps": -3}, ValueError, "total_steps must be > 0"),
]


@pytest.mark.capability("layer: the same error type and words for the same bad input")
@pytest.mark.parametrize(
    ("argument", "error", "words"),
    BAD_ARGUMENTS,
    ids=["negative", "nan", "bool", "str", "callable", "factory", "keras-config", "bad-config"],
)
def test_bad_construction(layer_kind, argument, error, words):
    backend, kind = layer_kind
    with pytest.raises(error, match=words):
        build(backend, kind, argument)


@pytest.mark.capability("layer: set_lambda on a fixed λ, refused on a schedule")
def test_set_lambda(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, 1.0)
    backend.run(lambda: backend.contract_set_lambda(handle, 6))
    assert state(backend, handle) == (6.0, "float32", 0)
    tensor = backend.run(lambda: backend.make_lambda(0.25, "float32"))
    backend.run(lambda: backend.contract_set_lambda(handle, tensor))
    assert state(backend, handle) == (0.25, "float32", 0)
    with pytest.raises(ValueError, match="must be >= 0"):
        backend.run(lambda: backend.contract_set_lambda(handle, -1.0))
    with pytest.raises(TypeError, match="bool is ambiguous"):
        backend.run(lambda: backend.contract_set_lambda(handle, True))
    assert state(backend, handle) == (0.25, "float32", 0)


@pytest.mark.capability("layer: set_lambda on a fixed λ, refused on a schedule")
def test_set_lambda_on_a_schedule_is_refused(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, SCHEDULE)
    with pytest.raises(RuntimeError, match=r"follows the schedule dann\(total_steps=50, "):
        backend.run(lambda: backend.contract_set_lambda(handle, 0.5))
    assert state(backend, handle) == (0.0, "float32", 0)


@pytest.mark.capability("layer: advance(n) moves the step, λ = schedule(step)")
def test_advance(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, SCHEDULE)
    backend.run(lambda: backend.contract_advance(handle, 0))
    assert state(backend, handle) == (0.0, "float32", 0)
    backend.run(lambda: backend.contract_advance(handle, 3))
    backend.run(lambda: backend.contract_advance(handle, 1))
    assert state(backend, handle) == (f32(SCHEDULE(4)), "float32", 4)
    backend.run(lambda: backend.contract_advance(handle, 100))
    assert state(backend, handle) == (f32(SCHEDULE(104)), "float32", 104)


@pytest.mark.capability("layer: advance(n) moves the step, λ = schedule(step)")
def test_advance_counts_the_steps_of_a_fixed_lambda(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, 0.5)
    backend.run(lambda: backend.contract_advance(handle, 2))
    assert state(backend, handle) == (0.5, "float32", 2)


@pytest.mark.capability("layer: the same error type and words for the same bad input")
@pytest.mark.parametrize(
    ("steps", "error"),
    [(1.5, TypeError), (True, TypeError), ("1", TypeError), (-1, ValueError)],
    ids=["float", "bool", "str", "negative"],
)
def test_bad_advance(layer_kind, steps, error):
    backend, kind = layer_kind
    handle = build(backend, kind, SCHEDULE)
    with pytest.raises(error, match="steps must be an int >= 0"):
        backend.run(lambda: backend.contract_advance(handle, steps))
    assert state(backend, handle) == (0.0, "float32", 0)


@pytest.mark.capability("layer: after n training steps, step = n and λ = schedule(n)")
def test_training_steps(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, SCHEDULE)
    handle = backend.run(lambda: backend.contract_train(handle, 16))
    assert state(backend, handle) == (f32(SCHEDULE(16)), "float32", 16)


@pytest.mark.capability("layer: a native checkpoint mid-schedule resumes bit for bit")
def test_checkpoint_resumes(layer_kind):
    backend, kind = layer_kind
    schedule = schedules.dann(total_steps=40, gamma=7.0, lo=0.2, hi=0.9, normalize=True)
    handle = build(backend, kind, schedule)
    backend.run(lambda: backend.contract_advance(handle, 7))
    restored = backend.run(lambda: backend.contract_checkpoint(handle, kind, schedule))
    assert state(backend, restored) == state(backend, handle)
    for layer in (handle, restored):
        backend.run(lambda layer=layer: backend.contract_advance(layer, 33))
    assert state(backend, restored) == state(backend, handle) == (f32(0.9), "float32", 40)


@pytest.mark.capability("layer: a native checkpoint mid-schedule resumes bit for bit")
def test_checkpoint_keeps_a_set_lambda(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, 1.0)
    backend.run(lambda: backend.contract_set_lambda(handle, 0.375))
    backend.run(lambda: backend.contract_advance(handle, 2))
    restored = backend.run(lambda: backend.contract_checkpoint(handle, kind, 1.0))
    assert state(backend, restored) == (0.375, "float32", 2)


@pytest.mark.capability("layer: a saved state with a forbidden λ or step is refused")
@pytest.mark.parametrize(
    ("lambda_value", "step", "words"),
    [(-1.0, 0, "must be >= 0"), (float("nan"), 0, "must be finite"), (0.5, -3, "step")],
    ids=["negative-lambda", "nan-lambda", "negative-step"],
)
def test_loading_a_forbidden_state(layer_kind, lambda_value, step, words):
    backend, kind = layer_kind
    handle = build(backend, kind, 0.5)
    with pytest.raises(ValueError, match=words):
        backend.run(lambda: backend.contract_load_state(handle, lambda_value, step))
    assert state(backend, handle) == (0.5, "float32", 0)


DEVICE_SCHEDULES = [
    schedules.dann(20_000),
    schedules.dann(20_000, normalize=True),
    schedules.dann(20_000, gamma=50.0, lo=0.2, hi=0.9, normalize=True),
    schedules.dann(20_000, gamma=3.0, lo=0.1, hi=2.0),
    schedules.linear(20_000, lo=0.25, hi=1.5),
    schedules.constant(0.3),
]


@pytest.mark.capability("schedules: device λ has the host's bits (20,000 steps, float64)")
@pytest.mark.parametrize("schedule", DEVICE_SCHEDULES, ids=repr)
def test_device_schedule_has_the_host_bits(backend, schedule):
    steps = np.arange(20_001, dtype=np.float64)
    # The host's values, vectorised (tests/core checks that this equals schedule(step)).
    expected = schedule.evaluate(steps, np)
    actual = backend.run(lambda: backend.device_schedule(schedule, steps))
    assert actual.dtype == np.float64
    np.testing.assert_array_equal(actual.view(np.int64), expected.view(np.int64))


@pytest.mark.capability("layer: the same error type and words for the same bad input")
def test_a_schedule_given_to_the_op(backend):
    x = np.ones(3, np.float32)
    with pytest.raises(TypeError, match=r"not the schedule dann\(total_steps=50, gamma=10.0"):
        backend.run(lambda: backend.forward(backend.from_numpy(x), SCHEDULE))


def _resolve(handle, total_steps: int) -> bool | None:
    """The backend's resolve call: the layer's method, or Linen's function over variables."""
    if hasattr(handle, "resolve_total_steps"):
        return handle.resolve_total_steps(total_steps)
    from grl.backends.jax import linen

    handle.variables = linen.resolve_total_steps(handle.variables, total_steps)
    return None


@pytest.mark.capability("layer: after n training steps, step = n and λ = schedule(n)")
def test_an_auto_schedule_resolved_later_trains_like_the_number(layer_kind):
    backend, kind = layer_kind
    handle = build(backend, kind, schedules.dann("auto"))
    unresolved = r'needs the run length.*total_steps="auto"'
    for _ in range(2):  # before and after a refused advance
        if kind == "linen":  # λ comes from the variables, which hold no length yet
            with pytest.raises(RuntimeError, match=unresolved):
                state(backend, handle)
        else:
            assert state(backend, handle) == (0.0, "float32", 0)
        with pytest.raises(RuntimeError, match=unresolved):
            backend.run(lambda: backend.contract_advance(handle, 1))
    backend.run(lambda: _resolve(handle, 50))
    assert state(backend, handle) == (0.0, "float32", 0)
    backend.run(lambda: backend.contract_advance(handle, 16))
    assert state(backend, handle) == (f32(SCHEDULE(16)), "float32", 16)
    backend.run(lambda: _resolve(handle, 99))  # the first length stays
    backend.run(lambda: backend.contract_advance(handle, 4))
    assert state(backend, handle) == (f32(SCHEDULE(20)), "float32", 20)
