"""The specification's checks, each a plain function of an adapter and its parameters.

A check returns normally when the implementation conforms, raises ``AssertionError`` (with
the reason) when it departs from the specification, and raises :class:`NotApplicable` (or
lets the adapter's ``AdapterLacks`` through) when it cannot be measured. The
project's own suite (``tests/conformance``) calls these same functions for its backends.

:data:`CHECKS` lists every check with the cases the runner gives it for an adapter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from grl.conformance.adapter import Adapter, AdapterLacks
from grl.conformance.numerics import assert_conforms, assert_same_bits, unsign_zero_parts
from grl.core.reference import gradient_reversal_backward, numpy_dtype
from grl.core.samples import sample

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
#: λ ∈ {0, tiny, 0.1, 1, 6, large}
LAMBDAS = (0.0, 1e-30, 0.1, 1.0, 6.0, 1000.0)
GRAD_DTYPES = Adapter.dtypes
SHAPES = ((), (0,), (7,), (3, 5), (2, 3, 4))
HOST_LAMBDAS = (1, 3, 0.25, np.float32(0.1), np.float64(0.1), np.int64(2), np.array(0.3))
SECOND_ORDER_LAMBDAS = (0.5, 1.0, 6.0)
FORWARD_MODE_DTYPES = ("float32", "float64", "bfloat16")
COMPILE_LAMBDAS = (0.0, 0.1, 0.5, 1.0, 2.0, 6.0, 0.25, 3.5)
#: (value, error type, a word of grl's message) for λ given as a host value.
BAD_NUMBERS = (
    (math.nan, ValueError, "finite"),
    (math.inf, ValueError, "finite"),
    (-math.inf, ValueError, "finite"),
    (-0.5, ValueError, ">= 0"),
    (-1, ValueError, ">= 0"),
    (True, TypeError, "bool"),
    (np.bool_(False), TypeError, "bool"),
    ("1.0", TypeError, "real number"),
    (None, TypeError, "real number"),
    ([1.0], TypeError, "real number"),
    ((0.5,), TypeError, "real number"),
    (1 + 2j, TypeError, "complex"),
    (np.array([1.0]), ValueError, "0-d"),
    (np.array(1), TypeError, "not floating"),
    (np.float32("nan"), ValueError, "finite"),
)
#: ((value, dtype), error type, a word of grl's message) for λ given as a 0-d tensor.
BAD_TENSORS = (
    ((math.nan, "float32"), ValueError, "finite"),
    ((math.inf, "float64"), ValueError, "finite"),
    ((-0.25, "float32"), ValueError, ">= 0"),
)
BAD_LAYER_LAMBDAS = (-1.0, math.nan, "x", None)


class NotApplicable(Exception):
    """The check cannot be measured for this implementation (the reason says why)."""


def _needs_lambda(adapter: Adapter) -> None:
    if not adapter.takes_lambda:
        raise NotApplicable("the implementation takes no λ")


def _has_dtype(adapter: Adapter, *dtypes: str) -> None:
    missing = [d for d in dtypes if d not in adapter.dtypes]
    if missing:
        raise NotApplicable(f"the framework has no {', '.join(missing)}")


# -- forward ------------------------------------------------------------------------------
def forward_identity(adapter: Adapter, dtype: str, shape: tuple[int, ...]) -> None:
    """R_λ(x) = x, bit for bit, for every dtype and shape."""
    _has_dtype(adapter, dtype)
    x = sample(dtype, shape, seed=1)
    y = adapter.run(lambda: adapter.forward(adapter.from_numpy(x), _lam(adapter, 0.5)))
    assert_same_bits(adapter.to_numpy(y), x)


def forward_non_contiguous(adapter: Adapter) -> None:
    x = sample("float32", (4, 6), seed=2)
    native = adapter.non_contiguous(x)
    y = adapter.run(lambda: adapter.forward(native, _lam(adapter, 0.5)))
    assert_same_bits(adapter.to_numpy(y), x)


def forward_large(adapter: Adapter) -> None:
    x = sample("float32", (1 << 20,), seed=3)
    y = adapter.run(lambda: adapter.forward(adapter.from_numpy(x), _lam(adapter, 6.0)))
    assert_same_bits(adapter.to_numpy(y), x)


def forward_zero_copy(adapter: Adapter, dtype: str) -> None:
    """The forward returns the input's buffer: no copy (where the framework can show it)."""
    _has_dtype(adapter, dtype)
    x = adapter.from_numpy(sample(dtype, (1000,), seed=4))
    y = adapter.run(lambda: adapter.forward(x, _lam(adapter, 1.0)))
    shared = adapter.shares_memory(x, y)
    if shared is None:
        raise NotApplicable("the framework exposes no buffer identity")
    assert shared, "the forward copies its input (the output has a buffer of its own)"


