"""total_steps="auto" in PyTorch: resolved from a number or a Lightning trainer."""

from __future__ import annotations

import math
import warnings

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402

from grl.backends.torch.diagnostics import resolve_total_steps  # noqa: E402
from grl.core import schedules  # noqa: E402


class Trainer:
    """A stand-in for Lightning's Trainer: only what resolve_total_steps reads."""

    def __init__(self, estimated_stepping_batches: float) -> None:
        self.estimated_stepping_batches = estimated_stepping_batches


def model(lambda_: object) -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 3), grl_torch.GradientReversal(lambda_))


def train(net: torch.nn.Module, steps: int) -> None:
    x = torch.ones(2, 3)
    for _ in range(steps):
        net(x).sum().backward()
        grl_torch.step_all(net)


def test_an_unresolved_module_refuses_to_train_before_any_work():
    net = model(schedules.dann("auto"))
    grl = net[1]
    assert float(grl.lambda_) == 0.0
    with torch.no_grad():
        net(torch.ones(2, 3))  # inference needs no λ
    net.eval()
    net(torch.ones(2, 3))
    net.train()
    with pytest.raises(
        RuntimeError, match=r"training forward needs the run length.*resolve_total_steps"
    ):
        net(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match=r'advance\(\) needs the run length.*total_steps="auto"'):
        grl_torch.step_all(net)
    assert int(grl.step_count) == 0 and float(grl.lambda_) == 0.0


@pytest.mark.parametrize("source", ["number", "trainer", "float-trainer"])
def test_resolved_lambda_is_bit_identical_to_the_number(source):
    known = {"number": 40, "trainer": Trainer(40), "float-trainer": Trainer(40.0)}[source]
    auto, direct = model(schedules.dann("auto", gamma=7.0)), model(schedules.dann(40, gamma=7.0))
    assert resolve_total_steps(auto, known) == 40
    assert auto[1].schedule == schedules.dann(40, gamma=7.0)
    train(auto, 13)
    train(direct, 13)
    assert auto[1].lambda_.item() == direct[1].lambda_.item() != 0.0
    assert int(auto[1].step_count) == 13


@pytest.mark.parametrize(
    ("trainer", "words"),
    [
        (Trainer(math.inf), r"trainer.estimated_stepping_batches is inf.*max_steps"),
        (Trainer(0), r"estimated_stepping_batches is 0"),
    ],
)
def test_an_unknown_run_length_is_a_clear_error(trainer, words):
    net = model(schedules.dann("auto"))
    with pytest.raises(ValueError, match=words):
        resolve_total_steps(net, trainer)
    assert not net[1].schedule.resolved


def test_a_wrong_argument_names_what_is_expected():
    with pytest.raises(TypeError, match=r"an int > 0 or a Lightning Trainer"):
        resolve_total_steps(model(schedules.dann("auto")), "40")
    with pytest.raises(ValueError, match=r"total_steps must be > 0"):
        resolve_total_steps(model(schedules.dann("auto")), -1)


def test_a_checkpoint_resumes_after_resolving():
    trained = model(schedules.dann("auto"))
    resolve_total_steps(trained, 40)
    train(trained, 9)
    saved = trained.state_dict()
    # A fresh process builds the same model; it must be resolved before it takes the step.
    fresh = model(schedules.dann("auto"))
    with pytest.raises(RuntimeError, match=r"not resolved yet.*loading a checkpoint"):
        fresh.load_state_dict(saved)
    resolve_total_steps(fresh, 40)  # also fixes λ after the failed load above
    assert fresh[1].lambda_.item() == trained[1].lambda_.item()
    again = model(schedules.dann("auto"))
    resolve_total_steps(again, 40)
    again.load_state_dict(saved)
    assert (again[1].lambda_.item(), int(again[1].step_count)) == (trained[1].lambda_.item(), 9)


def test_resolving_compiles_nothing_more():
    torch.compiler.reset()
    graphs = []

    def counting_backend(graph: torch.fx.GraphModule, inputs: list) -> object:
        graphs.append(graph)
        return graph.forward

    layer = grl_torch.GradientReversal(schedules.dann("auto"))
    resolve_total_steps(layer, 30)
    compiled = torch.compile(layer, backend=counting_backend, fullgraph=True)
    weight = torch.ones(4, requires_grad=True)
    for _ in range(5):
        compiled(weight).sum().backward()
        grl_torch.step_all(layer)
    assert len(graphs) == 1
    direct = grl_torch.GradientReversal(schedules.dann(30))
    direct.advance(5)
    assert layer.lambda_.item() == direct.lambda_.item() != 0.0


def test_the_never_advanced_watch_survives_resolution():
    from grl.core.diagnostics import GRLWarning

    net = model(schedules.dann("auto"))
    resolve_total_steps(net, 1000)
    with pytest.warns(GRLWarning, match="never_advanced"):
        x = torch.ones(2, 3)
        for _ in range(100):
            net(x).sum().backward()
    stepped = model(schedules.dann("auto"))
    resolve_total_steps(stepped, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GRLWarning)
        train(stepped, 120)


def test_lightning_resolves_in_setup_before_a_checkpoint_is_restored(tmp_path):
    lightning = pytest.importorskip("lightning", reason="pip install lightning")
    from torch.utils.data import DataLoader

    class Module(lightning.LightningModule):
        def __init__(self, stop_after: int = 0) -> None:
            super().__init__()
            self.net = model(schedules.dann("auto"))
            self.stop_after = stop_after

        def on_train_epoch_end(self) -> None:
            if self.current_epoch + 1 == self.stop_after:
                self.trainer.should_stop = True  # an interrupted run

        def setup(self, stage: str) -> None:
            resolve_total_steps(self, self.trainer)

        def training_step(self, data, index):
            return self.net(data).sum()

        def on_train_batch_end(self, outputs, data, index) -> None:
            grl_torch.step_all(self)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def trainer(epochs: int, name: str) -> lightning.Trainer:
        return lightning.Trainer(
            max_epochs=epochs,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tmp_path / name,
        )

    data = DataLoader([torch.ones(2, 3)] * 3, batch_size=None)
    whole = Module()
    trainer(4, "whole").fit(whole, data)
    assert whole.net[1].schedule == schedules.dann(12)
    assert int(whole.net[1].step_count) == 12
    # Stop after 2 of 4 epochs, then resume in a fresh module that is still "auto": setup()
    # resolves it before Lightning restores the step.
    half = trainer(4, "half")
    part = Module(stop_after=2)
    half.fit(part, data)
    assert part.net[1].schedule == schedules.dann(12) and int(part.net[1].step_count) == 6
    resumed = Module()
    trainer(4, "resumed").fit(resumed, data, ckpt_path=half.checkpoint_callback.best_model_path)
    assert int(resumed.net[1].step_count) == 12
    assert resumed.net[1].lambda_.item() == whole.net[1].lambda_.item() != 0.0
