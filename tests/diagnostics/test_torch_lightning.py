"""Lightning: the Monitor's dict goes through self.log_dict; total_steps from the trainer."""

from __future__ import annotations

import math

import pytest

from tests.backends import require

grl_torch = require("torch")
lightning = pytest.importorskip("lightning", reason="pip install lightning")

import torch  # noqa: E402
from torch.utils.data import DataLoader, IterableDataset  # noqa: E402

from grl.backends.torch.diagnostics import Monitor, total_steps_from_trainer  # noqa: E402
from grl.core import diagnostics as core  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.torch_setups import DANN, batch, losses  # noqa: E402

BATCHES, EPOCHS = 3, 2


class Module(lightning.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = DANN(schedules.dann(total_steps=BATCHES * EPOCHS))
        self.monitor = Monitor(self.net.grl)
        self.total_steps: int | None = None

    def on_fit_start(self) -> None:
        self.total_steps = total_steps_from_trainer(self.trainer)

    def training_step(self, data, index):
        out = losses(self.net, data)
        self.monitor.domain(out["domain_logits"], data["domains"])
        return out["label"] + out["domain"]

    def on_train_batch_end(self, outputs, data, index) -> None:
        grl_torch.step_all(self)
        self.log_dict(self.monitor.collect())

    def on_fit_end(self) -> None:
        self.monitor.end_run()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_log_dict_takes_the_monitor_dict_and_the_run_length_is_known(tmp_path):
    module = Module()
    trainer = lightning.Trainer(
        max_epochs=EPOCHS,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    data = [batch(seed=k) for k in range(BATCHES)]
    trainer.fit(module, DataLoader(data, batch_size=None))
    assert module.total_steps == BATCHES * EPOCHS
    logged = trainer.callback_metrics
    assert set(core.metric_names()) <= set(logged)
    assert float(logged["grl/step"]) == BATCHES * EPOCHS - 1  # the last step trained with
    assert not math.isnan(float(logged["grl/grad_ratio"]))


class Endless(IterableDataset):
    def __iter__(self):
        while True:
            yield batch()


def test_unknown_run_length_is_a_clear_error(tmp_path):
    trainer = lightning.Trainer(max_epochs=-1, logger=False, default_root_dir=tmp_path)

    class Probe(lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = DANN(0.5)

        def on_fit_start(self) -> None:
            total_steps_from_trainer(self.trainer)

        def training_step(self, data, index):
            out = losses(self.net, data)
            return out["label"] + out["domain"]

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with pytest.raises(
        ValueError,
        match=r'total_steps="auto" needs the run length, but '
        r"trainer.estimated_stepping_batches is inf",
    ):
        trainer.fit(Probe(), DataLoader(Endless(), batch_size=None))
