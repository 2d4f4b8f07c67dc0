"""Small DANN setups in Flax NNX, each wired right or wrong on purpose."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from grl.backends.jax.nnx import GradientReversal


class DANN(nnx.Module):
    def __init__(self, lambda_: object = 0.5, wiring: str = "correct", norm: bool = False):
        rngs = nnx.Rngs(0)
        self.features = nnx.Linear(4, 8, rngs=rngs)
        self.norm = nnx.BatchNorm(8, rngs=rngs) if norm else None
        self.dropout = nnx.Dropout(0.5, rngs=rngs) if norm else None
        self.label_head = nnx.Linear(8, 2, rngs=rngs)
        self.domain_head = nnx.Linear(8, 1, rngs=rngs)
        self.grl = GradientReversal(lambda_)
        self.second = GradientReversal(lambda_) if wiring == "double_grl" else None
        self.wiring = wiring

    def __call__(self, x):
        features = jnp.tanh(self.features(x))
        if self.norm is not None:
            features = self.dropout(self.norm(features))
        grl_input = jax.lax.stop_gradient(features) if self.wiring == "detached" else features
        reversed_ = self.grl(grl_input)
        if self.second is not None:
            reversed_ = self.second(reversed_)
        domain_input = reversed_ + features if self.wiring == "bypass" else reversed_
        label_input = reversed_ if self.wiring == "label_path" else features
        return self.label_head(label_input), self.domain_head(domain_input)[:, 0]


def batch(seed: int = 0, n: int = 16) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    x[n // 2 :] += 1.5
    domains = np.concatenate([np.zeros(n // 2), np.ones(n - n // 2)]).astype("float32")
    return {"x": x, "labels": (x[:, 0] > 0).astype("int32"), "domains": domains}


def bce(logits, labels):
    return jnp.mean(jnp.logaddexp(0.0, logits) - labels * logits)


def cross_entropy(logits, labels):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


def losses(model: DANN, data: dict, domain_weight: float = 1.0) -> dict:
    half = data["x"].shape[0] // 2
    label_logits, domain_logits = model(data["x"])
    return {
        "label": cross_entropy(label_logits[:half], data["labels"][:half]),
        "domain": domain_weight * bce(domain_logits, data["domains"]),
        "domain_logits": domain_logits,
        "domain_labels": data["domains"],
    }