def integer_passthrough(adapter: Adapter, dtype: str) -> None:
    x = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    y = adapter.run(lambda: adapter.forward(adapter.from_numpy(x), _lam(adapter, 1.0)))
    out = adapter.to_numpy(y)
    assert out.dtype == x.dtype, f"a {dtype} input came back as {out.dtype}"
    np.testing.assert_array_equal(out, x)


# -- backward -----------------------------------------------------------------------------
def backward_reference(adapter: Adapter, dtype: str, lambda_: float) -> None:
    """The backward is g · cast(−λ, dtype(g)) bit for bit: one multiply, rounded once."""
    _has_dtype(adapter, dtype)
    x, g = sample(dtype, (64,), seed=10), sample(dtype, (64,), seed=11)
    actual = adapter.run(lambda: adapter.vjp(x, lambda_, g))
    assert_conforms(adapter, actual, g, lambda_)


def backward_lambda_tensor(adapter: Adapter, grad_dtype: str, lambda_dtype: str) -> None:
    """A 0-d λ tensor of any floating dtype is cast once to the gradient's dtype."""
    _needs_lambda(adapter)
    _has_dtype(adapter, grad_dtype, lambda_dtype)
    x, g = sample(grad_dtype, (32,), seed=12), sample(grad_dtype, (32,), seed=13)
    lam_np = np.asarray(0.1).astype(numpy_dtype(lambda_dtype))
    actual = adapter.run(lambda: adapter.vjp(x, (0.1, lambda_dtype), g))
    assert actual.dtype == g.dtype, f"the gradient was promoted to {actual.dtype} by λ"
    assert_conforms(adapter, actual, g, lam_np)


def backward_host_lambda(adapter: Adapter, lambda_: Any) -> None:
    """λ given as an int, a float, a NumPy scalar or a 0-d NumPy array."""
    _needs_lambda(adapter)
    x, g = sample("float32", (16,), seed=14), sample("float32", (16,), seed=15)
    actual = adapter.run(lambda: adapter.vjp(x, lambda_, g))
    assert_conforms(adapter, actual, g, lambda_)


def compiled_equals_eager(adapter: Adapter, dtype: str) -> None:
    _has_dtype(adapter, dtype)
    lambda_ = (0.1, "float32") if adapter.takes_lambda else 1.0
    x, g = sample(dtype, (48,), seed=16), sample(dtype, (48,), seed=17)
    eager = adapter.run(lambda: adapter.vjp(x, lambda_, g))
    compiled = adapter.run(lambda: adapter.vjp_compiled(x, lambda_, g))
    if adapter.complex_zero_sign_free and compiled.dtype.kind == "c":
        compiled, eager = unsign_zero_parts(compiled), unsign_zero_parts(eager)
    assert_same_bits(compiled, eager)


def lambda_gets_no_gradient(adapter: Adapter) -> None:
    _needs_lambda(adapter)
    x = sample("float32", (8,), seed=18)
    assert adapter.run(lambda: adapter.lambda_gradient_is_zero(x, 0.5)), "λ receives a gradient"


