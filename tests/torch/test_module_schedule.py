"""GradientReversal with a fixed λ or a schedule: buffers, stepping, checkpoints, validation."""

from __future__ import annotations

import copy
import io
import math
import warnings

import numpy as np
import pytest

from tests.backends import require

grl_torch = require("torch")

import ml_dtypes  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import (  # noqa: E402
    DANNNet,
    assert_same_bits,
    dann_loss,
    float32_value,
    make_batches,
)

GradientReversal = grl_torch.GradientReversal
DANN = schedules.dann(total_steps=20, gamma=10.0)


def lambda_bits(layer: GradientReversal) -> np.ndarray:
    return layer.lambda_.detach().numpy().copy()


# --- buffers and stepping -------------------------------------------------------------------


def test_a_fixed_lambda_counts_steps_too():
    layer = GradientReversal(0.25)
    assert layer.schedule is None
    assert list(layer.state_dict()) == ["lambda_", "step_count"]
    assert layer.lambda_.shape == () and layer.lambda_.dtype == torch.float32
    assert layer.step() is None and layer.advance(2) is None
    assert layer.lambda_.item() == 0.25 and int(layer.step_count) == 3


def test_an_old_fixed_lambda_checkpoint_without_a_step_count_still_loads():
    layer = GradientReversal(1.0)
    layer.load_state_dict({"lambda_": torch.tensor(0.25)})
    assert layer.lambda_.item() == 0.25 and int(layer.step_count) == 0


def test_schedule_adds_a_step_buffer_next_to_lambda():
    layer = GradientReversal(DANN)
    state = layer.state_dict()
    assert list(state) == ["lambda_", "step_count"]
    assert state["step_count"].dtype == torch.int64 and state["step_count"].shape == ()
    assert int(state["step_count"]) == 0
    assert_same_bits(state["lambda_"], float32_value(DANN(0)))


def test_step_advances_lambda_along_the_schedule_bit_for_bit():
    layer = GradientReversal(DANN)
    for k in range(1, 25):  # past total_steps: λ stays at the end of the curve
        assert layer.step() is None
        assert int(layer.step_count) == k
        assert_same_bits(layer.lambda_, float32_value(DANN(k)))
    assert layer.lambda_.item() == np.float32(math.tanh(5.0))


def test_forward_calls_never_advance_the_schedule():
    layer = GradientReversal(DANN)
    layer.step()
    before = lambda_bits(layer)
    x = torch.randn(3, requires_grad=True)
    for _ in range(3):  # DANN calls the GRL for the source and the target batch
        layer(x).sum().backward()
    assert int(layer.step_count) == 1
    assert_same_bits(layer.lambda_, before)


def test_float64_buffer_holds_the_exact_schedule_value():
    layer = GradientReversal(DANN, dtype=torch.float64)
    for k in range(1, 4):
        layer.step()
        assert layer.lambda_.item() == DANN(k)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sixteen_bit_buffer_rounds_through_float32_like_the_spec(dtype):
    name = str(dtype).removeprefix("torch.")
    numpy_dtype = np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)
    layer = GradientReversal(schedules.linear(total_steps=7, lo=0.1, hi=0.9), dtype=dtype)
    for k in range(1, 8):
        layer.step()
        expected = np.float32(layer.schedule(k)).astype(numpy_dtype)
        assert_same_bits(layer.lambda_.view(torch.int16).numpy(), expected.view(np.int16))


def test_step_reads_a_step_count_written_without_a_version_bump():
    """``dist.broadcast`` writes buffers without bumping their version counter: a host-side
    step cache keyed on the version went stale and ranks silently disagreed on λ."""
    layer = GradientReversal(DANN)
    layer.step()
    layer.step_count.data.fill_(10)  # .data: same memory, its own version counter
    layer.step()
    assert int(layer.step_count) == 11
    assert_same_bits(layer.lambda_, float32_value(DANN(11)))


