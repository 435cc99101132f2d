"""Margin schedules: values per epoch, config round trips, config errors."""

from __future__ import annotations

import json
import math

import pytest

from siamese.callbacks import schedules as S
from siamese.errors import ConfigError


def test_constant_and_numbers():
    assert [S.constant(0.7)(e) for e in range(3)] == [0.7, 0.7, 0.7]
    assert S.get(2)(10) == 2.0 and isinstance(S.get(2), S.Constant)


def test_linear_warmup_values():
    s = S.get({"name": "linear_warmup", "start": 0.5, "end": 1.0, "warmup_epochs": 3})
    assert [s(e) for e in range(6)] == pytest.approx([0.5, 0.5 + 0.5 / 3, 0.5 + 1.0 / 3, 1.0, 1.0, 1.0])
    assert S.linear_warmup(0.5, 1.0, 0)(0) == 1.0


def test_cosine_values():
    s = S.cosine(1.0, 0.2, total_epochs=5)
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert [s(e) for e in range(5)] == pytest.approx(expected)
    assert s(0) == pytest.approx(1.0) and s(2) == pytest.approx(0.6) and s(4) == pytest.approx(0.2)
    assert s(9) == pytest.approx(0.2)


def test_step_both_forms_agree():
    by_epoch = S.step({"0": 0.5, "3": 0.8, 5: 1.0})  # string keys as YAML/JSON may give them
    explicit = S.step(boundaries=[3, 5], values=[0.5, 0.8, 1.0])
    expected = [0.5, 0.5, 0.5, 0.8, 0.8, 1.0, 1.0]
    assert [by_epoch(e) for e in range(7)] == expected
    assert [explicit(e) for e in range(7)] == expected
    assert by_epoch.get_config() == explicit.get_config()


@pytest.mark.parametrize("schedule", [
    S.constant(0.3), S.linear_warmup(0.1, 0.9, 4), S.cosine(2.0, 0.5, 7), S.step({0: 1.0, 2: 1.5}),
])
def test_config_round_trip_through_json(schedule):
    config = json.loads(json.dumps(schedule.get_config()))
    clone = S.from_config(config)
    assert type(clone) is type(schedule)
    assert [clone(e) for e in range(10)] == [schedule(e) for e in range(10)]


def test_get_passes_callables_and_schedules_through():
    s = S.cosine(1.0, 0.0, 3)
    assert S.get(s) is s
    f = lambda epoch: 0.1 * epoch  # noqa: E731
    assert S.get(f) is f


@pytest.mark.parametrize("config, match", [
    ({"name": "exponential", "start": 1.0}, "unknown name"),
    ({"start": 1.0}, "unknown name"),
    ({"name": "linear_warmup", "start": 0.5, "end": 1.0}, "warmup_epochs"),
    ({"name": "linear_warmup", "start": 0.5, "end": 1.0, "warmup_epochs": 3, "epochs": 2}, "epochs"),
    ({"name": "linear_warmup", "start": "a", "end": 1.0, "warmup_epochs": 3}, "start"),
    ({"name": "cosine", "start": 1.0, "end": float("nan"), "total_epochs": 3}, "end"),
    ({"name": "cosine", "start": 1.0, "end": 0.0, "total_epochs": 0}, "total_epochs"),
    ({"name": "step", "boundaries": [3, 2], "values": [1, 2, 3]}, "increase"),
    ({"name": "step", "boundaries": [3], "values": [1.0]}, "len"),
    ({"name": "step", "values_by_epoch": {2: 1.0}}, "epoch 0"),
    ({"name": "step", "values_by_epoch": {"x": 1.0}}, "keys"),
])
def test_bad_configs_raise_config_error_naming_the_key(config, match):
    with pytest.raises(ConfigError, match=match):
        S.from_config(config)


def test_get_rejects_non_schedules():
    with pytest.raises(ConfigError):
        S.get("linear_warmup")
    with pytest.raises(ConfigError):
        S.get(True)
