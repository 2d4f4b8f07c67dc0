"""Private PyTorch APIs: each has a public fallback, tested here by forcing it (issue #13).

The list with reasons is in docs/internals.md ("PyTorch").
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
import torch.autograd.forward_ad as forward_ad  # noqa: E402

from grl.backends.torch import internals  # noqa: E402


def run_python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_import_does_not_load_dynamo():
    """torch._dynamo (the torch.compiler decorators) cost ~1 s of `import grl.torch`."""
    out = run_python("import sys, grl.torch; print('torch._dynamo' in sys.modules)")
    assert out.strip() == "False"


def test_public_only_mode_computes_the_same_gradients_and_keeps_the_forward_lambda():
    code = """
import torch, torch.autograd.forward_ad as fwAD, grl.torch as g
from grl.backends.torch import internals
assert internals.storage_use_count is None and internals.functorch_active()
assert not internals.recomputation_supported() and internals.current_backward_node() is None
layer = g.GradientReversal(0.5)
x = torch.ones(3, requires_grad=True)
pending = layer(x).sum()
layer.set_lambda(2.0)  # always new memory in this mode
pending.backward()
assert torch.equal(x.grad, torch.full((3,), -0.5)), x.grad
assert torch.equal(torch.func.grad(lambda v: layer(v).sum())(x), torch.full((3,), -2.0))
with fwAD.dual_level():
    t = fwAD.unpack_dual(g.gradient_reversal(fwAD.make_dual(x.detach(), torch.ones(3)), 0.5))
assert torch.equal(t.tangent, torch.full((3,), -0.5))
print("ok")
"""
    assert run_python(code, GRL_TORCH_PUBLIC_ONLY="1").strip() == "ok"


def test_without_use_counts_lambda_always_gets_new_memory(monkeypatch):
    monkeypatch.setattr(internals, "storage_use_count", None)
    layer = grl_torch.GradientReversal(0.5)
    address = layer.lambda_.data_ptr()
    layer.set_lambda(1.0)
    assert layer.lambda_.data_ptr() != address and layer.lambda_.item() == 1.0


def test_has_other_holders_sees_aliases_and_shared_tensors():
    tensor = torch.zeros(())
    assert not internals.has_other_holders(tensor)
    alias = tensor.detach()
    assert internals.has_other_holders(tensor)
    del alias
    holder = torch.nn.Module()
    holder.register_buffer("b", tensor)
    assert not internals.has_other_holders(tensor)  # a Python reference: the same tensor


def test_without_the_functorch_state_the_public_apply_path_is_used(monkeypatch):
    monkeypatch.setattr(internals, "_transforms_active", None)
    x = torch.ones(3, requires_grad=True)
    grl_torch.gradient_reversal(x, 0.5).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))


def test_without_the_dual_level_forward_ad_is_asked_publicly(monkeypatch):
    monkeypatch.setattr(internals, "_has_dual_level", False)
    assert internals.dual_level_active()
    assert not internals.is_dual(torch.ones(2))
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(torch.ones(2), torch.ones(2))
        assert internals.is_dual(dual)
        tangent = forward_ad.unpack_dual(grl_torch.gradient_reversal(dual, 0.25)).tangent
    assert torch.equal(tangent, torch.full((2,), -0.25))


def test_without_the_interpreter_stack_compiled_code_runs_the_layer_eagerly(monkeypatch):
    monkeypatch.setattr(internals, "_interpreter_stack", None)
    assert internals.transform_drops_custom_rules()
    torch.compiler.reset()
    compiled = torch.compile(lambda v: grl_torch.gradient_reversal(v, 0.5).sum(), backend="eager")
    x = torch.ones(3, requires_grad=True)
    compiled(x).backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))
    torch.compiler.reset()


def test_compiler_disable_without_a_reason_argument(monkeypatch):
    """torch 2.5.1 (admitted by pyproject) has no ``reason``: `import grl.torch` failed."""
    calls = []

    def old_disable(fn=None, recursive=True):
        calls.append(fn)
        return fn

    monkeypatch.setattr(torch.compiler, "disable", old_disable)
    assert "reason" not in inspect.signature(torch.compiler.disable).parameters
    assert internals.compiler_disable(len, "why") is len and calls == [len]


def test_fast_apply_falls_back_to_function_apply(monkeypatch):
    monkeypatch.setattr(internals, "PUBLIC_ONLY", True)
    from grl.backends.torch.functions import ReversalWithJvp

    assert internals.fast_apply(ReversalWithJvp) == ReversalWithJvp.apply
