"""Every TensorFlow measurement, in the order the worker runs them."""

from __future__ import annotations

import logging

import tensorflow as tf

from benchmarks import records, tf_compiles, tf_dann, tf_memory, tf_micro
from benchmarks.settings import Settings


def configure(threads: int) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    # Retracing warnings are what the compile count measures; keep them out of the table.
    tf.get_logger().setLevel(logging.ERROR)


def run(settings: Settings, sections: tuple[str, ...]) -> list[records.Record]:
    results: list[records.Record] = []
    if "compiles" in sections:
        results += tf_compiles.run(settings.schedule_steps)
    if "memory" in sections:
        results += tf_memory.run(settings, tf_micro.layers())
    if "micro" in sections:
        results += tf_micro.run(settings)
    if "macro" in sections:
        results += tf_dann.run(settings)
    return results
