"""Run a script of tests/tf/scripts in a fresh Python and read the JSON it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

SCRIPTS = Path(__file__).parent / "scripts"
REPO_ROOT = Path(__file__).parents[2]


def run_script(name: str, timeout: float = 240, **env: str) -> dict[str, Any]:
    environment = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **env,
    }
    process = subprocess.run(
        [sys.executable, str(SCRIPTS / name)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    if process.returncode != 0:
        raise AssertionError(
            f"{name} ({env}) exited with {process.returncode}:\n{process.stderr[-4000:]}"
        )
    return json.loads(process.stdout.strip().splitlines()[-1])


def decode(encoded: dict[str, Any]) -> np.ndarray:
    """An array sent as {"dtype", "shape", "hex"} by a script, bits unchanged."""
    dtype = ml_dtypes.bfloat16 if encoded["dtype"] == "bfloat16" else np.dtype(encoded["dtype"])
    return np.frombuffer(bytes.fromhex(encoded["hex"]), dtype=dtype).reshape(encoded["shape"])
