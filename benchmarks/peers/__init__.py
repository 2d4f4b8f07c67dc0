"""The alternatives to grl that users would otherwise pick, per framework.

Two kinds of peer, always labelled as such in the results:

* installed packages (``pytorch-revgrad``, ``torch-gradient-reversal`` from PyPI at the
  versions of the ``peers`` extra): imported and benchmarked as they are, or reported with
  the error of their import or of their first call;
* patterns re-written here from their published description (never copied), named
  "... pattern (re-implemented)": the copy-then-neg-mul ``autograd.Function`` of the most
  popular transfer-learning library, the ``detach``/``stop_gradient`` trick, the
  ``tf.custom_gradient`` and ``jax.custom_vjp`` neg-then-mul layers, and the DANN loss
  subtraction ``L_y − λ·L_d`` that needs no layer at all.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    """Whether an installed peer can run, and which version (None: it does not import)."""

    name: str
    version: str | None
    error: str | None

    @property
    def available(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "error": self.error}


def describe(error: BaseException) -> str:
    """``Type: first line of the message``: one line for the results table."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def probe(distribution: str, module: str) -> Availability:
    """Import ``module`` of the PyPI ``distribution``; the error text if it fails."""
    try:
        importlib.import_module(module)
    except Exception as error:  # any import failure means "missing", with its reason
        return Availability(distribution, None, describe(error))
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return Availability(distribution, version, None)