def test_deepcopy_and_pickle_keep_the_schedule_position():
    layer = GradientReversal(DANN)
    for _ in range(3):
        layer.step()
    twin = copy.deepcopy(layer)
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for other in (twin, loaded):
        other.step()
        assert int(other.step_count) == 4
        assert_same_bits(other.lambda_, float32_value(DANN(4)))
    assert int(layer.step_count) == 3


# --- checkpoints ----------------------------------------------------------------------------


def save_and_load(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def train(model, optimizer, batches, record):
    for source, labels, target in batches:
        optimizer.zero_grad()
        dann_loss(model, source, labels, target).backward()
        optimizer.step()
        grl_torch.step_all(model)
        record.append(model.grl.lambda_.detach().clone())


def test_resumed_training_continues_at_lambda_k_bit_for_bit():
    batches = make_batches(12)
    torch.manual_seed(0)
    model = DANNNet(DANN)
    initial = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    straight: list[torch.Tensor] = []
    train(model, optimizer, batches, straight)

    first = DANNNet(DANN)
    first.load_state_dict(initial)
    first_optimizer = torch.optim.SGD(first.parameters(), lr=0.05, momentum=0.9)
    resumed: list[torch.Tensor] = []
    train(first, first_optimizer, batches[:5], resumed)
    checkpoint = save_and_load(
        {"model": first.state_dict(), "optimizer": first_optimizer.state_dict()}
    )
    assert int(checkpoint["model"]["grl.step_count"]) == 5

    second = DANNNet(DANN)  # fresh module at step 0; the checkpoint moves it to step 5
    second_optimizer = torch.optim.SGD(second.parameters(), lr=0.05, momentum=0.9)
    second.load_state_dict(checkpoint["model"])
    second_optimizer.load_state_dict(checkpoint["optimizer"])
    assert_same_bits(second.grl.lambda_, float32_value(DANN(5)))
    train(second, second_optimizer, batches[5:], resumed)

    assert_same_bits(torch.stack(resumed), torch.stack(straight))
    for name, value in model.state_dict().items():
        assert_same_bits(second.state_dict()[name], value)


def test_loading_into_a_module_that_already_stepped_moves_it_back():
    saved = GradientReversal(DANN)
    saved.step()
    layer = GradientReversal(DANN)
    for _ in range(5):
        layer.step()
    layer.load_state_dict(saved.state_dict())
    assert_same_bits(layer.lambda_, float32_value(DANN(1)))
    layer.step()
    assert int(layer.step_count) == 2
    assert_same_bits(layer.lambda_, float32_value(DANN(2)))


def test_loading_a_checkpoint_of_other_schedule_settings_warns_and_follows_the_schedule():
    saved = GradientReversal(DANN)
    for _ in range(3):
        saved.step()
    longer = schedules.dann(total_steps=40)
    layer = GradientReversal(longer)
    with pytest.warns(UserWarning, match=r"lambda_=.*differs from this module's schedule"):
        layer.load_state_dict(saved.state_dict())
    assert int(layer.step_count) == 3
    assert_same_bits(layer.lambda_, float32_value(longer(3)))


def test_loading_a_matching_checkpoint_does_not_warn():
    saved = GradientReversal(DANN)
    saved.step()
    layer = GradientReversal(DANN, dtype=torch.float64)  # another buffer dtype is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer.load_state_dict(saved.state_dict())
    assert layer.lambda_.item() == DANN(1)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"lambda_": torch.tensor(-1.0), "step_count": torch.tensor(3)}, r"lambda_.*>= 0"),
        ({"lambda_": torch.tensor(math.nan), "step_count": torch.tensor(3)}, "finite"),
        ({"lambda_": torch.tensor([0.5]), "step_count": torch.tensor(3)}, "0-d"),
        ({"lambda_": torch.tensor(0.5), "step_count": torch.tensor(-2)}, r"step.*>= 0"),
        ({"lambda_": torch.tensor(0.5), "step_count": torch.tensor(2.0)}, "integer"),
    ],
)
def test_invalid_checkpoint_state_is_refused_before_anything_is_loaded(state, message):
    layer = GradientReversal(DANN)
    layer.step()
    with pytest.raises(ValueError, match=message):
        layer.load_state_dict(state)
    assert int(layer.step_count) == 1
    assert_same_bits(layer.lambda_, float32_value(DANN(1)))


