"""What the diagnostics monitor costs: one DANN training step with the monitor off and on.

The step is the demo's MNIST → MNIST-M DANN, the paper's network (JMLR 2016, Fig. 4; the
demo's ``paper_net``): conv 5×5×32 → max-pool 2 → conv 5×5×48 → max-pool 2 (768 shared
features), label head fc 100 → fc 100 → fc 10, domain head fc 100 → fc 1, on 28×28×3 images,
64 source + 64 target images per step. In each framework:

* torch: eager ``zero_grad``, forward, backward, ``optimizer.step()``, ``step_all``; "on"
  adds a :class:`grl.backends.torch.diagnostics.Monitor` (``domain()`` and ``collect()``
  every step); both cases train the same model, each through a GRL of its own;
* jax: one ``jax.jit`` update (optax-free SGD); "on" computes ``reversal_metrics`` in the
  same jitted function and passes them to a host ``Monitor`` every step;
* keras (TensorFlow backend): ``model.fit`` over 32 batches; "on" adds ``Monitor``. Both
  cases fit the same model, each with its own traced train function.

"off" is the step without any monitor (a layer without a monitor has no hook at all).
Each framework runs in its own process with one thread. Samples of the two variants are
interleaved and timed in CPU time (``--threads N``: N threads, timed in wall time); the
cost is the median of the paired per-round ratios, with a distribution-free 95 %
confidence interval for that median (binomial order statistics: it needs no assumption
about the spread of single rounds). Something fixed per
process moves a run by more than that interval, so ``--processes N`` repeats the run in N
fresh processes and gives the median of their medians (with an interval from 6 on). Run
pinned to one idle core: ``taskset -c 1 python -m benchmarks.diagnostics_cost``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

BATCH, IMAGE, CLASSES = 64, 28, 10
FEATURES = 48 * 4 * 4  # after two valid 5×5 convs and two 2×2 pools of 28×28
KERAS_BATCHES = 32  # batches per timed `fit` call
FRAMEWORKS = ("torch", "jax", "keras")
#: Paired rounds by default: a Keras round fits 2 × 32 batches (about 2 s).
REPEATS = {"torch": 301, "jax": 301, "keras": 201}


def data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((2 * BATCH, IMAGE, IMAGE, 3)).astype("float32")
    return {
        "images": images,
        "labels": rng.integers(0, CLASSES, BATCH).astype("int64"),
        "domains": np.repeat([0.0, 1.0], BATCH).astype("float32"),
    }


def sample(
    cases: dict[str, Callable[[], None]],
    repeats: int,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, list[float]]:
    """Interleaved samples (``clock`` seconds) of one call of every case, the order alternating.

    One call a sample: the machine's speed drifts by several percent over seconds, and
    pairs of neighbouring calls see the same speed.
    """
    for case in cases.values():
        case()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for repeat in range(repeats):
        for name in names[repeat % 2 :] + names[: repeat % 2]:
            start = clock()
            cases[name]()
            samples[name].append(clock() - start)
    return samples


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A confidence interval for the median of ``values``, free of distribution assumptions.

    The interval between the k-th smallest and the k-th largest value holds the median with
    probability 1 − 2·P(B < k), B ~ Binomial(n, ½); k is the largest rank that keeps this
    probability ≥ ``confidence``. Example: 101 values give ranks 41 and 61 (96.5 %).
    """
    ordered, n = sorted(values), len(values)
    below = 0.0  # P(B < k), grown one rank at a time
    k = 0
    while k < n // 2 and 1 - 2 * (below + math.comb(n, k) / 2**n) >= confidence:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        raise ValueError(f"{n} values are too few for a {confidence:.0%} interval of the median")
    return ordered[k - 1], ordered[n - k]


