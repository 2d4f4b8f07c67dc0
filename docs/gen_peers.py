"""Generate docs/peers.md: grl beside the gradient reversal layers people use, measured.

Every implementation runs through the same checks (``grl.conformance``) as grl itself:
the packages that install from the registry (pytorch-revgrad, torch-gradient-reversal) as
their documentation shows them used, and the snippets that DANN code bases copy, written
out here in our own words. A cell counts passing cases; ❌ names how many failed, and the
section below the table quotes the first failure of each check. Usage::

    pip install -e ".[all,peers]"       # the packages at the versions the page shows
    python docs/gen_peers.py            # rewrite docs/peers.md
    python docs/gen_peers.py --check    # exit 1 if docs/peers.md is stale

The ``peers`` extra of ``pyproject.toml`` pins the packages; the ``test`` extra includes it,
and ``tests/kit/test_peers_doc.py`` runs ``--check`` (in CI, where every backend is
required, a missing package fails the test instead of skipping it).
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "peers.md"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
#: torch's AOTAutograd refuses a custom op whose output aliases its input (as
#: torch-gradient-reversal's does) when ``CI`` is set and only warns otherwise, which changed
#: a line of the page between CI and a desk. Forced (before torch is imported) to the
#: refusal: the same page everywhere, and the rule torch announces for its next versions.
os.environ["TORCHINDUCTOR_ERROR_ON_CUSTOM_OP_ALIASING"] = "1"


# -- the snippets, as users copy them (our words, their behaviour) --------------------------
def reverse_layer_f() -> Callable[[Any, Any], Any]:
    """The ``ReverseLayerF`` autograd.Function of DANN code bases: a view forward, λ kept on
    ``ctx`` as given, backward ``(−g)·λ`` (negate, then scale)."""
    import torch

    class ReverseLayerF(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, alpha: Any) -> torch.Tensor:
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple:
            return grad.neg() * ctx.alpha, None

    return ReverseLayerF.apply


def detach_trick(x: Any, lambda_: Any) -> Any:
    """``−λx + (1+λ)·x.detach()``: gradient −λ, value x only up to rounding."""
    return -lambda_ * x + (1 + lambda_) * x.detach()


def jax_custom_vjp() -> Callable[[Any, Any], Any]:
    """The usual ``jax.custom_vjp`` GRL: λ a non-differentiable (static) argument,
    backward ``(−g)·λ``."""
    from functools import partial

    import jax

    @partial(jax.custom_vjp, nondiff_argnums=(1,))
    def reverse(x: Any, lambda_: Any) -> Any:
        return x

    def forward(x: Any, lambda_: Any) -> tuple:
        return x, None

    def backward(lambda_: Any, residual: Any, g: Any) -> tuple:
        return (-g * lambda_,)

    reverse.defvjp(forward, backward)
    return reverse


def keras_custom_gradient() -> Callable[[Any, Any], Any]:
    """The Keras ``tf.custom_gradient`` snippet: ``tf.identity`` forward, ``−dy·λ`` back."""
    import tensorflow as tf

    def reverse(x: Any, lambda_: Any) -> Any:
        @tf.custom_gradient
        def inner(x: Any) -> Any:
            def grad(dy: Any) -> Any:
                return -dy * lambda_

            return tf.identity(x), grad

        return inner(x)

    return reverse


# -- the packages, as their documentation uses them ------------------------------------------
def pytorch_revgrad() -> Callable[[Any, Any], Any]:
    from pytorch_revgrad import RevGrad

    return lambda x, lambda_: RevGrad(alpha=lambda_)(x)


def torch_gradient_reversal() -> Callable[[Any, Any], Any]:
    from gradient_reversal import gradient_reversal

    return lambda x, lambda_: gradient_reversal(x, alpha=lambda_)


def grl_op(framework: str) -> Callable[[], Callable[[Any, Any], Any]]:
    def load() -> Callable[[Any, Any], Any]:
        return importlib.import_module(f"grl.{framework}").gradient_reversal

    return load


@dataclass(frozen=True)
class Peer:
    title: str
    framework: str
    load: Callable[[], Callable[[Any, Any], Any]]
    origin: str
    package: str = ""  # its distribution, when it installs from the registry


PEERS = (
    Peer("grl (PyTorch)", "torch", grl_op("torch"), "`grl.torch.gradient_reversal`"),
    Peer(
        "pytorch-revgrad",
        "torch",
        pytorch_revgrad,
        "`RevGrad(alpha=λ)(x)`, as its README shows",
        "pytorch-revgrad",
    ),
    Peer(
        "torch-gradient-reversal",
        "torch",
        torch_gradient_reversal,
        "`gradient_reversal(x, alpha=λ)`, as its README shows",
        "torch-gradient-reversal",
    ),
    Peer(
        "ReverseLayerF",
        "torch",
        reverse_layer_f,
        "the autograd.Function of DANN code bases (written out here)",
    ),
    Peer("x.detach() trick", "torch", lambda: detach_trick, "`−λx + (1+λ)·x.detach()`"),
    Peer("grl (TensorFlow)", "tf", grl_op("tf"), "`grl.tf.gradient_reversal`"),
    Peer(
        "tf.custom_gradient",
        "tf",
        keras_custom_gradient,
        "the Keras `tf.custom_gradient` snippet (written out here)",
    ),
    Peer("grl (JAX)", "jax", grl_op("jax"), "`grl.jax.gradient_reversal`"),
    Peer(
        "jax.custom_vjp",
        "jax",
        jax_custom_vjp,
        "the usual `jax.custom_vjp` snippet, λ in `nondiff_argnums` (written out here)",
    ),
    Peer("grl (MLX)", "mlx", grl_op("mlx"), "`grl.mlx.gradient_reversal`"),
)


# -- the page ----------------------------------------------------------------------------------
def _clean(reason: str) -> str:
    """One short, machine-independent line (no addresses or paths)."""
    reason = re.sub(r"0x[0-9a-f]{6,}", "0x…", reason)
    reason = reason.replace(str(ROOT), ".").replace("|", "\\|")
    reason = re.sub(r"\s+", " ", reason)
    return reason if len(reason) <= 150 else reason[:149].rstrip() + "…"


def missing_packages() -> list[str]:
    """The registry packages of :data:`PEERS` that are not installed."""
    missing = []
    for package in (peer.package for peer in PEERS if peer.package):
        try:
            importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            missing.append(package)
    return missing


def measure() -> list[tuple[Peer, Any]]:
    from grl.conformance import check

    return [(peer, check(peer.framework, peer.load())) for peer in PEERS]


def render(measured: list[tuple[Peer, Any]]) -> str:
    capabilities: list[str] = []
    for _, report in measured:
        capabilities += [c for c in report.capabilities() if c not in capabilities]
    lines = [
        "# Peers: grl beside the gradient reversal layers people use",
        "",
        "<!-- generated by docs/gen_peers.py; CI runs `python docs/gen_peers.py --check` -->",
        "",
        "Each column is one implementation run through `python -m grl.conformance`, the same",
        "checks that hold grl's own backends to the [specification](spec.md). The packages run",
        "as their documentation uses them; the snippets are written out in `docs/gen_peers.py`",
        "as DANN code bases copy them. ✅ passing cases · ❌ failed/run · ⚠️ a clear error",
        "where the framework cannot support the property · ➖ not applicable.",
        "",
        "The packages are the versions that grl's `peers` extra pins (in each heading below);",
        "`pip install -e '.[all,peers]'` and `python docs/gen_peers.py` regenerate the page,",
        "and CI checks it with `--check`. PyTorch runs with its custom-op aliasing check as an",
        "error (`TORCHINDUCTOR_ERROR_ON_CUSTOM_OP_ALIASING=1`, torch's setting under `CI`).",
        "",
        "| capability | " + " | ".join(p.title for p, _ in measured) + " |",
        "|---|" + "---|" * len(measured),
    ]
    for capability in capabilities:
        if all(
            capability not in r.capabilities() or r.cell(capability) == "➖ n/a"
            for _, r in measured
        ):
            continue  # layer rows: these are ops, not layers
        cells = [
            r.cell(capability) if capability in r.capabilities() else "➖" for _, r in measured
        ]
        lines.append(f"| {capability} | " + " | ".join(cells) + " |")
    lines += ["", "## Where each departs from the specification", ""]
    for peer, report in measured:
        version = ""
        if peer.package:
            version = f" {importlib.metadata.version(peer.package)}"
        lines.append(f"### {peer.title}{version}")
        lines += ["", f"{peer.framework}: {peer.origin}.", ""]
        first: dict[str, str] = {}
        for result in report.failures:
            first.setdefault(result.check, f"`{result.check}[{result.case}]`: {result.reason}")
        if not first:
            lines += ["Every applicable check passes.", ""]
            continue
        lines += [f"- {_clean(text)}" for text in first.values()] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    missing = missing_packages()
    if missing:  # before minutes of measuring, and with the fix
        print(
            f"docs/peers.md measures packages that are not installed: {', '.join(missing)} "
            "(pip install -e '.[all,peers]')",
            file=sys.stderr,
        )
        return 2
    text = render(measure())
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), "committed", "generated", lineterm=""
            )
            print("\n".join(diff))
            print(f"{DOC} is stale: run python docs/gen_peers.py", file=sys.stderr)
            return 1
        print(f"{DOC} is current")
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