def test_checkpoints_of_fixed_and_scheduled_modules_do_not_mix_silently():
    fixed = GradientReversal(0.5)
    fixed.advance(3)
    with pytest.warns(UserWarning, match=r"lambda_=0.5 in the state_dict differs"):
        GradientReversal(DANN).load_state_dict(fixed.state_dict())
    scheduled = GradientReversal(DANN)
    scheduled.advance(3)
    restored = GradientReversal(0.5)
    restored.load_state_dict(scheduled.state_dict())  # a fixed λ takes the saved value
    assert torch.equal(restored.lambda_, scheduled.lambda_) and int(restored.step_count) == 3


def test_fixed_lambda_set_by_hand_survives_a_checkpoint():
    layer = GradientReversal(1.0)
    layer.set_lambda(0.3)
    restored = GradientReversal(1.0)
    restored.load_state_dict(save_and_load(layer.state_dict()))
    assert_same_bits(restored.lambda_, np.float32(0.3))


# --- settings, repr and validation ----------------------------------------------------------


def test_extra_repr_shows_lambda_schedule_settings_and_step():
    layer = GradientReversal(schedules.dann(total_steps=100, gamma=5.0, hi=2.0))
    layer.step()
    text = repr(layer)
    assert "schedule=dann(total_steps=100, gamma=5.0, lo=0.0, hi=2.0, normalize=False)" in text
    assert f"lambda_={np.float32(layer.schedule(1)):.6g}, step=1" in text
    assert repr(GradientReversal(0.5)) == "GradientReversal(lambda_=0.5, step=0)"
    assert "dtype=torch.float64" in repr(GradientReversal(0.5, dtype=torch.float64))
    assert "lambda_=?" in repr(GradientReversal(DANN).to("meta"))


def test_a_config_dict_is_converted_to_its_schedule():
    layer = GradientReversal({"name": "dann", "total_steps": 20})
    assert layer.schedule == DANN


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"name": "dann", "total_steps": 0}, "total_steps must be > 0"),
        ({"name": "dann", "total_steps": 10, "gamma": math.inf}, "gamma must be finite"),
        ({"name": "dann", "total_steps": 10, "gamma": math.nan}, "gamma must be finite"),
        ({"name": "dann", "total_steps": 10, "lo": 2.0, "hi": 1.0}, "lo must be <= hi"),
        ({"name": "linear", "total_steps": 10, "lo": -1.0}, "lo must be >= 0"),
        ({"name": "cosine", "total_steps": 10}, "unknown schedule name"),
    ],
)
def test_schedule_settings_are_validated_at_construction(config, message):
    with pytest.raises(ValueError, match=message):
        GradientReversal(config)


def test_a_tampered_schedule_object_is_validated_again():
    schedule = schedules.dann(total_steps=10)
    object.__setattr__(schedule, "gamma", math.nan)  # bypasses the frozen dataclass
    with pytest.raises(ValueError, match="gamma must be finite"):
        GradientReversal(schedule)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (lambda step: 0.5, TypeError, "schedule from grl.core.schedules"),
        (schedules.dann, TypeError, "factory dann itself; call it"),
        (schedules.DANN, TypeError, "factory DANN itself; call it"),
        (torch.optim.lr_scheduler.StepLR, TypeError, "schedule from grl.core.schedules"),
        ("0.5", TypeError, "lambda_ must be"),
        (None, TypeError, "lambda_ must be"),
        (True, TypeError, "bool"),
        (-0.5, ValueError, "lambda_ must be >= 0"),
        (math.inf, ValueError, "lambda_ must be finite"),
        (torch.tensor(0.5, requires_grad=True), ValueError, "lambda_ must not require grad"),
        (torch.tensor([0.5]), ValueError, "0-d"),
        (torch.tensor(1), TypeError, "not a real floating dtype"),
    ],
)
def test_bad_lambda_at_construction_gets_a_clear_error(value, error, message):
    with pytest.raises(error, match=message):
        GradientReversal(value)


