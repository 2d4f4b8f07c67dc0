"""PyTorch Lightning: a LightningModule with a scheduled GRL trains and resumes its schedule.

λ's schedule position is a buffer, so it travels in Lightning's checkpoint ``state_dict``
with no callback state of its own; ``step_all`` runs in ``on_train_batch_end``.
"""

from __future__ import annotations

import pytest

from tests.backends import require

grl_torch = require("torch")
lightning = pytest.importorskip("lightning", reason="pip install lightning")

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import (  # noqa: E402
    DANNNet,
    assert_same_bits,
    dann_loss,
    float32_value,
    make_batches,
)

BATCHES_PER_EPOCH, EPOCHS = 3, 2
STEPS = BATCHES_PER_EPOCH * EPOCHS
SCHEDULE = schedules.dann(total_steps=STEPS)


class DANNModule(lightning.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = DANNNet(SCHEDULE)
        self.lambdas: list[torch.Tensor] = []
        self.states: dict[int, dict[str, torch.Tensor]] = {}

    def on_train_batch_start(self, batch, batch_index) -> None:
        self.states[self.global_step] = {k: v.clone() for k, v in self.state_dict().items()}

    def training_step(self, batch, batch_index):
        source, labels, target = batch
        return dann_loss(self.net, source, labels, target)

    def on_train_batch_end(self, outputs, batch, batch_index) -> None:
        grl_torch.step_all(self)  # after the optimizer step, once per training step
        self.lambdas.append(self.net.grl.lambda_.detach().clone())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


def fit(module: DANNModule, root, ckpt_path=None) -> None:
    every_epoch = lightning.pytorch.callbacks.ModelCheckpoint(
        dirpath=root, save_top_k=-1, every_n_epochs=1, save_on_train_epoch_end=True
    )
    trainer = lightning.Trainer(
        max_steps=STEPS,
        accelerator="cpu",
        devices=1,
        logger=False,
        callbacks=[every_epoch],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
    )
    loader = DataLoader(make_batches(BATCHES_PER_EPOCH), batch_size=None)  # ready batches
    trainer.fit(module, train_dataloaders=loader, ckpt_path=ckpt_path)


def test_lightning_trains_the_schedule_and_resumes_it_from_a_checkpoint(tmp_path):
    straight = DANNModule()
    fit(straight, tmp_path / "straight")
    expected = [float32_value(SCHEDULE(k)) for k in range(1, STEPS + 1)]
    assert_same_bits(torch.stack(straight.lambdas), expected)
    assert int(straight.net.grl.step_count) == STEPS

    checkpoint = tmp_path / "straight" / f"epoch=0-step={BATCHES_PER_EPOCH}.ckpt"
    saved = torch.load(checkpoint, weights_only=False)["state_dict"]
    assert int(saved["net.grl.step_count"]) == BATCHES_PER_EPOCH

    resumed = DANNModule()  # starts at step 0; the checkpoint moves it to step 3
    fit(resumed, tmp_path / "resumed", ckpt_path=checkpoint)
    assert_same_bits(torch.stack(resumed.lambdas), expected[BATCHES_PER_EPOCH:])
    assert int(resumed.net.grl.step_count) == STEPS
    # The whole model state (λ, step count, weights) at the first resumed step equals the
    # straight run's at that step. Later weights are not compared: on resume Lightning
    # replays a non-stateful DataLoader from its start, so the batches differ.
    first_resumed = resumed.states[BATCHES_PER_EPOCH]
    for name, value in straight.states[BATCHES_PER_EPOCH].items():
        assert_same_bits(first_resumed[name], value)