def backward_uses_forward_lambda(adapter: Adapter) -> None:
    _needs_lambda(adapter)
    x = sample("float32", (8,), seed=19)
    grad = adapter.run(lambda: adapter.backward_uses_forward_lambda(x, 0.5, 2.0))
    expected = np.full(8, -0.5, dtype=np.float32)
    assert np.array_equal(grad, expected), f"gradient {grad[:3]}, expected −0.5 (λ of forward)"


def golden_vectors(adapter: Adapter) -> None:
    """Every case of ``grl/core/golden.json`` (forward and backward), bit for bit."""
    from grl.core import golden

    key = "grad_x_flush_to_zero" if adapter.flush_to_zero else "grad_x"
    failures = []
    for case in golden.load()["cases"]:
        lam = float.fromhex(case["lambda"])
        if case["dtype"] not in adapter.dtypes or (not adapter.takes_lambda and lam != 1.0):
            continue
        x, g = (
            golden.from_words(case["x"], case["dtype"]),
            golden.from_words(case["g"], case["dtype"]),
        )
        expected = golden.from_words(case[key], case["dtype"])
        lambda_ = lam if case["lambda_dtype"] == "float64" else (lam, case["lambda_dtype"])
        native = adapter.from_numpy(x)
        try:
            forward = adapter.run(lambda n=native: adapter.forward(n, _lam(adapter, 1.0)))
            assert_same_bits(adapter.to_numpy(forward), x)
            actual = adapter.run(lambda x=x, g=g, lam=lambda_: adapter.vjp(x, lam, g))
            if adapter.complex_zero_sign_free and expected.dtype.kind == "c":
                actual, expected = unsign_zero_parts(actual), unsign_zero_parts(expected)
            assert_same_bits(actual, expected)
        except AssertionError as error:
            failures.append(f"{case['dtype']} λ={lam} ({case['lambda_dtype']}): {error}")
    assert not failures, f"{len(failures)} golden cases differ; first: {failures[0]}"


# -- derivatives --------------------------------------------------------------------------
def second_derivative(adapter: Adapter, method: str, lambda_: float) -> None:
    """The second derivative of sum(sin(R_λ(x))) is −λ²·sin x."""
    x = np.linspace(-3.0, 3.0, 7)
    if "float64" not in adapter.dtypes:
        x = x.astype(np.float32)
    actual = np.asarray(adapter.run(lambda: adapter.second_derivative(x, lambda_, method)))
    expected = -(lambda_**2) * np.sin(x.astype(np.float64))
    tolerance = adapter.second_order_tolerance if x.dtype == np.float64 else 1e-6
    if not np.allclose(actual, expected, rtol=tolerance, atol=tolerance):
        sign = (
            " (+λ²·sin x: the sign is lost at second order)"
            if np.allclose(actual, -expected, rtol=tolerance, atol=tolerance) and lambda_
            else ""
        )
        raise AssertionError(
            f"{method}: {np.round(actual[:3], 6).tolist()}, expected −λ²·sin x = "
            f"{np.round(expected[:3], 6).tolist()}{sign}"
        )


def forward_mode(adapter: Adapter, method: str, dtype: str) -> None:
    """Forward mode maps a tangent t to −λ·t (never a silent +t)."""
    _has_dtype(adapter, dtype)
    x, t = sample(dtype, (6,), seed=20), sample(dtype, (6,), seed=21)
    if method == "jacfwd":
        # J @ t sums zeros into each entry (−0 + 0 = +0), so probe J with ones instead.
        t = np.ones_like(t)
    lam = 0.1 if adapter.takes_lambda else 1.0
    actual = adapter.run(lambda: np.asarray(adapter.forward_mode(x, lam, t, method)))
    _check_tangent(adapter, actual, t, lam, method)


