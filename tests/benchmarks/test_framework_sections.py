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

    results = torch_micro.run(TINY)
    _check_micro(results, "torch", set(torch_micro.layers()))


def torch_equal(a: object, b: object) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_torch_dann_step_trains_the_demo_model_and_steps_the_schedule() -> None:
    require("torch")
    import torch

    from benchmarks import dann, torch_dann
    from grl.demo.models_torch import DANNModel

    step = torch_dann.steps_for(dann.DIGITS, "eager", "aot_eager")[records.GRL]
    assert isinstance(step.model, DANNModel)
    first_conv = dann.DIGITS.params()["c1.w"].transpose(3, 2, 0, 1)
    assert torch.equal(step.model.features[0].weight, torch.from_numpy(first_conv.copy()))
    before = step.model.domain_head[0].weight.detach().clone()
    step()
    step()
    assert int(step.model.grl.step_count) == 2
    assert not torch_equal(before, step.model.domain_head[0].weight)


def test_tf_micro_covers_every_method_kind_and_mode() -> None:
    require("tf")
    from benchmarks import tf_micro

    _check_micro(tf_micro.run(TINY), "tf", set(tf_micro.layers()))


def test_tf_dann_variants_each_train_the_shared_demo_weights() -> None:
    require("tf")
    import numpy as np

    from benchmarks import dann, tf_dann

    shared = tf_dann.Shared(dann.DIGITS)
    np.testing.assert_array_equal(shared.weights["c1.w"].numpy(), dann.DIGITS.params()["c1.w"])
    for variant in tf_dann.VARIANTS:
        before = shared.weights["d1.w"].numpy()
        tf_dann.make_step(dann.DIGITS, variant, "eager", shared)()
        assert not np.array_equal(before, shared.weights["d1.w"].numpy()), variant


def test_jax_micro_covers_every_method_kind_and_mode() -> None:
    require("jax")
    from benchmarks import jax_micro

    _check_micro(jax_micro.run(TINY), "jax", set(jax_micro.layers()))


def test_jax_jitted_dann_step_advances_the_step_count() -> None:
    require("jax")
    from benchmarks import dann, jax_dann

    step = jax_dann.TrainingStep(dann.MLP, records.GRL, "compiled")
    step()
    step()
    assert int(step.state[3]) == 2


def test_jax_dann_memory_plans_only_the_compiled_step() -> None:
    require("jax")
    from benchmarks import dann, jax_dann, jax_memory

    steps = jax_dann.steps_for(dann.MLP, "compiled")
    planned = jax_memory.step_plan_records(steps, "mlp", "compiled")
    assert [r["method"] for r in planned] == list(jax_dann.VARIANTS)
    assert all(r["bytes"] > 0 for r in planned)
    assert jax_memory.step_plan_records(steps, "mlp", "eager") == []


def test_import_cost_compares_the_framework_with_its_entry_point() -> None:
    require("jax")
    from benchmarks import imports

    found = imports.run("jax", dataclasses.replace(TINY, import_repeats=2))
    by_method = {r["method"]: r for r in found}
    assert set(by_method) == {"import jax", "import grl.jax"}
    grl = by_method["import grl.jax"]
    assert grl["samples"] == 2 and grl["seconds"] > 0 and grl["ratio"] > 0
    assert "ratio" not in by_method["import jax"]
