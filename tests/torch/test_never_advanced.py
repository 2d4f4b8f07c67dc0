"""A scheduled module that is never advanced warns once (issue #15: the forgotten step_all)."""

from __future__ import annotations

import warnings

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402

from grl.core.diagnostics import GRLWarning  # noqa: E402


def train(layer: torch.nn.Module, steps: int, *, advance: bool) -> None:
    weight = torch.ones(4, requires_grad=True)
    for _ in range(steps):
        for _domain in ("source", "target"):  # DANN calls the layer twice a step
            layer(weight).sum().backward()
        if advance:
            grl_torch.step_all(layer)


def test_a_forgotten_step_all_warns_once_naming_the_fix():
    layer = grl_torch.GradientReversal(grl_torch.schedules.dann(1000))
    with pytest.warns(GRLWarning, match=r"never_advanced.*still at step 0 after 100") as caught:
        train(layer, 200, advance=False)
    assert len([w for w in caught if issubclass(w.category, GRLWarning)]) == 1
    assert "step_all" in str(caught[0].message)


@pytest.mark.parametrize("setup", ["stepped", "fixed", "eval", "no_grad", "resumed"], ids=str)
def test_correct_setups_stay_silent(setup):
    schedule = grl_torch.schedules.dann(1000)
    layer = grl_torch.GradientReversal(0.5 if setup == "fixed" else schedule)
    if setup == "eval":
        layer.eval()
    if setup == "resumed":
        stepped = grl_torch.GradientReversal(schedule)
        stepped.advance(3)
        layer.load_state_dict(stepped.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error", GRLWarning)
        if setup == "no_grad":
            with torch.no_grad():
                for _ in range(300):
                    layer(torch.ones(4))
        else:
            train(layer, 200, advance=setup == "stepped")


def test_compiled_forward_compiles_once_with_the_watch():
    torch.compiler.reset()
    graphs = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: list) -> object:
        graphs.append(graph)
        return graph.forward

    layer = grl_torch.GradientReversal(grl_torch.schedules.dann(1000))
    compiled = torch.compile(layer, backend=counting_backend, fullgraph=True)
    weight = torch.ones(4, requires_grad=True)
    for _ in range(5):
        compiled(weight).sum().backward()
        grl_torch.step_all(layer)
    assert len(graphs) == 1