def forward_mode_compiled(adapter: Adapter) -> str:
    """Forward mode under the compiler: −λ·t, or a clear error. Returns the kind observed:
    ``"conformant"`` or ``"clear error"``."""
    x, t = sample("float32", (6,), seed=22), sample("float32", (6,), seed=23)
    lam = 0.1 if adapter.takes_lambda else 1.0
    error = adapter.forward_mode_errors.get("compiled_jvp")
    method = "compiled_jvp" if error else adapter.compiled_forward_mode_method
    if not method:
        raise NotApplicable("the adapter names no compiled forward-mode method")
    try:
        actual = adapter.run(lambda: np.asarray(adapter.forward_mode(x, lam, t, method)))
    except AdapterLacks:
        raise
    except Exception as raised:  # a declared, clear error is conformant
        if error is None or not isinstance(raised, error):
            raise
        assert re.search(r"(?i)forward|jvp", str(raised)), f"unclear error: {raised}"
        return "clear error"
    _check_tangent(adapter, actual, t, lam, method)
    return "conformant"


def _check_tangent(adapter: Adapter, actual: np.ndarray, t: np.ndarray, lam: float, how: str):
    if np.array_equal(actual, t) and np.any(t != 0):
        raise AssertionError(f"{how}: forward mode returns +t (the identity), not −λ·t")
    assert_conforms(adapter, actual, t, lam)


# -- compilers ----------------------------------------------------------------------------
def one_compile(adapter: Adapter) -> None:
    """Changing λ (a tensor or layer state) never recompiles or retraces."""
    _needs_lambda(adapter)
    x = np.linspace(-2.0, 2.0, 12, dtype=np.float32)
    count, grads = adapter.run(lambda: adapter.compile_count(x, COMPILE_LAMBDAS))
    assert count == 1, f"{count} compiles/traces for {len(COMPILE_LAMBDAS)} values of λ"
    for value, grad in zip(COMPILE_LAMBDAS, grads, strict=True):
        expected = gradient_reversal_backward(np.cos(x), np.float32(value))
        if not np.allclose(grad, expected, rtol=2e-6, atol=1e-7):
            raise AssertionError(f"the compiled gradient at λ={value} is not −λ·cos x")


# -- bad λ --------------------------------------------------------------------------------
def _raises(adapter: Adapter, error: Any, call: Callable[[], Any]) -> str:
    """``call`` raises ``error`` (a type or tuple of types) naming λ: its message."""
    names = " or ".join(e.__name__ for e in (error if isinstance(error, tuple) else (error,)))
    try:
        adapter.run(call)
    except AdapterLacks:
        raise
    except error as raised:
        message = str(raised)
        assert adapter.lambda_name in message, f"the error does not name {adapter.lambda_name}"
        return message
    except Exception as raised:  # the wrong type is the finding
        raise AssertionError(f"raised {type(raised).__name__} ({raised}), not {names}") from None
    raise AssertionError(f"accepted without an error (expected {names})")


def bad_lambda(adapter: Adapter, value: Any, error: type[BaseException], word: str = "") -> None:
    """A bad host λ raises ``error`` naming λ and the value (and ``word``, when given)."""
    _needs_lambda(adapter)
    x = adapter.from_numpy(np.ones(3, np.float32))
    message = _raises(adapter, error, lambda: adapter.forward(x, value))
    assert repr(value)[:20] in message, f"the error does not show the value: {message}"
    assert word in message, f"the error lacks {word!r}: {message}"


def bad_lambda_tensor(adapter: Adapter, value: tuple, error: type[BaseException], word: str = ""):
    _needs_lambda(adapter)
    x = adapter.from_numpy(np.ones(3, np.float32))
    lam = adapter.make_lambda(*value)
    message = _raises(adapter, error, lambda: adapter.forward(x, lam))
    assert word in message, f"the error lacks {word!r}: {message}"


def lambda_tensor_not_0d(adapter: Adapter, pattern: str = "") -> None:
    _needs_lambda(adapter)
    x = adapter.from_numpy(np.ones(3, np.float32))
    lam = adapter.from_numpy(np.array([0.5], np.float32))
    message = _raises(adapter, ValueError, lambda: adapter.forward(x, lam))
    assert re.search(pattern, message), f"the error does not match {pattern!r}: {message}"


