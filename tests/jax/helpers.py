"""Shared helpers of the JAX integration tests (importable without JAX installed)."""

from __future__ import annotations

import importlib
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from grl.core.reference import gradient_reversal_backward
from tests.backends import required_backends
from tests.conformance.cases import assert_same_bits, bits  # noqa: F401  (shared helpers)

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def sample(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Normal numbers of moderate size (no subnormals: the conformance suite covers those)."""
    values = np.random.default_rng(seed).standard_normal(shape) * 3.0
    return values.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def reference_grad(cotangent: Any, lambda_: Any) -> np.ndarray:
    """The spec's backward ``g · cast(−λ, dtype(g))`` for a JAX or NumPy cotangent."""
    return gradient_reversal_backward(np.asarray(cotangent), lambda_)


def ulp_distance(actual: Any, expected: Any) -> int:
    """The largest distance in float64 units in the last place (same-sign values)."""
    actual = np.asarray(actual, dtype=np.float64).reshape(-1)
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    assert np.all(np.sign(actual) * np.sign(expected) >= 0), "values of opposite sign"
    return int(np.max(np.abs(actual.view(np.int64) - expected.view(np.int64)), initial=0))


def sum_sin(gradient_reversal: Any, x: Any, lambda_: Any) -> Any:
    """``Σ sin(R_λ(x))``: its second derivative is ``−λ²·sin x``, its third ``λ³·cos x``."""
    import jax.numpy as jnp  # here, so that importing the helpers never needs JAX

    return jnp.sum(jnp.sin(gradient_reversal(x, lambda_)))


def require_module(name: str) -> Any:
    """Import an optional JAX-ecosystem package (flax, optax, orbax.checkpoint).

    Missing: a skip, or a failure when GRL_REQUIRE_BACKENDS requires jax (as CI sets), so
    the Flax layers and the optax/orbax integrations are never silently left untested.
    """
    try:
        return importlib.import_module(name)
    except ImportError as error:
        if "jax" in required_backends():
            pytest.fail(
                f"{name} is needed by the JAX integration tests when GRL_REQUIRE_BACKENDS "
                f"requires jax: {error}",
                pytrace=False,
            )
        pytest.skip(
            f"{name} is not installed (pip install 'grl[flax]' optax orbax-checkpoint)",
            allow_module_level=True,
        )
