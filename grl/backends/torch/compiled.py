"""The GRL inside ``torch.compile`` / ``torch.export``: imported only while Dynamo traces.

Kept apart because its decorators import ``torch._dynamo`` (about a second), which eager
use never needs: :func:`grl.backends.torch.functions.reverse` imports this module from
inside compiled code, where Dynamo is loaded already.
"""

from __future__ import annotations

import torch

from grl.backends.torch import internals
from grl.backends.torch.functions import Reversal, eager_reverse

_TRANSFORM_REASON = (
    "grl: torch.func transforms (grad, jacrev, jvp, jacfwd, hessian; vmap with gradients "
    "on) and forward-mode AD (torch.autograd.forward_ad) through the gradient reversal "
    "layer run eagerly: under them Dynamo drops an autograd.Function's custom derivative "
    "rules and would silently return +g / +t. Compile without fullgraph=True, or apply "
    "the transform outside torch.compile."
)

# Dynamo evaluates this once while tracing (it enters functorch transforms for real then)
# and guards compiled code on the functorch stack and grad mode, so the answer is not stale.
transform_drops_custom_rules = torch.compiler.assume_constant_result(
    internals.transform_drops_custom_rules
)
eager_reverse_from_compiled = internals.compiler_disable(eager_reverse, _TRANSFORM_REASON)


def compiled_reverse(x: torch.Tensor, lambda_: torch.Tensor, mutable: bool) -> torch.Tensor:
    """:func:`grl.backends.torch.functions.reverse` in traced code."""
    if transform_drops_custom_rules():
        return eager_reverse_from_compiled(x, lambda_, mutable)
    if mutable:
        # As in eager code: a holder of λ's memory that GradientReversal sees while the
        # backward is pending (AOTAutograd saves λ itself instead, which it sees too;
        # backend="eager" keeps this alias and would otherwise read λ at backward time).
        lambda_ = lambda_.detach()
    return Reversal.apply(x, lambda_)
