"""Milliseconds per training step of the demo's MNIST → MNIST-M network, compiled or not.

For each framework, the trainer of ``grl.demo.train.make_trainer`` in both forms (each
trainer module's ``FORMS``): TensorFlow's ``tf.function`` step without and with XLA
(``jit_compile``), torch eager and ``torch.compile``, JAX op by op and ``jax.jit``. Each
(framework, form, method) runs in a fresh process with one compute thread (the demo's
setting), ``--warmup`` steps (tracing and compilation, reported apart) then ``--steps``
timed steps of the plan; CPU time (JAX's and
TensorFlow's own threads included). Run: ``python -m benchmarks.demo_steps``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from grl.demo.cli import BACKENDS

METHODS = ("source_only", "dann")


def measure(framework: str, compiled: bool, method: str, warmup: int, steps: int) -> dict:
    import importlib

    from grl.demo.cli import _limit_threads

    _limit_threads()
    from grl.demo.data import make_data
    from grl.demo.experiments import config_for
    from grl.demo.train import make_trainer

    data = make_data("mnist_m", 0)
    config = config_for("mnist_m")
    forms = importlib.import_module(f"grl.demo.models_{framework}").FORMS
    trainer = make_trainer(framework, config, data, method, 0, compiled=compiled)
    start = time.process_time()
    for i in range(warmup):
        trainer.step(i)
    trainer.loss_history()  # waits for the device
    first = time.process_time() - start
    start = time.process_time()
    for i in range(warmup, warmup + steps):
        trainer.step(i)
    trainer.loss_history()
    timed = time.process_time() - start
    return {
        "framework": framework,
        "form": forms[compiled],
        "default": compiled == next(iter(forms)),
        "method": method,
        "ms_per_step": 1e3 * timed / steps,
        "warmup_s": first,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("FRAMEWORK", "COMPILED", "METHOD"))
    parser.add_argument("--frameworks", default=",".join(BACKENDS))
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    if args.one:
        framework, compiled, method = args.one
        print(json.dumps(measure(framework, compiled == "1", method, args.warmup, args.steps)))
        return
    results = []
    for framework in args.frameworks.split(","):
        for compiled in ("0", "1"):
            for method in METHODS:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.demo_steps", "--one", framework,
                     compiled, method, "--warmup", str(args.warmup), "--steps", str(args.steps)],
                    capture_output=True, text=True, check=True, env={**os.environ},
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(result)
                form, ms = result["form"], result["ms_per_step"]
                print(
                    f"{framework:<6}{form:<20}{method:<12}{ms:>9.1f} ms/step"
                    f"  (first {args.warmup} steps: {result['warmup_s']:.1f} s)",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
