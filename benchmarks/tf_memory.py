"""TensorFlow memory: bytes a forward call keeps, and the peak of a training step.

TensorFlow reports CPU memory only through its BFC allocator, which the worker turns on
(``TF_CPU_ALLOCATOR_USE_BFC=true``, set before TensorFlow is imported); without it
``get_memory_info`` returns zeros and these records say so (``bytes`` is None).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from benchmarks import records
from benchmarks.settings import Settings

DEVICE = "CPU:0"


def tracked() -> bool:
    probe = tf.zeros([1024])
    return tf.config.experimental.get_memory_info(DEVICE)["current"] > 0 and probe is not None


def current() -> int:
    return tf.config.experimental.get_memory_info(DEVICE)["current"]


def peak_during(fn: Callable[[], object]) -> int:
    """Peak bytes above the starting point while ``fn`` runs."""
    before = current()
    tf.config.experimental.reset_memory_stats(DEVICE)
    fn()
    return tf.config.experimental.get_memory_info(DEVICE)["peak"] - before


def _address(tensor: tf.Tensor) -> int:
    return tensor.numpy().__array_interface__["data"][0]


def _taped(layer: Callable, x: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(x)
        return layer(x)


def forward_records(layers: dict[str, Callable], size: int) -> list[records.Record]:
    """Bytes held after one forward call (output kept alive), and whether it is ``x``'s memory.

    Eager: under a tape, as in training. Compiled: the XLA function alone (in training the
    tape lives inside the compiled step; an outer tape around a compiled call would make
    TensorFlow export the function's intermediates for the backward pass).
    """
    x = tf.random.normal([size])
    on = tracked()
    results = []
    for name, layer in layers.items():
        compiled = tf.function(layer, jit_compile=True)
        compiled(x)  # the first call of an XLA function may copy; measure a warm one
        eager = lambda x, layer=layer: _taped(layer, x)  # noqa: E731
        for mode, fn in (("eager", eager), ("compiled", compiled)):
            before = current()
            y = fn(x)
            kept = current() - before
            results.append(
                {
                    "section": "memory",
                    "framework": "tf",
                    "what": f"forward, {size} float32, {mode}",
                    "method": name,
                    "bytes": kept if on else None,
                    "zero_copy": _address(y) == _address(x),
                }
            )
            del y
    return results


def step_peak_records(
    steps: dict[str, Callable[[], object]], model: str, mode: str
) -> list[records.Record]:
    on = tracked()
    results = []
    for name, step in steps.items():
        step()  # build optimizer slots and compile before measuring
        peak = peak_during(step)
        results.append(
            {
                "section": "memory",
                "framework": "tf",
                "what": f"training step peak, {model}, {mode}",
                "method": name,
                "bytes": peak if on else None,
            }
        )
    return results


def run(settings: Settings) -> list[records.Record]:
    from benchmarks.tf_micro import layers

    return forward_records(layers(), settings.memory_size)
