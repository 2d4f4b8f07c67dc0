"""docs/peers.md is what docs/gen_peers.py measures now (like the capability matrix)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grl._frameworks import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
#: Everything the page measures: every framework and the two registry packages.
NEEDED = (*(framework.module for framework in BACKENDS), "pytorch_revgrad", "gradient_reversal")


@pytest.mark.slow
def test_peers_page_is_current():
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the peers page measures {missing}, which are not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "docs/gen_peers.py", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