def test_a_zero_dim_tensor_lambda_is_copied_into_the_buffer():
    value = torch.tensor(0.75, dtype=torch.float64)
    layer = GradientReversal(value)
    assert layer.lambda_.dtype == torch.float32 and layer.lambda_.item() == 0.75
    value.fill_(2.0)
    assert layer.lambda_.item() == 0.75


def test_bad_dtype_is_refused():
    with pytest.raises(TypeError, match="dtype must be a floating"):
        GradientReversal(0.5, dtype=torch.int32)
    with pytest.raises(TypeError, match="dtype must be a floating"):
        GradientReversal(0.5, dtype="float32")


def test_step_and_set_lambda_refuse_the_wrong_mode():
    with pytest.raises(RuntimeError, match=r"follows the schedule dann\(.*advance\(\)"):
        GradientReversal(DANN).set_lambda(0.3)
    fixed = GradientReversal(0.5)
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        fixed.set_lambda(-1.0)
    assert fixed.lambda_.item() == 0.5


# --- step_all -------------------------------------------------------------------------------


def test_step_all_steps_each_layer_once():
    shared = GradientReversal(DANN)
    other = GradientReversal(schedules.linear(total_steps=4))
    fixed = GradientReversal(0.5)
    model = nn.ModuleDict({"a": shared, "b": nn.Sequential(shared, other), "c": fixed})
    assert grl_torch.step_all(model) == 3
    assert grl_torch.step_all(model) == 3
    assert int(shared.step_count) == int(other.step_count) == int(fixed.step_count) == 2
    assert other.lambda_.item() == 0.5 and fixed.lambda_.item() == 0.5


def test_step_all_counts_the_steps_of_fixed_layers():
    model = nn.Sequential(GradientReversal(0.5))
    assert grl_torch.step_all(model) == 1
    assert int(model[0].step_count) == 1 and model[0].lambda_.item() == 0.5


def test_step_all_refuses_models_without_a_gradient_reversal():
    with pytest.raises(ValueError, match=r"contains no grl\.torch\.GradientReversal"):
        grl_torch.step_all(nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        grl_torch.step_all(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))


# --- devices --------------------------------------------------------------------------------


def test_buffers_follow_to_device_and_dtype():
    layer = GradientReversal(DANN)
    moved = copy.deepcopy(layer).to("meta")
    assert moved.lambda_.device.type == "meta" and moved.step_count.device.type == "meta"
    doubled = copy.deepcopy(layer).double()
    assert doubled.lambda_.dtype == torch.float64 and doubled.step_count.dtype == torch.int64


def test_input_on_another_device_than_the_buffer_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"x is on meta but .*lambda_ buffer is on cpu"):
        GradientReversal(0.5)(torch.empty(3, device="meta"))


def test_advance_is_the_shared_name_for_stepping():
    from grl.core import schedules

    one, many = (grl_torch.GradientReversal(schedules.dann(10)) for _ in range(2))
    for _ in range(3):
        one.step()
    assert many.advance(3) is None
    assert int(many.step_count) == int(one.step_count) == 3
    assert torch.equal(many.lambda_, one.lambda_)
    with pytest.raises(ValueError, match=r"steps must be an int >= 0 .*; got -1"):
        many.advance(-1)
    with pytest.raises(TypeError, match=r"steps must be an int >= 0; got 1.5 of type float"):
        many.advance(1.5)
