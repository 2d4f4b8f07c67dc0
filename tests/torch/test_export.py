"""torch.export, ONNX (via onnxruntime) and TorchScript status."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import assert_same_bits, reference_grad  # noqa: E402


def domain_branch() -> nn.Module:
    torch.manual_seed(0)
    grl = grl_torch.GradientReversal(schedules.dann(total_steps=10))
    grl.step()
    return nn.Sequential(nn.Linear(3, 4), grl, nn.Linear(4, 2))


def call_targets(graph: torch.fx.Graph) -> list[str]:
    return [str(node.target) for node in graph.nodes if node.op == "call_function"]


# --- torch.export ---------------------------------------------------------------------------


def test_torch_export_captures_the_grl_as_a_zero_copy_view():
    model, x = domain_branch(), torch.randn(5, 3)
    exported = torch.export.export(model, (x,))
    assert call_targets(exported.graph) == [
        "aten.linear.default",
        "aten.view_as.default",
        "aten.linear.default",
    ]
    assert_same_bits(exported.module()(x), model(x))
    assert {"1.lambda_", "1.step_count"} <= set(exported.state_dict)


def test_exported_program_is_an_inference_graph_whose_backward_is_not_reversed():
    # Documented limitation: export traces the forward, where the GRL is the identity.
    # Train the nn.Module; export for inference.
    grl = grl_torch.GradientReversal(0.5)
    x = torch.randn(4)
    exported = torch.export.export(grl, (x,)).module()
    x_grad = x.clone().requires_grad_(True)
    exported(x_grad).sum().backward()
    assert_same_bits(x_grad.grad, torch.ones(4))


# --- ONNX -----------------------------------------------------------------------------------


def export_onnx(model: nn.Module, x: torch.Tensor, path) -> object:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")  # torch.onnx.export(dynamo=True) translates with it
    torch.onnx.export(model, (x,), str(path), dynamo=True, verbose=False)
    return onnx.load(str(path))


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_onnx_export_of_the_grl_alone_is_one_identity_node(tmp_path):
    path = tmp_path / "grl.onnx"
    graph = export_onnx(grl_torch.GradientReversal(0.5), torch.randn(2, 3), path).graph
    assert [node.op_type for node in graph.node] == ["Identity"]
    assert not graph.initializer  # λ is not needed for inference
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert_same_bits(run_onnx(path, x), x)


def test_onnx_export_of_a_model_drops_the_grl_and_matches_torch(tmp_path):
    model, x = domain_branch(), torch.randn(5, 3)
    path = tmp_path / "branch.onnx"
    graph = export_onnx(model, x, path).graph
    assert [node.op_type for node in graph.node] == ["Gemm", "Gemm"]
    expected = model(x).detach().numpy()
    np.testing.assert_allclose(run_onnx(path, x.numpy()), expected, rtol=1e-6, atol=1e-6)


# --- TorchScript ----------------------------------------------------------------------------


def test_jit_trace_keeps_the_reversal_and_follows_lambda_changes():
    grl = grl_torch.GradientReversal(0.5)
    x, w = torch.randn(6), torch.randn(6)
    traced = torch.jit.trace(grl, (x,))
    for value in (0.5, 0.2):
        grl.set_lambda(value)
        x_grad = x.clone().requires_grad_(True)
        (traced(x_grad) * w).sum().backward()
        assert_same_bits(x_grad.grad, reference_grad(w, grl.lambda_))


def test_jit_traced_grl_cannot_be_saved():
    traced = torch.jit.trace(grl_torch.GradientReversal(0.5), (torch.randn(3),))
    with pytest.raises(RuntimeError, match="Could not export Python function call"):
        torch.jit.save(traced, io.BytesIO())


def test_jit_script_is_a_clear_error_that_names_the_alternatives():
    model = nn.Sequential(nn.Linear(2, 2), grl_torch.GradientReversal(0.5))
    with pytest.raises(RuntimeError, match=r"cannot be compiled by torch\.jit\.script") as error:
        torch.jit.script(model)
    assert "torch.export.export" in str(error.value)
