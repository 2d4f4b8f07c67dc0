"""The two DANN models of the macro benchmark, described once for every framework.

* ``digits``: the demo's digits network (two 3×3 conv + 2×2 max-pool blocks, a dense
  feature layer, a 10-way label head and a one-logit domain head on 16×16×3 images),
  batches of 32 source + 32 target images;
* ``mlp``: a wider MLP (784 → 512 → 512 features, a 512-unit domain head), batches of
  64 + 64.

Weights and data are drawn once in NumPy, so the grl and identity variants (and the three
frameworks) start from the same numbers. Images are NHWC; conv kernels HWIO.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    name: str
    conv: tuple[int, ...]  # channels of each 3×3 conv block (each followed by a 2×2 pool)
    image: int  # image side (conv models) or 0 for flat inputs
    inputs: int  # flat input width (MLP) or image channels (conv)
    features: tuple[int, ...]  # dense feature layers after the conv blocks
    domain_hidden: int
    classes: int
    batch: int  # per domain: a step sees ``batch`` source and ``batch`` target examples

    @property
    def flat(self) -> int:
        """Width of the flattened conv output (or of the raw input for an MLP)."""
        if not self.conv:
            return self.inputs
        return self.conv[-1] * (self.image // 2 ** len(self.conv)) ** 2


DIGITS = ModelSpec("digits", (16, 32), 16, 3, (64,), 64, 10, 32)
MLP = ModelSpec("mlp", (), 0, 784, (512, 512), 512, 10, 64)
MODELS = (DIGITS, MLP)


def dense_shapes(spec: ModelSpec) -> dict[str, tuple[int, int]]:
    widths = (spec.flat, *spec.features)
    shapes = {f"f{i}": (a, b) for i, (a, b) in enumerate(itertools.pairwise(widths))}
    shapes["y"] = (widths[-1], spec.classes)
    shapes["d0"] = (widths[-1], spec.domain_hidden)
    shapes["d1"] = (spec.domain_hidden, 1)
    return shapes


def init_params(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """He-uniform kernels (``name.w``) and zero biases (``name.b``), float32."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    channels = (spec.inputs, *spec.conv)
    for i, (c_in, c_out) in enumerate(itertools.pairwise(channels)):
        bound = np.sqrt(6.0 / (9 * c_in))
        params[f"c{i}.w"] = rng.uniform(-bound, bound, (3, 3, c_in, c_out)).astype(np.float32)
        params[f"c{i}.b"] = np.zeros(c_out, np.float32)
    for name, (n_in, n_out) in dense_shapes(spec).items():
        bound = np.sqrt(6.0 / n_in)
        params[f"{name}.w"] = rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32)
        params[f"{name}.b"] = np.zeros(n_out, np.float32)
    return params


def batch(spec: ModelSpec, seed: int = 1) -> dict[str, np.ndarray]:
    """One training batch: source inputs and labels, target inputs, domain labels."""
    rng = np.random.default_rng(seed)
    shape = (
        (spec.batch, spec.image, spec.image, spec.inputs)
        if spec.conv
        else (
            spec.batch,
            spec.inputs,
        )
    )
    return {
        "source": rng.standard_normal(shape).astype(np.float32),
        "labels": rng.integers(spec.classes, size=spec.batch).astype(np.int64),
        "target": rng.standard_normal(shape).astype(np.float32),
        "domains": np.repeat(np.array([0.0, 1.0], np.float32), spec.batch),
    }


LEARNING_RATE = 0.01
MOMENTUM = 0.9
SCHEDULE_STEPS = 10_000
