"""docs/peers.md is what docs/gen_peers.py measures now (like the capability matrix)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grl._frameworks import BACKENDS
from tests.backends import required_backends

ROOT = Path(__file__).resolve().parents[2]
#: Everything the page measures, each with the backend it belongs to: every framework, and
#: the two registry packages (the ``peers`` extra, which the ``test`` extra includes).
NEEDED = {
    **{framework.module: framework.name for framework in BACKENDS},
    "pytorch_revgrad": "torch",
    "gradient_reversal": "torch",
}


@pytest.mark.slow
def test_peers_page_is_current():
    missing = [module for module in NEEDED if importlib.util.find_spec(module) is None]
    required = [module for module in missing if NEEDED[module] in required_backends()]
    if required:  # CI requires every backend: the page must be checked, not skipped
        pytest.fail(
            f"the peers page measures {required}, which are not installed and belong to a "
            "backend that GRL_REQUIRE_BACKENDS requires: pip install -e '.[all,test]'",
            pytrace=False,
        )
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


def test_a_missing_package_is_named_with_the_fix_before_any_measuring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The generator forces torch's aliasing setting and puts the repository on sys.path when
    # it loads: both are put back after this test.
    monkeypatch.setenv("TORCHINDUCTOR_ERROR_ON_CUSTOM_OP_ALIASING", "0")
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("docs_gen_peers", ROOT / "docs" / "gen_peers.py")
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # dataclasses look it up
    spec.loader.exec_module(generator)
    installed = importlib.metadata.version

    def version(name: str) -> str:
        if name in ("pytorch-revgrad", "torch-gradient-reversal"):
            raise importlib.metadata.PackageNotFoundError(name)
        return installed(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(generator, "measure", lambda: pytest.fail("measured", pytrace=False))
    assert generator.main(["--check"]) == 2
    assert capsys.readouterr().err == (
        "docs/peers.md measures packages that are not installed: pytorch-revgrad, "
        "torch-gradient-reversal "
        "(pip install -e '.[all,peers]')\n"
    )
