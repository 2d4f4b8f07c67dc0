"""The macro benchmark's DANN step: two of the demo's networks, one batch, one loop.

The networks are :class:`grl.demo.experiments.Net` layer lists, built in each framework by the
demo's own builders (``grl/demo/models_*.py``) from the same NumPy weights
(:func:`grl.demo.experiments.init_params`):

* ``digits``: the demo's digits network (two 3×3 conv + 2×2 max-pool blocks, a 64-unit
  feature layer, a 10-way label head, a 64-unit domain head) on 16×16×3 images, batches
  of 32 source + 32 target images;
* ``mlp``: a wider MLP (784 → 512 → 512 features, a 512-unit domain head), 64 + 64.

Each framework's ``benchmarks/<name>_dann.py`` builds the variants of one step
(``steps_for``); :func:`run` times them side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks import records
from benchmarks.settings import Settings
from benchmarks.timing import interleaved_samples
from grl.demo.experiments import Layer, Net, init_params

LEARNING_RATE = 0.01
MOMENTUM = 0.9
SCHEDULE_STEPS = 10_000
FIXED_LAMBDA = 0.5


@dataclass(frozen=True)
class Model:
    """A demo network with the shape of one example and the batch size per domain."""

    name: str
    net: Net
    example: tuple[int, ...]  # one input: (height, width, channels) or (features,)
    batch: int  # a step sees ``batch`` source and ``batch`` target examples

    def params(self) -> dict[str, np.ndarray]:
        return init_params(self.net, seed=0)

    def data(self, seed: int = 1) -> dict[str, np.ndarray]:
        """One batch: source inputs (NHWC images) and labels, target inputs, domain labels."""
        rng = np.random.default_rng(seed)
        shape = (self.batch, *self.example)
        return {
            "source": rng.standard_normal(shape).astype(np.float32),
            "labels": rng.integers(10, size=self.batch).astype(np.int64),
            "target": rng.standard_normal(shape).astype(np.float32),
            "domains": np.repeat(np.array([0.0, 1.0], np.float32), self.batch),
        }


def _dense(name: str, n_in: int, n_out: int, relu: bool = True) -> tuple[Layer, ...]:
    return (("dense", name, n_in, n_out), ("relu",)) if relu else (("dense", name, n_in, n_out),)


DIGITS = Model(
    "digits",
    Net(
        features=(
            *(("conv", "c1", 3, 16), ("relu",), ("maxpool",)),
            *(("conv", "c2", 16, 32), ("relu",), ("maxpool",), ("flatten",)),
            *_dense("f1", 32 * 4 * 4, 64),
        ),
        label_head=_dense("y1", 64, 10, relu=False),
        domain_head=(*_dense("d1", 64, 64), *_dense("d2", 64, 1, relu=False)),
    ),
    example=(16, 16, 3),
    batch=32,
)
MLP = Model(
    "mlp",
    Net(
        features=(*_dense("f1", 784, 512), *_dense("f2", 512, 512)),
        label_head=_dense("y1", 512, 10, relu=False),
        domain_head=(*_dense("d1", 512, 512), *_dense("d2", 512, 1, relu=False)),
    ),
    example=(784,),
    batch=64,
)
MODELS = (DIGITS, MLP)


def weight_names(layers: tuple[Layer, ...]) -> list[str]:
    """Keys of :func:`init_params` that belong to ``layers`` (kernel, then bias, per layer)."""
    return [
        f"{layer[1]}.{part}" for layer in layers if layer[0] in ("dense", "conv") for part in "wb"
    ]


Steps = dict[str, Callable[[], object]]


def run(
    framework: str,
    settings: Settings,
    steps_for: Callable[[Model, str], Steps],
    memory: Callable[[Steps, str, str], list[records.Record]],
) -> list[records.Record]:
    """Per model and mode: the memory records of ``memory``, then interleaved step timings."""
    results: list[records.Record] = []
    for model in MODELS:
        for mode in settings.modes:
            steps = steps_for(model, mode)
            results += memory(steps, model.name, mode)
            samples = interleaved_samples(steps, settings.macro_repeats, settings.macro_sample_s)
            results += records.macro(framework, model.name, mode, samples)
    return results
