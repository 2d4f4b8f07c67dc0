"""grl.core.layer: the rules every layer binds, checked on a framework-free layer."""

from __future__ import annotations

import numpy as np
import pytest

from grl.core import schedules
from grl.core.layer import LayerContract, check_steps, parse_lambda, saved_state_problem


class HostLayer(LayerContract):
    """The contract with host numbers as storage: what each framework's layer adds."""

    def __init__(self, lambda_):
        self.lambda_ = self._parse_lambda(lambda_)
        self.step = 0

    def _store_lambda(self, value):
        self.lambda_ = value

    def _advance(self, steps):
        self.step += steps
        if self.schedule is not None:
            self.lambda_ = self.schedule(self.step)


def test_a_fixed_lambda_counts_steps_and_can_be_set():
    layer = HostLayer(0.5)
    layer.advance(3)
    layer.set_lambda(np.float32(0.25))
    assert (layer.lambda_, layer.step, layer.schedule) == (0.25, 3, None)


def test_a_scheduled_lambda_follows_the_step():
    layer = HostLayer(schedules.dann(50))
    layer.advance()
    layer.advance(0)
    layer.advance(15)
    assert (layer.lambda_, layer.step) == (schedules.dann(50)(16), 16)
    with pytest.raises(RuntimeError, match=r"follows the schedule dann\(total_steps=50,"):
        layer.set_lambda(0.1)


def test_a_config_dict_is_a_schedule_validated_again():
    initial, schedule = parse_lambda({"name": "linear", "total_steps": 4, "lo": 0.5})
    assert (initial, schedule) == (0.5, schedules.linear(4, 0.5))
    with pytest.raises(ValueError, match="lambda_: invalid schedule config"):
        parse_lambda({"name": "linear", "total_steps": 0})


def test_a_tensor_is_read_by_the_framework_hook():
    class Tensor:
        pass

    def read(value):
        return 0.125 if isinstance(value, Tensor) else None

    assert parse_lambda(Tensor(), read) == (0.125, None)
    with pytest.raises(TypeError, match="a value, <"):
        parse_lambda(Tensor())


def test_a_wrapped_core_schedule_is_accepted():
    class Wrapper:
        grl_schedule = schedules.linear(10)

        def __call__(self, step):
            return 0.0

    assert parse_lambda(Wrapper()) == (0.0, schedules.linear(10))


@pytest.mark.parametrize(
    ("steps", "error"),
    [(1.5, TypeError), (True, TypeError), (np.bool_(True), TypeError), (-1, ValueError)],
)
def test_bad_steps(steps, error):
    with pytest.raises(error, match="steps must be an int >= 0"):
        check_steps(steps)


def test_steps_may_be_numpy_integers():
    assert check_steps(np.int32(4)) == 4 and check_steps(0) == 0


@pytest.mark.parametrize(
    ("lambda_value", "step", "words"),
    [
        (-1.0, 0, "must be >= 0"),
        (np.inf, 0, "must be finite"),
        (0.5, -1, "step: must be >= 0"),
        (0.5, 1.5, "step: must be an integer"),
        (0.5, np.array(2.0), "step: must be an integer"),
    ],
)
def test_saved_state_problems(lambda_value, step, words):
    assert words in saved_state_problem(lambda_value, step)


def test_a_valid_saved_state():
    assert saved_state_problem(np.float32(0.5), np.array(3, np.int64)) is None
    assert saved_state_problem(None, None) is None
