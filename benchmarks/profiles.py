"""Where grl's time goes, per framework: the profiler summaries quoted in docs/performance.md.

    python -m benchmarks.profiles [--out benchmarks/results/profiles.txt]

* PyTorch: ``torch.profiler`` op table of one eager forward (1,000 elements) and one
  eager backward (3e7 elements) of ``GradientReversal``, next to identity and the floor;
* TensorFlow and JAX: the framework profiler (``tf.profiler.experimental`` and
  ``jax.profiler``) traces the same calls; the XSpace it writes is summarised here (host
  events by total time), as TensorBoard's profile plugin would show them;
* PyTorch: ops and self CPU time per compiled DANN step (grl with ``step_all``, fixed λ,
  identity), and the cost of ``step_all`` alone;
* all three: ``cProfile`` of 2,000 eager forward calls, the Python functions that cost
  the most (the per-call overhead lives in Python, which op-level profilers do not see).

Each framework runs in its own process, one thread, like the benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import io
import os
import pstats
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as ``python benchmarks/profiles.py``
    sys.path.insert(0, str(ROOT))

from grl._frameworks import NAMES  # noqa: E402

SMALL, LARGE = 1_000, 30_000_000


def python_hotspots(fn: Callable[[], object], calls: int = 2_000, top: int = 12) -> str:
    fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join([f"cProfile, {calls} calls (times in s, for all calls):", *lines[start:]])


def xspace_summary(logdir: str, top: int = 12) -> str:
    """Host-thread events of the newest ``*.xplane.pb`` under ``logdir``, by total time."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True), key=os.path.getmtime)
    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(paths[-1]).read_bytes())
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for plane in space.planes:
        if not plane.name.startswith("/host:"):
            continue
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                entry = totals[names.get(event.metadata_id, "?")]
                entry[0] += event.duration_ps / 1e6
                entry[1] += 1
    rows = sorted(totals.items(), key=lambda kv: -kv[1][0])[:top]
    out = ["total µs   count  event"]
    out += [f"{total:10.1f} {count:6d}  {name[:90]}" for name, (total, count) in rows]
    return "\n".join(out)


