"""Milliseconds per training step of the demo's MNIST → MNIST-M network, compiled or not.

For each framework, the trainer of ``grl.demo.train.make_trainer`` in both forms:
TensorFlow's ``tf.function`` step without and with XLA (``jit_compile``), torch eager and
``torch.compile``, JAX op by op and ``jax.jit``. Each (framework, form, method) runs in a
fresh process with one compute thread (the demo's setting), ``--warmup`` steps (tracing and
compilation, reported apart) then ``--steps`` timed steps of the plan; CPU time (JAX's and
TensorFlow's own threads included). Run: ``python -m benchmarks.demo_steps``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: (framework, the demo's default form first) → the ``compiled`` flag of each form.
FORMS = {
    "tf": {"tf.function": False, "tf.function + XLA": True},
    "torch": {"eager": False, "torch.compile": True},
    "jax": {"jax.jit": True, "op by op": False},
}
METHODS = ("source_only", "dann")


def measure(framework: str, form: str, method: str, warmup: int, steps: int) -> dict:
    from grl.demo.cli import _limit_threads

    _limit_threads()
    from grl.demo.data import make_data
    from grl.demo.experiments import config_for
    from grl.demo.train import make_trainer

    data = make_data("mnist_m", 0)
    config = config_for("mnist_m")
    trainer = make_trainer(framework, config, data, method, 0, compiled=FORMS[framework][form])
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
        "form": form,
        "method": method,
        "ms_per_step": 1e3 * timed / steps,
        "warmup_s": first,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("FRAMEWORK", "FORM", "METHOD"))
    parser.add_argument("--frameworks", default="tf,torch,jax")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.warmup, args.steps)))
        return
    results = []
    for framework in args.frameworks.split(","):
        for form in FORMS[framework]:
            for method in METHODS:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.demo_steps", "--one", framework, form,
                     method, "--warmup", str(args.warmup), "--steps", str(args.steps)],
                    capture_output=True, text=True, check=True, env={**os.environ},
                )  # fmt: skip
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(result)
                print(
                    f"{framework:<6}{form:<20}{method:<12}{result['ms_per_step']:>9.1f} ms/step"
                    f"  (first {args.warmup} steps: {result['warmup_s']:.1f} s)",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