def torch_cases() -> dict[str, Callable[[], None]]:
    import torch
    from torch import nn
    from torch.nn import functional as F

    from grl.backends.torch.diagnostics import Monitor
    from grl.core import schedules
    from grl.torch import GradientReversal, step_all

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    batch = {k: torch.from_numpy(v) for k, v in data().items()}
    batch["images"] = batch["images"].permute(0, 3, 1, 2).contiguous()

    def model() -> nn.Module:
        torch.manual_seed(0)
        return nn.ModuleDict(
            {
                "features": nn.Sequential(
                    nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(32, 48, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                ),
                "label": nn.Sequential(
                    nn.Linear(FEATURES, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                    nn.Linear(100, CLASSES),
                ),
                "grl": GradientReversal(schedules.dann(total_steps=10**9)),
                "domain": nn.Sequential(nn.Linear(FEATURES, 100), nn.ReLU(), nn.Linear(100, 1)),
            }
        )  # fmt: skip

    # One model and optimizer for both cases (two instances of a network can differ in
    # speed by about 1 %): each case has its own GRL (a GRL has no weights), one monitored.
    net = model()
    net["monitored"] = GradientReversal(schedules.dann(total_steps=10**9))
    monitor = Monitor(net["monitored"])
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)

    def step_for(grl: nn.Module, monitored: bool) -> Callable[[], None]:
        def step() -> None:
            optimizer.zero_grad()
            features = net["features"](batch["images"])
            logits = net["domain"](grl(features)).squeeze(1)
            loss = F.cross_entropy(
                net["label"](features[:BATCH]), batch["labels"]
            ) + F.binary_cross_entropy_with_logits(logits, batch["domains"])
            loss.backward()
            optimizer.step()
            step_all(net)
            if monitored:
                monitor.domain(logits, batch["domains"])
                monitor.collect()

        return step

    return {"off": step_for(net["grl"], False), "on": step_for(net["monitored"], True)}


def jax_cases() -> dict[str, Callable[[], None]]:
    import jax
    import jax.numpy as jnp

    from grl.backends.jax.diagnostics import Monitor, reversal_metrics
    from grl.core import schedules as core_schedules
    from grl.jax import gradient_reversal, schedules

    schedule = schedules.dann(total_steps=10**9)
    batch = {k: jnp.asarray(v) for k, v in data().items()}
    rng = np.random.default_rng(0)

    def dense(n_in: int, n_out: int) -> dict:
        scale = np.sqrt(2.0 / n_in)
        w = (rng.standard_normal((n_in, n_out)) * scale).astype("float32")
        return {"w": jnp.asarray(w), "b": jnp.zeros(n_out)}

    def conv(c_in: int, c_out: int) -> dict:
        scale = np.sqrt(2.0 / (25 * c_in))
        w = (rng.standard_normal((5, 5, c_in, c_out)) * scale).astype("float32")
        return {"w": jnp.asarray(w), "b": jnp.zeros(c_out)}

    params = {
        "c0": conv(3, 32), "c1": conv(32, 48),
        "y0": dense(FEATURES, 100), "y1": dense(100, 100), "y2": dense(100, CLASSES),
        "d0": dense(FEATURES, 100), "d1": dense(100, 1),
    }  # fmt: skip

    def block(p: dict, x: jax.Array) -> jax.Array:
        x = jax.lax.conv_general_dilated(
            x, p["w"], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        x = jax.nn.relu(x + p["b"])
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def features(p: dict, images: jax.Array) -> jax.Array:
        return block(p["c1"], block(p["c0"], images)).reshape(images.shape[0], -1)

    def domain_head(p: dict, r: jax.Array) -> jax.Array:
        return (jax.nn.relu(r @ p["d0"]["w"] + p["d0"]["b"]) @ p["d1"]["w"] + p["d1"]["b"])[:, 0]

    def bce(logits: jax.Array, labels: jax.Array) -> jax.Array:
        return jnp.mean(jnp.logaddexp(0.0, logits) - labels * logits)

    def label_loss(p: dict, f: jax.Array) -> jax.Array:
        h = jax.nn.relu(f[:BATCH] @ p["y0"]["w"] + p["y0"]["b"])
        h = jax.nn.relu(h @ p["y1"]["w"] + p["y1"]["b"])
        log_p = jax.nn.log_softmax(h @ p["y2"]["w"] + p["y2"]["b"])
        return -jnp.mean(jnp.take_along_axis(log_p, batch["labels"][:, None], axis=1))

    def loss(p: dict, step: jax.Array) -> tuple[jax.Array, tuple]:
        f = features(p, batch["images"])
        lam = schedule(step)
        logits = domain_head(p, gradient_reversal(f, lam))
        return label_loss(p, f) + bce(logits, batch["domains"]), (f, logits, lam)

    def update(p: dict, step: jax.Array, monitored: bool) -> tuple:
        grads, (f, logits, lam) = jax.grad(loss, has_aux=True)(p, step)
        new = jax.tree.map(lambda a, g: a - 1e-3 * g, p, grads)
        metrics = {}
        if monitored:
            metrics = reversal_metrics(
                lambda r: bce(domain_head(p, r), batch["domains"]),
                f, lam, step,
                label_loss=lambda x: label_loss(p, x),
                domain_logits=logits, domain_labels=batch["domains"],
            )  # fmt: skip
        return new, step + 1, metrics

    jitted = {flag: jax.jit(lambda p, s, flag=flag: update(p, s, flag)) for flag in (False, True)}
    monitor = Monitor(core_schedules.dann(total_steps=10**9))
    state = {False: (params, jnp.int32(0)), True: (params, jnp.int32(0))}

    def step_for(flag: bool) -> Callable[[], None]:
        def step() -> None:
            p, s, metrics = jitted[flag](*state[flag])
            state[flag] = (p, s)
            if flag:
                monitor.update(metrics)
            else:
                jax.block_until_ready(p)

        return step

    return {"off": step_for(False), "on": step_for(True)}


def keras_cases() -> dict[str, Callable[[], None]]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    from grl.backends.keras.diagnostics import Monitor
    from grl.core import schedules
    from grl.keras import GradientReversal, GradientReversalScheduler

    batches = KERAS_BATCHES
    arrays = data()
    images = np.tile(arrays["images"], (batches, 1, 1, 1))
    labels = np.tile(np.concatenate([arrays["labels"], arrays["labels"]]), batches)
    domains = np.tile(arrays["domains"], batches)

    def model() -> keras.Model:
        keras.utils.set_random_seed(0)
        x = keras.Input((IMAGE, IMAGE, 3))
        h = keras.layers.MaxPooling2D()(keras.layers.Conv2D(32, 5, activation="relu")(x))
        h = keras.layers.MaxPooling2D()(keras.layers.Conv2D(48, 5, activation="relu")(h))
        f = keras.layers.Flatten()(h)
        y = keras.layers.Dense(100, activation="relu")(f)
        y = keras.layers.Dense(100, activation="relu")(y)
        r = GradientReversal(schedules.dann(total_steps=10**9))(f)
        d = keras.layers.Dense(1)(keras.layers.Dense(100, activation="relu")(r))
        net = keras.Model(
            x,
            {
                "label": keras.layers.Dense(CLASSES, name="label")(y),
                "domain": keras.layers.Reshape((), name="domain")(d),
            },
        )
        net.compile(
            optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
            loss={
                "label": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                "domain": keras.losses.BinaryCrossentropy(from_logits=True),
            },
        )
        return net  # fmt: skip

    # One model for both cases (two instances of the same network differ by up to ±1 % in
    # speed, measured A/A): each case keeps its own traced train function and puts it back
    # before its fit, so neither retraces.
    net = model()
    scheduler, monitor = GradientReversalScheduler(), Monitor(domain_loss="domain_loss")

    def fit(callbacks: list) -> None:
        net.fit(
            images,
            {"label": labels, "domain": domains},
            batch_size=2 * BATCH,
            epochs=1,
            verbose=0,
            callbacks=callbacks,
        )

    fit([scheduler])
    plain = net.train_function
    fit([scheduler, monitor])  # traces the monitored train function
    monitored = net.train_function

    def case(function: Callable, callbacks: list) -> Callable[[], None]:
        def run() -> None:
            net.train_function = function
            fit(callbacks)

        return run

    return {"off": case(plain, [scheduler]), "on": case(monitored, [scheduler, monitor])}


CASES = {"torch": torch_cases, "jax": jax_cases, "keras": keras_cases}


def measure(framework: str, repeats: int, threads: int = 1) -> dict[str, float]:
    import warnings

    from grl.core.diagnostics import GRLWarning

    warnings.simplefilter("ignore", GRLWarning)  # random data: the domain loss sits at ln 2
    # One thread: CPU time (immune to other processes); more: wall time, the step's time.
    clock = time.process_time if threads == 1 else time.perf_counter
    samples = sample(CASES[framework](), repeats, clock)
    ratios = sorted(on / off for on, off in zip(samples["on"], samples["off"], strict=True))
    low, high = median_interval(ratios)
    per_call = KERAS_BATCHES if framework == "keras" else 1
    return {
        "repeats": repeats,
        "framework": framework,
        "off_ms": 1e3 * statistics.median(samples["off"]) / per_call,
        "on_ms": 1e3 * statistics.median(samples["on"]) / per_call,
        "cost_percent": 100 * (statistics.median(ratios) - 1),
        "cost_q1_percent": 100 * (statistics.quantiles(ratios, n=4)[0] - 1),
        "cost_q3_percent": 100 * (statistics.quantiles(ratios, n=4)[2] - 1),
        "cost_low_percent": 100 * (low - 1),
        "cost_high_percent": 100 * (high - 1),
    }


def worker(framework: str, repeats: int, threads: int) -> dict[str, float]:
    """One process's measurement (no framework shares threads with another)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.diagnostics_cost", "--framework", framework,
         "--repeats", str(repeats), "--threads", str(threads), "--worker"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def across_processes(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of the processes' medians, with a distribution-free 95 % interval for it
    (6 processes or more): what is fixed per process (memory layout, say) moves a run's
    cost by more than its own interval, so only processes average it out."""
    medians = [r["cost_percent"] for r in runs]
    summary = {"processes": len(runs), "cost_percent": statistics.median(medians)}
    if len(runs) >= 6:
        summary["cost_low_percent"], summary["cost_high_percent"] = median_interval(medians)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=FRAMEWORKS, help="only this framework")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--repeats", type=int, help=f"paired rounds per process (default {REPEATS})"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="processes per framework (6+: an interval)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per framework (1)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from benchmarks.worker import limit_threads

        limit_threads(args.threads)
        repeats = args.repeats or REPEATS[args.framework]
        print(json.dumps(measure(args.framework, repeats, args.threads)))
        return
    print(f"{'framework':<10}{'off ms/step':>12}{'on ms/step':>12}{'cost':>8}  95% interval")
    results = []
    for framework in [args.framework] if args.framework else FRAMEWORKS:
        runs = []
        for _ in range(args.processes):
            r = worker(framework, args.repeats or REPEATS[framework], args.threads)
            runs.append(r)
            interval = f"[{r['cost_low_percent']:.1f}, {r['cost_high_percent']:.1f}]%"
            print(
                f"{framework:<10}{r['off_ms']:>12.3f}{r['on_ms']:>12.3f}"
                f"{r['cost_percent']:>7.1f}%  {interval}",
                flush=True,
            )
        summary = {"framework": framework, **across_processes(runs)}
        if len(runs) > 1:
            interval = (
                f"[{summary['cost_low_percent']:.1f}, {summary['cost_high_percent']:.1f}]%"
                if "cost_low_percent" in summary
                else "(6+ processes for an interval)"
            )
            print(
                f"{framework:<10}{'median of ' + str(len(runs)) + ' processes':>24}"
                f"{summary['cost_percent']:>7.1f}%  {interval}"
            )
        results.append({**summary, "runs": runs})
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
