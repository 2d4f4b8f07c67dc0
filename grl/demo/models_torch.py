"""The demo networks and their training step in PyTorch (an ``nn.Module`` and ``torch.optim``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from grl.demo import monitoring
from grl.demo.experiments import Config, Layer, Net, Plan, conv_geometry
from grl.demo.history import LossHistory
from grl.torch import GradientReversal


class _NHWCFlatten(nn.Module):
    """Flatten in NHWC order, so that dense kernels match the TF and JAX layouts."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x


def _build(layers: tuple[Layer, ...], params: dict[str, np.ndarray]) -> nn.Sequential:
    modules: list[nn.Module] = []
    for layer in layers:
        kind = layer[0]
        if kind == "dense":
            m = nn.Linear(layer[2], layer[3])
            m.weight.data = torch.tensor(params[f"{layer[1]}.w"].T.copy())
        elif kind == "conv":
            kernel, padding = conv_geometry(layer)
            m = nn.Conv2d(layer[2], layer[3], kernel, padding=padding)
            m.weight.data = torch.tensor(params[f"{layer[1]}.w"].transpose(3, 2, 0, 1).copy())
        else:
            m = {
                "relu": nn.ReLU,
                "tanh": nn.Tanh,
                "maxpool": lambda: nn.MaxPool2d(2),
                "flatten": _NHWCFlatten,
            }[kind]()
        if kind in ("dense", "conv"):
            m.bias.data = torch.tensor(params[f"{layer[1]}.b"])
        modules.append(m)
    return nn.Sequential(*modules)