def lambda_tensor_not_floating(adapter: Adapter, pattern: str = "") -> None:
    _needs_lambda(adapter)
    x = adapter.from_numpy(np.ones(3, np.float32))
    lam = adapter.from_numpy(np.array(1, np.int32))
    message = _raises(adapter, TypeError, lambda: adapter.forward(x, lam))
    assert re.search(pattern, message), f"the error does not match {pattern!r}: {message}"


def layer_rejects_bad_lambda(adapter: Adapter, value: Any) -> None:
    _needs_lambda(adapter)
    _raises(adapter, (ValueError, TypeError), lambda: adapter.make_layer(value))
    layer = adapter.run(lambda: adapter.make_layer(1.0))
    _raises(adapter, (ValueError, TypeError), lambda: adapter.set_layer_lambda(layer, value))
    assert adapter.layer_lambda(layer)[0] == 1.0, "a refused set_lambda changed λ"


# -- the layer ----------------------------------------------------------------------------
def layer_state(adapter: Adapter) -> None:
    """λ is 0-d float32 state that the framework saves with the layer."""
    layer = adapter.run(lambda: adapter.make_layer(0.75))
    assert adapter.layer_lambda(layer) == (0.75, "float32"), adapter.layer_lambda(layer)
    assert adapter.layer_state_has_lambda(layer), "λ is not in the layer's saved state"


def layer_backward(adapter: Adapter, dtype: str) -> None:
    _has_dtype(adapter, dtype)
    layer = adapter.run(lambda: adapter.make_layer(0.1))
    x, g = sample(dtype, (20,), seed=30), sample(dtype, (20,), seed=31)
    actual = adapter.run(lambda: adapter.layer_vjp(layer, x, g))
    assert_conforms(adapter, actual, g, np.float32(0.1))


def layer_set_lambda(adapter: Adapter) -> None:
    layer = adapter.run(lambda: adapter.make_layer(1.0))
    adapter.run(lambda: adapter.set_layer_lambda(layer, 6))
    assert adapter.layer_lambda(layer)[0] == 6.0
    g = sample("float32", (5,), seed=32)
    actual = adapter.run(lambda: adapter.layer_vjp(layer, np.zeros(5, np.float32), g))
    assert_conforms(adapter, actual, g, 6.0)


def layer_stepping(adapter: Adapter) -> None:
    """A scheduled layer holds step == n and λ == float32(schedule(n)) after advance(n)."""
    from grl.core import schedules

    schedule = schedules.dann(100)
    layer = adapter.run(lambda: adapter.make_layer(schedule))
    for steps, total in ((0, 0), (1, 1), (9, 10), (90, 100), (5, 105)):
        adapter.run(lambda steps=steps: adapter.advance_layer(layer, steps))
        value, dtype = adapter.layer_lambda(layer)
        assert adapter.layer_step(layer) == total, f"step {adapter.layer_step(layer)} != {total}"
        assert value == float(np.float32(schedule(total))), f"λ {value} at step {total}"
        assert dtype == "float32"


# -- the list the runner walks --------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    name: str
    capability: str
    function: Callable[..., Any]
    cases: Callable[[Adapter], list[dict[str, Any]]]


def _one(adapter: Adapter) -> list[dict[str, Any]]:
    return [{}]


def _over(**axes: Callable[[Adapter], Any]) -> Callable[[Adapter], list[dict[str, Any]]]:
    """Cases over the product of each axis' values (an axis is a function of the adapter)."""

    def cases(adapter: Adapter) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = [{}]
        for key, values in axes.items():
            result = [{**case, key: v} for case in result for v in values(adapter)]
        return result

    return cases


def _lambdas(values: tuple) -> Callable[[Adapter], tuple]:
    return lambda adapter: values if adapter.takes_lambda else (1.0,)


def _const(values: Any) -> Callable[[Adapter], Any]:
    return lambda adapter: values


_FORWARD = "forward is bit-identical (every dtype and shape)"
_BACKWARD = "backward matches the reference bit for bit"
_BAD = "bad λ raises a clear error"