def torch_profile() -> str:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from grl.torch import GradientReversal

    torch.set_num_threads(1)
    layer = GradientReversal(0.5)
    parts = []
    x = torch.randn(SMALL, requires_grad=True)
    for name, fn in (("grl", lambda: layer(x)), ("identity", lambda: x.view_as(x))):
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(100):
                fn()
        parts.append(f"torch.profiler: 100 eager forwards of {name}, {SMALL} elements")
        parts.append(prof.key_averages().table(sort_by="cpu_time_total", row_limit=8))
    x = torch.randn(LARGE, requires_grad=True)
    g = torch.randn(LARGE)
    y = layer(x)
    torch.autograd.grad(y, x, g, retain_graph=True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        torch.autograd.grad(y, x, g, retain_graph=True)
        g * torch.tensor(-0.5)
    parts.append(f"torch.profiler: one grl backward, then the floor g * c, {LARGE:,} elements")
    parts.append(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    parts.append(python_hotspots(lambda: layer(torch.randn(SMALL, requires_grad=True))))
    parts.append(torch_dann_steps())
    return "\n\n".join(parts)


def torch_dann_steps(steps: int = 20) -> str:
    """Ops and self CPU time per compiled digits DANN step: grl (with ``step_all``) vs identity."""
    import time

    from torch.profiler import ProfilerActivity, profile

    from benchmarks import dann
    from benchmarks.torch_dann import steps_for
    from grl.torch import GradientReversal, step_all

    variants = steps_for(dann.DIGITS, "compiled", "inductor")
    lines = [f"torch.profiler: {steps} compiled digits DANN steps per variant"]
    for name, step in variants.items():
        for _ in range(10):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                step()
        events = prof.key_averages()
        ops = sum(e.count for e in events) / steps
        self_ms = sum(e.self_cpu_time_total for e in events) / steps / 1e3
        lines.append(f"  {name}: {ops:.0f} ops per step, {self_ms:.2f} ms self CPU per step")
    model = next(
        v.model
        for v in variants.values()
        if any(
            isinstance(m, GradientReversal) and m.schedule is not None for m in v.model.modules()
        )
    )
    start = time.process_time()
    for _ in range(10_000):
        step_all(model)
    lines.append(f"  step_all(model) alone: {(time.process_time() - start) * 100:.1f} µs per call")
    return "\n".join(lines)


def tf_profile() -> str:
    import tensorflow as tf

    from grl.tf import gradient_reversal

    lambda_ = tf.Variable(0.5, trainable=False)
    x = tf.random.normal([SMALL])

    def forward() -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            return gradient_reversal(x, lambda_)

    forward()
    parts = []
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(100):
            forward()
        tf.profiler.experimental.stop()
        parts.append(f"TF profiler: 100 eager forwards under a tape, {SMALL} elements")
        parts.append(xspace_summary(logdir))
    x, g = tf.random.normal([LARGE]), tf.random.normal([LARGE])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = gradient_reversal(x, lambda_)
    tape.gradient(y, x, output_gradients=g)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        tape.gradient(y, x, output_gradients=g)
        tf.profiler.experimental.stop()
        parts.append(f"TF profiler: one eager grl backward, {LARGE:,} elements")
        parts.append(xspace_summary(logdir))
    parts.append(python_hotspots(forward))
    parts.append(tf_schedule_update())
    return "\n\n".join(parts)


def tf_schedule_update() -> str:
    """Where the scheduled grl DANN step's λ update runs, and what it costs there.

    Times (interleaved medians, process CPU) the compiled MLP step with a fixed λ, with
    ``layer.advance()`` inside the compiled step (the benchmark's grl variant), and the
    fixed-λ step followed by an eager ``layer.advance()`` (one XLA call: what the Keras
    callback runs between ``fit``'s steps). Then the TF profiler's view of 20 eager
    ``advance()`` calls.
    """
    import tensorflow as tf

    from benchmarks import dann, records, tf_dann, timing
    from grl.core import schedules
    from grl.tf import GradientReversal

    shared = tf_dann.Shared(dann.MLP)
    fixed = tf_dann.make_step(dann.MLP, records.GRL_FIXED, "compiled", shared)
    inside = tf_dann.make_step(dann.MLP, records.GRL, "compiled", shared)
    layer = GradientReversal(schedules.dann(total_steps=dann.SCHEDULE_STEPS))

    def outside() -> None:
        fixed()
        layer.advance()

    cases = {
        "compiled step, fixed λ": fixed,
        "layer.advance() inside the compiled step": inside,
        "compiled step, then an eager layer.advance()": outside,
    }
    medians = timing.interleaved_medians(cases, 15, 0.05)
    lines = ["TF DANN step (mlp, compiled), median CPU time per step:"]
    lines += [f"  {name}: {seconds * 1e3:.2f} ms" for name, seconds in medians.items()]
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(20):
            layer.advance()
        tf.profiler.experimental.stop()
        lines += ["", "TF profiler: 20 calls of layer.advance()", xspace_summary(logdir, top=8)]
    return "\n".join(lines)


def jax_profile() -> str:
    import jax
    import jax.numpy as jnp

    from grl.jax import gradient_reversal

    lambda_ = jnp.asarray(0.5, jnp.float32)
    x = jnp.ones(SMALL)
    layer = lambda x: gradient_reversal(x, lambda_)  # noqa: E731
    layer(x)
    parts = []
    with tempfile.TemporaryDirectory() as logdir:
        with jax.profiler.trace(logdir):
            for _ in range(100):
                jax.block_until_ready(layer(x))
        parts.append(f"jax.profiler: 100 eager forwards, {SMALL} elements")
        parts.append(xspace_summary(logdir))
    x, g = jnp.ones(LARGE), jnp.ones(LARGE)
    _, pullback = jax.vjp(layer, x)
    jax.block_until_ready(pullback(g))
    with tempfile.TemporaryDirectory() as logdir:
        with jax.profiler.trace(logdir):
            jax.block_until_ready(pullback(g))
        parts.append(f"jax.profiler: one eager grl backward (vjp), {LARGE:,} elements")
        parts.append(xspace_summary(logdir))
    parts.append(python_hotspots(lambda: layer(x)))
    parts.append(jax_step_costs())
    return "\n\n".join(parts)


def jax_step_costs() -> str:
    """XLA's own accounting of the jitted DANN steps: flops and bytes, per variant."""
    import jax

    from benchmarks import dann, jax_dann

    lines = ["XLA cost analysis of the jitted DANN step (per step):"]
    for model in dann.MODELS:
        for variant in jax_dann.VARIANTS:
            update, state = jax_dann.make_update(model, variant)
            cost = jax.jit(update).lower(*state).compile().cost_analysis()
            cost = cost[0] if isinstance(cost, list) else cost
            lines.append(
                f"  {model.name:6} {variant:14} flops {cost.get('flops', 0):>14,.0f}  "
                f"bytes accessed {cost.get('bytes accessed', 0):>14,.0f}"
            )
    return "\n".join(lines)


#: One ``<name>_profile`` function per framework of the registry.
PROFILES = {name: globals()[f"{name}_profile"] for name in NAMES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/profiles.txt")
    parser.add_argument("--framework", choices=sorted(PROFILES))
    args = parser.parse_args(argv)
    if args.framework:
        from benchmarks.worker import limit_threads

        limit_threads(1)
        print(PROFILES[args.framework]())
        return 0
    sections = []
    for framework in PROFILES:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.profiles", "--framework", framework],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        body = done.stdout if done.returncode == 0 else done.stderr[-3000:]
        sections.append(f"{'=' * 30} {framework} {'=' * 30}\n\n{body.strip()}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