class DANNModel(nn.Module):
    """G_f, G_y and GRL → G_d; ``forward`` returns (features, class logits)."""

    def __init__(self, net: Net, params: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.features = _build(net.features, params)
        self.label_head = _build(net.label_head, params)
        self.grl = GradientReversal(0.0)
        self.domain_head = _build(net.domain_head, params)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return f, self.label_head(f)

    def domain_logits(self, f: torch.Tensor) -> torch.Tensor:
        return self.domain_head(self.grl(f)).squeeze(1)


def _images_first(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t.permute(0, 3, 1, 2).contiguous() if t.dim() == 4 else t


#: The step's two forms (``compiled``), the default first (docs/results.md has timings).
FORMS = {False: "eager", True: "torch.compile"}


class Trainer:
    """Runs one method's training plan step by step; same maths as the TF and JAX trainers."""

    def __init__(
        self,
        config: Config,
        params: dict[str, np.ndarray],
        plan: Plan,
        labelled: tuple[np.ndarray, np.ndarray],
        target: np.ndarray,
        adversarial: bool,
        compiled: bool = False,
        monitor_every: int | None = None,
    ) -> None:
        if compiled and monitor_every is not None:
            raise ValueError(
                "monitor_every needs the eager step (the monitor's hooks and the stored domain "
                f"logits); got compiled=True with monitor_every={monitor_every!r}: pass "
                "compiled=False to record, or monitor_every=None to compile"
            )
        initial = params  # the NumPy weights (``params`` is reused below)
        self.model = DANNModel(config.net, params)
        # torch.compile of the loss (forward and, through AOTAutograd, backward); the
        # optimiser step stays eager. Off by default: docs/results.md has the timings.
        self._losses = torch.compile(self._eager_losses) if compiled else self._eager_losses
        self.plan = plan
        self.adversarial = adversarial
        self.x, self.y = _images_first(labelled[0]), torch.from_numpy(labelled[1])
        self.xt = _images_first(target)
        self.l_idx = torch.from_numpy(plan.labelled_idx)
        self.t_idx = torch.from_numpy(plan.target_idx)
        n = plan.labelled_idx.shape[1]
        self.domain_y = torch.cat([torch.zeros(n), torch.ones(n)])
        params = dict(self.model.named_parameters())
        kernels = [p for name, p in params.items() if name.endswith("weight")]
        biases = [p for name, p in params.items() if not name.endswith("weight")]
        self.opt = torch.optim.SGD(
            [{"params": kernels, "weight_decay": config.weight_decay}, {"params": biases}],
            lr=config.lr,
            momentum=config.momentum,
        )
        self.losses = LossHistory(len(plan.lr), lambda rows: torch.stack(list(rows)).numpy())
        self.log: monitoring.MonitorLog | None = None
        if monitor_every is not None:
            self._start_monitor(config, initial, monitoring.check_every(monitor_every))

    def _start_monitor(self, config: Config, params: dict[str, np.ndarray], every: int) -> None:
        from grl.backends.torch.diagnostics import Monitor

        if self.adversarial:
            self.watched = self.model.grl
        else:
            # Source only: a probe domain head behind a GRL with λ = 0 (grl.demo.monitoring).
            self.probe_head = _build(config.net.domain_head, params)
            self.watched = GradientReversal(0.0)
            named = dict(self.probe_head.named_parameters())
            self.probe_opt = torch.optim.SGD(
                [
                    {
                        "params": [p for k, p in named.items() if k.endswith("weight")],
                        "weight_decay": config.weight_decay,
                    },
                    {"params": [p for k, p in named.items() if not k.endswith("weight")]},
                ],
                lr=config.lr,
                momentum=config.momentum,
            )
        monitor = Monitor(self.watched, thresholds=monitoring.thresholds(every))
        self.monitor = monitor
        self.log = monitoring.MonitorLog(every, monitor.diagnostics)
        # The monitor's hooks act on training forwards only: the GRL is in training mode at
        # the recorded steps alone (its forward and backward do not depend on the mode).
        self.watched.train(False)

    def _collect(self) -> dict[str, float]:
        return monitoring.strip_prefix(self.monitor.collect())

    def _probe(self, i: int, xl: torch.Tensor, yl: torch.Tensor, recording: bool) -> None:
        """Source only: one SGD step of the probe domain head, on detached features."""
        with torch.no_grad():
            f = self.model.features(torch.cat([xl, self.xt[self.t_idx[i]]]))
        # A leaf of its own: the monitor's hook sees the whole gradient at the features.
        f.requires_grad_(recording)
        logits = self.probe_head(self.watched(f)).squeeze(1)
        loss = F.binary_cross_entropy_with_logits(logits, self.domain_y)
        params = list(self.probe_head.parameters())
        if recording:
            # The label loss only shows the monitor the task gradient (domain_to_task); the
            # label head's parameters are not among the inputs, so nothing else moves.
            label = F.cross_entropy(self.model.label_head(f[: len(yl)]), yl)
            grads = torch.autograd.grad(loss + label, [*params, f])[:-1]
        else:
            grads = torch.autograd.grad(loss, params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        for group in self.probe_opt.param_groups:
            group["lr"] = float(self.plan.lr[i])
        self.probe_opt.step()
        self.probe_opt.zero_grad(set_to_none=True)
        if recording:
            self.monitor.domain(logits, self.domain_y)
            assert self.log is not None
            self.log.add(i, self._collect)

    def _eager_losses(
        self, xl: torch.Tensor, yl: torch.Tensor, xt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.adversarial:
            return F.cross_entropy(self.model(xl)[1], yl), torch.zeros(())
        f, _ = self.model(torch.cat([xl, xt]))
        label_loss = F.cross_entropy(self.model.label_head(f[: len(yl)]), yl)
        logits = self.model.domain_logits(f)
        if self.log is not None:
            self._domain_logits = logits  # for the monitor (grl.demo.monitoring)
        domain_loss = F.binary_cross_entropy_with_logits(logits, self.domain_y)
        return label_loss, domain_loss

    def step(self, i: int) -> None:
        """One SGD step of the plan."""
        xl, yl = self.x[self.l_idx[i]], self.y[self.l_idx[i]]
        recording = self.log is not None and i % self.log.every == 0
        if self.log is not None:
            self.watched.train(recording)
            if not self.adversarial:
                self._probe(i, xl, yl, recording)
        if self.adversarial:
            self.model.grl.set_lambda(float(self.plan.lambda_[i]))
        label_loss, domain_loss = self._losses(xl, yl, self.xt[self.t_idx[i]])
        for group in self.opt.param_groups:
            group["lr"] = float(self.plan.lr[i])
        self.opt.zero_grad(set_to_none=True)
        (label_loss + domain_loss).backward()
        self.opt.step()
        self.losses.add(torch.stack([label_loss.detach(), domain_loss.detach()]))
        if recording and self.adversarial:
            assert self.log is not None
            self.monitor.domain(self._domain_logits, self.domain_y)
            self.log.add(i, self._collect)

    def loss_history(self) -> np.ndarray:
        """(steps, 2): label loss and domain loss of each step so far."""
        return self.losses.array()

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class logits for NumPy inputs."""
        self.model.eval()
        return self.model(_images_first(x.astype(np.float32)))[1].numpy()

    @torch.no_grad()
    def features(self, x: np.ndarray) -> np.ndarray:
        """The shared features G_f(x) (the GRL's input) for NumPy inputs."""
        self.model.eval()
        return self.model(_images_first(x.astype(np.float32)))[0].numpy()