def _checks() -> Iterator[Check]:
    dtypes = lambda a: a.dtypes  # noqa: E731
    yield Check(
        "forward_identity", _FORWARD, forward_identity, _over(dtype=dtypes, shape=_const(SHAPES))
    )
    yield Check("forward_non_contiguous", _FORWARD, forward_non_contiguous, _one)
    yield Check("forward_large", _FORWARD, forward_large, _one)
    yield Check(
        "forward_zero_copy",
        "forward is zero-copy",
        forward_zero_copy,
        _over(dtype=_const(("float32", "bfloat16"))),
    )
    yield Check(
        "integer_passthrough",
        "integer inputs pass through",
        integer_passthrough,
        _over(dtype=_const(("int32", "int64", "uint8", "bool"))),
    )
    yield Check(
        "backward_reference",
        _BACKWARD,
        backward_reference,
        _over(dtype=dtypes, lambda_=_lambdas(LAMBDAS)),
    )
    yield Check(
        "backward_lambda_tensor",
        _BACKWARD,
        backward_lambda_tensor,
        _over(grad_dtype=dtypes, lambda_dtype=_const(FLOAT_DTYPES)),
    )
    yield Check(
        "backward_host_lambda",
        "λ accepts numbers, NumPy scalars and 0-d tensors",
        backward_host_lambda,
        _over(lambda_=_const(HOST_LAMBDAS)),
    )
    yield Check(
        "compiled_equals_eager",
        "compiled gradients equal eager gradients",
        compiled_equals_eager,
        _over(dtype=dtypes),
    )
    yield Check(
        "lambda_gets_no_gradient", "λ never receives a gradient", lambda_gets_no_gradient, _one
    )
    yield Check(
        "backward_uses_forward_lambda",
        "backward uses the λ of its forward",
        backward_uses_forward_lambda,
        _one,
    )
    yield Check(
        "bad_lambda",
        _BAD,
        bad_lambda,
        lambda a: [{"value": v, "error": e} for v, e, _ in BAD_NUMBERS],
    )
    yield Check(
        "bad_lambda_tensor",
        _BAD,
        bad_lambda_tensor,
        lambda a: [{"value": v, "error": e} for v, e, _ in BAD_TENSORS],
    )
    yield Check("lambda_tensor_not_0d", _BAD, lambda_tensor_not_0d, _one)
    yield Check("lambda_tensor_not_floating", _BAD, lambda_tensor_not_floating, _one)
    yield Check(
        "layer_rejects_bad_lambda",
        _BAD,
        layer_rejects_bad_lambda,
        _over(value=_const(BAD_LAYER_LAMBDAS)),
    )
    yield Check(
        "second_derivative",
        "second derivative is −λ²·sin x",
        second_derivative,
        _over(method=lambda a: a.second_order_methods, lambda_=_lambdas(SECOND_ORDER_LAMBDAS)),
    )
    yield Check(
        "forward_mode",
        "forward mode gives −λ·t",
        forward_mode,
        _over(method=lambda a: a.forward_mode_methods, dtype=_const(FORWARD_MODE_DTYPES)),
    )
    yield Check(
        "forward_mode_compiled", "forward mode under the compiler", forward_mode_compiled, _one
    )
    yield Check("one_compile", "one compile/trace across λ changes", one_compile, _one)
    yield Check("layer_state", "layer holds λ as a 0-d float32 state variable", layer_state, _one)
    yield Check(
        "layer_backward",
        "layer backward matches the reference bit for bit",
        layer_backward,
        _over(dtype=_const(FLOAT_DTYPES)),
    )
    yield Check(
        "layer_set_lambda",
        "layer backward matches the reference bit for bit",
        layer_set_lambda,
        _one,
    )
    yield Check("layer_stepping", "layer steps a λ schedule", layer_stepping, _one)
    yield Check("golden_vectors", "golden vectors reproduced bit for bit", golden_vectors, _one)


CHECKS: tuple[Check, ...] = tuple(_checks())


def _lam(adapter: Adapter, value: float) -> float:
    return value if adapter.takes_lambda else 1.0
