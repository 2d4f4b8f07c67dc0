"""Golden vectors: portable reference cases for any GRL implementation.

``golden.json`` (shipped in the wheel) holds, for every gradient dtype and λ, an input
``x``, an upstream gradient ``g`` and the expected input gradient ``g · cast(−λ, dtype)``
(``grad_x`` with IEEE gradual underflow; ``grad_x_flush_to_zero`` for runtimes that flush
subnormals, as TensorFlow and XLA do on CPU), plus λ-schedule values. Arrays are stored
as the hexadecimal bit patterns of their elements (complex: real and imaginary parts
interleaved), λ and schedule values as ``float.hex`` strings, so any language can check
itself bit for bit.

Regenerate with ``python -m grl.core.golden --write``; the test suite checks that the
committed file equals a fresh generation.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from grl.core import schedules
from grl.core.reference import gradient_reversal_backward, numpy_dtype
from grl.core.samples import sample

FORMAT_VERSION = 1
DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
LAMBDAS = (0.0, 1e-30, 0.1, 1.0, 6.0, 1000.0)
#: λ given as a float32 value (not float64): checks that implementations respect λ's dtype.
FLOAT32_LAMBDAS = (0.1, 0.3)
SIZE = 16
SCHEDULES = (
    schedules.constant(0.5),
    schedules.linear(100, 0.0, 1.0),
    schedules.dann(100),
    schedules.dann(100, normalize=True),
    schedules.dann(1000, gamma=10.0, lo=0.1, hi=2.0),
    schedules.dann(50, gamma=200.0),
)
SCHEDULE_STEPS = (-5, 0, 1, 10, 25, 50, 99, 100, 101, 1000, 12345)


def _words(array: np.ndarray) -> list[str]:
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.kind == "c":
        flat = flat.view(np.finfo(flat.dtype).dtype)
    width = flat.dtype.itemsize
    unsigned = flat.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[width])
    return [format(int(word), f"0{2 * width}x") for word in unsigned]


def from_words(words: list[str], dtype: str) -> np.ndarray:
    """Decode a list of hexadecimal bit patterns back into an array of ``dtype``."""
    target = numpy_dtype(dtype)
    component = np.dtype(np.finfo(target).dtype) if target.kind == "c" else target
    unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}[component.itemsize]
    return np.array([int(w, 16) for w in words], dtype=unsigned).view(component).view(target)


def generate() -> dict[str, Any]:
    """Build the golden-vector document from the NumPy reference."""
    cases = []
    for index, dtype in enumerate(DTYPES):
        x = sample(dtype, (SIZE,), seed=100 + index)
        g = sample(dtype, (SIZE,), seed=200 + index)
        lambdas = [(value, "float64") for value in LAMBDAS]
        lambdas += [(value, "float32") for value in FLOAT32_LAMBDAS]
        for value, lambda_dtype in lambdas:
            lam = np.asarray(value, dtype=lambda_dtype)
            cases.append(
                {
                    "dtype": dtype,
                    "lambda": float(lam).hex(),
                    "lambda_dtype": lambda_dtype,
                    "x": _words(x),
                    "g": _words(g),
                    "grad_x": _words(gradient_reversal_backward(g, lam)),
                    "grad_x_flush_to_zero": _words(
                        gradient_reversal_backward(g, lam, flush_to_zero=True)
                    ),
                }
            )
    schedule_cases = [
        {
            "config": schedule.get_config(),
            "steps": list(SCHEDULE_STEPS),
            "values": [schedule(step).hex() for step in SCHEDULE_STEPS],
        }
        for schedule in SCHEDULES
    ]
    return {
        "format_version": FORMAT_VERSION,
        "rule": "forward(x) = x; grad_x = g * cast(-lambda, dtype(g)); 16-bit dtypes cast "
        "lambda through float32; complex dtypes scale real and imaginary parts by "
        "cast(-lambda, real dtype)",
        "encoding": "arrays: hex bit patterns per element (complex: real, imag interleaved), "
        "little-endian word values; lambda and schedule values: float.hex",
        "cases": cases,
        "schedules": schedule_cases,
    }


def load() -> dict[str, Any]:
    """The golden vectors shipped with this package."""
    text = resources.files("grl.core").joinpath("golden.json").read_text(encoding="utf-8")
    return json.loads(text)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite golden.json in place")
    args = parser.parse_args(argv)
    text = dumps(generate())
    if args.write:
        path = Path(__file__).with_name("golden.json")
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text)} bytes)")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
