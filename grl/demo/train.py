"""One training run: a (experiment, backend, method, seed) → accuracies, seconds and the model."""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from grl.demo.data import DomainData
from grl.demo.experiments import Config, init_params, make_plan
from grl.demo.monitoring import MonitorLog, check_every


class Trainer(Protocol):
    """What each ``grl.demo.models_<backend>.Trainer`` provides."""

    #: The monitor's records (``monitor_every`` given), else None.
    log: MonitorLog | None

    def step(self, i: int) -> None: ...
    def loss_history(self) -> np.ndarray: ...
    def predict(self, x: np.ndarray) -> np.ndarray: ...
    def features(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Record:
    """One run's result, as written to ``--json``."""

    experiment: str
    backend: str
    method: str
    seed: int
    source_accuracy: float
    target_accuracy: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_trainer(
    backend: str,
    config: Config,
    data: DomainData,
    method: str,
    seed: int,
    compiled: bool | None = None,
    monitor_every: int | None = None,
) -> Trainer:
    """Build ``backend``'s trainer for ``method`` from the shared initial weights and plan.

    ``compiled`` turns torch.compile / XLA (TF) on, or JAX's jit off; None keeps each
    backend's default (the faster, measured in docs/results.md).

    ``monitor_every`` records grl's diagnostics monitor every that many steps into
    ``trainer.log`` (source_only and dann; :mod:`grl.demo.monitoring` says what each
    records), without changing the run's numbers.

    source_only and dann learn labels from the source; target_only (the ceiling) learns them
    from the target training images; only dann sees unlabelled target images and uses the GRL.
    """
    module = importlib.import_module(f"grl.demo.models_{backend}")
    if monitor_every is not None:
        check_every(monitor_every)
        if method not in ("source_only", "dann"):
            raise ValueError(
                f"monitor_every records source_only and dann runs (the monitor watches the GRL "
                f"and the domain head); got method={method!r}: pass monitor_every=None"
            )
    if method == "target_only":
        labelled = (data.target_train_x, data.target_train_y)
    else:
        labelled = (data.source_train_x, data.source_train_y)
    # The same initial weights for every method and backend of a seed: DANN and source-only
    # start from the same point, as the issue asks.
    params = init_params(config.net, seed)
    plan = make_plan(config, method, len(labelled[1]), len(data.target_train_x), seed)
    options: dict[str, Any] = {} if compiled is None else {"compiled": compiled}
    if monitor_every is not None:
        options["monitor_every"] = monitor_every
    return module.Trainer(
        config, params, plan, labelled, data.target_train_x, method == "dann", **options
    )


def accuracy(trainer: Trainer, x: np.ndarray, y: np.ndarray) -> float:
    return float((trainer.predict(x).argmax(axis=1) == y).mean())


def run(
    backend: str,
    config: Config,
    data: DomainData,
    method: str,
    seed: int,
    progress: Any = None,
    monitor_every: int | None = None,
) -> tuple[Record, Trainer]:
    """Train one model and score it on the held-out source and target test sets.

    ``progress`` is a tqdm-like object (``update(n)``, ``set_postfix_str``) or None;
    ``monitor_every`` as in :func:`make_trainer`.
    """
    start = time.perf_counter()
    trainer = make_trainer(backend, config, data, method, seed, monitor_every=monitor_every)
    every = max(1, config.steps // 50)
    for i in range(config.steps):
        trainer.step(i)
        if progress is not None and (i + 1) % every == 0:
            progress.update(every)
    if progress is not None:
        progress.update(config.steps - progress.n)
    source = accuracy(trainer, data.source_test_x, data.source_test_y)
    target = accuracy(trainer, data.target_test_x, data.target_test_y)
    seconds = time.perf_counter() - start
    if progress is not None:
        progress.set_postfix_str(f"source {source:.3f} target {target:.3f}")
    record = Record(data.name, backend, method, seed, source, target, round(seconds, 3))
    return record, trainer
