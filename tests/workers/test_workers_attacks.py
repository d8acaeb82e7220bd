"""Attack behaviours: exact label flips, exact sign flips, norm-matched noise, start rounds, config checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workers.attacks import (
    AttackConfig,
    AttackConfigError,
    attack_update,
    is_active,
    malicious_local_update,
    poison_labels,
)
from workers.datasets import ExperimentData
from workers.models import build_model, model_spec_for
from workers.tensors import Weights, flatten, l2_norm, state_of
from workers.training import TrainConfig, train_local


def honest_delta() -> Weights:
    g = torch.Generator().manual_seed(0)
    return {
        "a.weight": torch.randn(40, 30, generator=g) * 0.01,
        "a.bias": torch.randn(40, generator=g) * 0.01,
    }


def test_label_flip_maps_exactly_the_chosen_fraction_with_c_minus_1_minus_y() -> None:
    y = np.tile(np.arange(10), 50)  # 500 labels
    poisoned = poison_labels(y, 10, AttackConfig("label_flip", flip_fraction=0.3), np.random.default_rng(0))
    changed = poisoned != y
    assert changed.sum() == 150  # with even C every chosen label moves
    assert np.array_equal(poisoned[changed], 9 - y[changed])
    again = poison_labels(y, 10, AttackConfig("label_flip", flip_fraction=0.3), np.random.default_rng(0))
    assert np.array_equal(poisoned, again)


def test_label_flip_with_a_custom_map_and_an_odd_class_count() -> None:
    y = np.array([0, 1, 2] * 10)
    full = poison_labels(y, 3, AttackConfig("label_flip"), np.random.default_rng(0))
    assert np.array_equal(full, 2 - y)  # class 1 maps to itself
    mapped = poison_labels(y, 3, AttackConfig("label_flip", label_map={0: 1}), np.random.default_rng(0))
    assert np.array_equal(mapped, np.where(y == 0, 1, y))


def test_label_map_outside_the_classes_is_refused() -> None:
    with pytest.raises(AttackConfigError, match=r"label_map entry 3 -> 0 is outside the classes 0\.\.2"):
        poison_labels(
            np.zeros(4, dtype=np.int64),
            3,
            AttackConfig("label_flip", label_map={3: 0}),
            np.random.default_rng(),
        )


def test_other_kinds_leave_labels_and_label_flip_leaves_the_update() -> None:
    y = np.arange(10)
    assert np.array_equal(poison_labels(y, 10, AttackConfig("sign_flip"), np.random.default_rng(0)), y)
    delta = honest_delta()
    for kind in ("none", "label_flip"):
        sent = attack_update(delta, AttackConfig(kind), np.random.default_rng(0))
        assert all(torch.equal(sent[k], delta[k]) for k in delta)


@pytest.mark.parametrize("scale", [1.0, 2.5, 10.0])
def test_sign_flip_sends_exactly_minus_scale_times_delta(scale: float) -> None:
    delta = honest_delta()
    sent = attack_update(delta, AttackConfig("sign_flip", scale=scale), np.random.default_rng(0))
    assert all(torch.equal(sent[k], -scale * delta[k]) for k in delta)


def test_gaussian_noise_has_the_configured_std() -> None:
    delta = honest_delta()
    sent = attack_update(delta, AttackConfig("gaussian", sigma=0.5), np.random.default_rng(1))
    noise = flatten(sent) - flatten(delta)
    assert noise.std() == pytest.approx(0.5, rel=0.05) and abs(noise.mean()) < 0.05


def test_norm_matched_noise_has_the_honest_norm() -> None:
    delta = honest_delta()
    sent = attack_update(
        delta, AttackConfig("gaussian", norm_matched=True, sigma=100.0), np.random.default_rng(2)
    )
    noise = {k: sent[k] - delta[k] for k in delta}
    assert l2_norm(noise) == pytest.approx(l2_norm(delta), rel=1e-5)
    zero = {k: torch.zeros_like(v) for k, v in delta.items()}
    quiet = attack_update(zero, AttackConfig("gaussian", norm_matched=True), np.random.default_rng(2))
    assert l2_norm(quiet) == 0.0


def test_is_active_respects_kind_and_start_round() -> None:
    assert not is_active(AttackConfig(), 50)
    late = AttackConfig("sign_flip", start_round=3)
    assert [is_active(late, r) for r in range(5)] == [False, False, False, True, True]


def test_malicious_update_is_honest_before_start_round_and_attacks_after(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = state_of(build_model(spec, seed=0))
    x, y = digits.train.x[:80], digits.train.y[:80]
    config = TrainConfig()
    attack = AttackConfig("sign_flip", scale=3.0, start_round=2)
    honest = train_local(spec, weights, x, y, config, seed=9)
    early = malicious_local_update(spec, weights, x, y, config, attack, round_idx=1, seed=9)
    late = malicious_local_update(spec, weights, x, y, config, attack, round_idx=2, seed=9)
    assert all(torch.equal(early.delta[k], honest.delta[k]) for k in honest.delta)
    assert all(torch.equal(late.delta[k], -3.0 * honest.delta[k]) for k in honest.delta)
    assert late.num_samples == honest.num_samples == 80


def test_label_flip_update_differs_from_honest_but_stays_finite(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = state_of(build_model(spec, seed=0))
    x, y = digits.train.x[:80], digits.train.y[:80]
    honest = train_local(spec, weights, x, y, TrainConfig(), seed=4)
    flipped = malicious_local_update(
        spec, weights, x, y, TrainConfig(), AttackConfig("label_flip"), 0, seed=4
    )
    gap = flatten(flipped.delta) - flatten(honest.delta)
    assert np.isfinite(gap).all() and np.abs(gap).max() > 1e-4


def test_config_roundtrips_through_json() -> None:
    config = AttackConfig("label_flip", flip_fraction=0.5, label_map={1: 7, 7: 1}, start_round=4)
    restored = AttackConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config and restored.label_map == {1: 7, 7: 1}
    assert AttackConfig.from_dict(AttackConfig().to_dict()) == AttackConfig()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": "backdoor"}, "kind must be one of"),
        ({"sigma": -0.1}, "sigma must be a finite number >= 0, found -0.1"),
        ({"sigma": float("nan")}, "sigma must be a finite number"),
        ({"flip_fraction": 0.0}, r"flip_fraction must lie in \(0, 1\], found 0.0"),
        ({"flip_fraction": 1.5}, "flip_fraction must lie in"),
        ({"scale": 0.0}, "scale must be a finite number > 0"),
        ({"scale": "2"}, "scale must be a number, found '2'"),
        ({"start_round": -1}, "start_round must be >= 0"),
        ({"label_map": {-1: 2}}, "label_map entries must be non-negative integers"),
        ({"norm_matched": "yes"}, "norm_matched must be a bool"),
    ],
)
def test_config_validation_names_the_field(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(AttackConfigError, match=expected):
        AttackConfig(**fields)  # type: ignore[arg-type]


def test_from_dict_rejects_unknown_options_and_bad_maps() -> None:
    with pytest.raises(AttackConfigError, match=r"unknown attack options \['power'\]"):
        AttackConfig.from_dict({"kind": "gaussian", "power": 3})
    with pytest.raises(AttackConfigError, match="label_map must map class ids"):
        AttackConfig.from_dict({"kind": "label_flip", "label_map": {"one": 2}})
