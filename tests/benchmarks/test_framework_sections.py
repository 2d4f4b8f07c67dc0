"""Each framework's timed sections run and return one record per case (values untested).

Tiny sizes and a single repeat: these keep the harness working, they measure nothing.
"""

from __future__ import annotations

import dataclasses

from benchmarks import records
from benchmarks.settings import QUICK
from tests.backends import require

TINY = dataclasses.replace(QUICK, sizes=(256,), dtypes=("float32",), repeats=1)


def _check_micro(results: list[records.Record], framework: str, methods: set[str]) -> None:
    micro = records.find(results, section="micro", framework=framework)
    for mode in TINY.modes:
        cases = {(r["method"], r["kind"]) for r in micro if r["mode"] == mode}
        expected = {(m, k) for m in methods for k in records.KINDS}
        assert cases == expected | {(records.FLOOR, records.BACKWARD)}
    assert all(r["seconds"] > 0 for r in micro)
    origins = {r["method"] for r in records.find(results, section="methods")}
    assert methods | {records.FLOOR} <= origins


def test_torch_micro_covers_every_method_kind_and_mode() -> None:
    require("torch")
    from benchmarks import torch_micro

    results = torch_micro.run(TINY, backend="aot_eager")
    _check_micro(results, "torch", set(torch_micro.layers()))


def torch_equal(a: object, b: object) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_torch_dann_step_trains_and_steps_the_schedule() -> None:
    require("torch")
    from benchmarks import dann_spec, torch_dann

    step = torch_dann.TrainingStep(dann_spec.DIGITS, records.GRL, "eager", "aot_eager")
    before = step.model.domain_head[0].weight.detach().clone()
    step()
    step()
    assert int(step.model.reversal.step_count) == 2
    assert not torch_equal(before, step.model.domain_head[0].weight)


def test_tf_micro_covers_every_method_kind_and_mode() -> None:
    require("tf")
    from benchmarks import tf_micro

    _check_micro(tf_micro.run(TINY), "tf", set(tf_micro.layers()))


def test_tf_dann_variants_run_one_step_each() -> None:
    require("tf")
    from benchmarks import dann_spec, tf_dann

    for step in tf_dann.steps_for(dann_spec.DIGITS, "eager").values():
        step()


def test_jax_micro_covers_every_method_kind_and_mode() -> None:
    require("jax")
    from benchmarks import jax_micro

    _check_micro(jax_micro.run(TINY), "jax", set(jax_micro.layers()))


def test_jax_jitted_dann_step_advances_the_step_count() -> None:
    require("jax")
    from benchmarks import dann_spec, jax_dann

    step = jax_dann.TrainingStep(dann_spec.MLP, records.GRL, "compiled")
    step()
    step()
    assert int(step.state[3]) == 2
