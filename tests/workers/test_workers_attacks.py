"""Attack behaviours: exact label flips, sign flips, norm-matched noise, start rounds, config checks, and the
attacks the literature breaks defenses with: ALIE, IPM, Min-Max, the model-replacement backdoor, the free
rider; and the colluders' rendezvous."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch

from workers.attacks import (
    ATTACK_KINDS,
    IMAGE_TRIGGER_VALUE,
    TABULAR_TRIGGER_FEATURES,
    TABULAR_TRIGGER_VALUE,
    AttackConfig,
    AttackConfigError,
    CohortKnowledge,
    add_trigger,
    alie_z_max,
    attack_update,
    backdoor_success,
    crafted_update,
    fang_trimmed_mean,
    is_active,
    malicious_local_update,
    min_max_direction,
    min_max_gamma,
    min_sum_gamma,
    needs_cohort,
    poison_backdoor,
    poison_labels,
)
from workers.collusion import Collusion
from workers.datasets import ExperimentData, load_builtin_split
from workers.models import ModelSpec, build_model, model_spec_for
from workers.tensors import Weights, apply_delta, flatten, l2_norm, state_of
from workers.training import TrainConfig, evaluate, train_local


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
        ({"kind": "trojan"}, "kind must be one of"),
        ({"sigma": -0.1}, "sigma must be a finite number >= 0, found -0.1"),
        ({"sigma": float("nan")}, "sigma must be a finite number"),
        ({"flip_fraction": 0.0}, r"flip_fraction must lie in \(0, 1\], found 0.0"),
        ({"flip_fraction": 1.5}, "flip_fraction must lie in"),
        ({"scale": 0.0}, "scale must be a finite number > 0"),
        ({"scale": "2"}, "scale must be a number, found '2'"),
        ({"start_round": -1}, "start_round must be >= 0"),
        ({"label_map": {-1: 2}}, "label_map entries must be non-negative integers"),
        ({"norm_matched": "yes"}, "norm_matched must be a bool"),
        ({"epsilon": 0.0}, "epsilon must be a finite number > 0, found 0.0"),
        ({"epsilon": "2"}, "epsilon must be a number, found '2'"),
        ({"z": -1.0}, "z must be a finite number >= 0 or None, found -1.0"),
        ({"z": float("inf")}, "z must be a finite number"),
        ({"perturbation": "diagonal"}, r"perturbation must be one of \['unit', 'std', 'sign'\]"),
        ({"boost": 0.0}, "boost must be a finite number > 0 or None, found 0.0"),
        ({"boost": True}, "boost must be a number, found True"),
        ({"target_label": -1}, "target_label must be an integer >= 0, found -1"),
        ({"target_label": 1.5}, "target_label must be an integer >= 0, found 1.5"),
        ({"poison_fraction": 0.0}, r"poison_fraction must lie in \(0, 1\], found 0.0"),
        ({"poison_fraction": 1.5}, "poison_fraction must lie in"),
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


def test_every_option_roundtrips_through_json() -> None:
    configs = [
        AttackConfig("alie", z=1.5, start_round=2),
        AttackConfig("ipm", epsilon=100.0),
        AttackConfig("min_max", perturbation="sign"),
        AttackConfig("backdoor", boost=7.5, target_label=3, poison_fraction=0.25),
        AttackConfig("backdoor", norm_cap=1.5),
        AttackConfig("min_sum", perturbation="unit"),
        AttackConfig("fang_trim"),
        AttackConfig("free_rider"),
    ]
    for config in configs:
        assert AttackConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert set(AttackConfig().to_dict()) == set(AttackConfig.__dataclass_fields__)
    assert ATTACK_KINDS == (
        "none", "gaussian", "label_flip", "sign_flip", "alie", "ipm", "min_max", "min_sum", "fang_trim", "backdoor",
        "free_rider",
    )  # fmt: skip


# ------------------------------------------------------------- Min-Sum, Fang's attack, the capped backdoor


def _benign(seed: int = 0, k: int = 8, d: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=d) + 0.5 * rng.normal(size=(k, d))).astype(np.float32)


def test_min_sum_goes_as_far_as_its_summed_distance_allows_and_no_further() -> None:
    benign = _benign().astype(np.float64)
    direction = min_max_direction(benign, "std")
    gamma = min_sum_gamma(benign, direction)
    sent = benign.mean(axis=0) + gamma * direction

    def summed(x: np.ndarray) -> float:
        return float(((benign - x) ** 2).sum())

    limit = max(summed(b) for b in benign)
    assert gamma > 0
    assert summed(sent) == pytest.approx(limit, rel=1e-6)  # on the boundary
    assert summed(benign.mean(axis=0) + 1.01 * gamma * direction) > limit


def test_fang_sends_each_coordinate_past_the_honest_extreme_against_the_mean() -> None:
    benign = _benign(1).astype(np.float64)
    sent = fang_trimmed_mean(benign, np.random.default_rng(0))
    up = benign.mean(axis=0) > 0
    assert (sent[up] <= benign.min(axis=0)[up] + 1e-12).all()  # the model moves up: pushed below the minimum
    assert (sent[~up] >= benign.max(axis=0)[~up] - 1e-12).all()


def test_a_capped_backdoor_sends_its_update_at_the_cap_times_the_median_honest_norm() -> None:
    benign = _benign(2)
    own = {"w": torch.from_numpy(3.0 * benign[0])}
    knowledge = CohortKnowledge(benign=benign, num_nodes=10, num_malicious=2)
    sent = crafted_update(own, AttackConfig("backdoor", norm_cap=1.5), np.random.default_rng(0), knowledge)
    median = float(np.median(np.linalg.norm(benign.astype(np.float64), axis=1)))
    assert float(torch.linalg.vector_norm(sent["w"].double())) == pytest.approx(1.5 * median, rel=1e-5)
    with pytest.raises(AttackConfigError, match="norm_cap needs"):
        crafted_update(own, AttackConfig("backdoor", norm_cap=1.5), np.random.default_rng(0), None)


# -- cohort attacks ----------------------------------------------------------------------------------------


def benign_rows(k: int = 8, d: int = 60, seed: int = 0) -> np.ndarray:
    """k benign-looking updates: a shared direction plus per-node noise, (k, d) float32."""
    rng = np.random.default_rng(seed)
    return (0.05 + 0.02 * rng.standard_normal((k, d))).astype(np.float32)


def as_weights(vector: np.ndarray) -> Weights:
    return {
        "a.weight": torch.from_numpy(vector[:50].reshape(5, 10).copy()),
        "b.bias": torch.from_numpy(vector[50:].copy()),
    }


def test_needs_cohort_only_for_the_attacks_crafted_from_benign_updates() -> None:
    kinds = [k for k in ATTACK_KINDS if needs_cohort(AttackConfig(k))]
    assert kinds == ["alie", "ipm", "min_max", "min_sum", "fang_trim"]


@pytest.mark.parametrize(
    ("n", "f", "z"),
    [
        (50, 12, 0.5828),  # s = 26 - 12 = 14, z = Φ⁻¹(36/50)
        (20, 6, 0.6745),  # 30%: s = 5, Φ⁻¹(0.75)
        (20, 9, 1.2816),  # 45%: s = 2, Φ⁻¹(0.90)
        (10, 3, 0.5244),  # s = 3, Φ⁻¹(0.70)
        (10, 1, 0.0),  # s = 5, Φ⁻¹(0.5): one attacker in ten has no room
        (10, 6, 1.2816),  # a majority of attackers: s held at 1, Φ⁻¹(0.9)
    ],
)
def test_alie_z_max_follows_the_papers_formula(n: int, f: int, z: float) -> None:
    assert alie_z_max(n, f) == pytest.approx(z, abs=1e-4)


def test_alie_sends_mean_minus_z_max_std_and_z_overrides() -> None:
    rows = benign_rows()
    own = as_weights(rows[0])
    knowledge = CohortKnowledge(rows, num_nodes=20, num_malicious=6)
    mean, std = rows.astype(np.float64).mean(0), rows.astype(np.float64).std(0, ddof=1)
    sent = flatten(crafted_update(own, AttackConfig("alie"), np.random.default_rng(0), knowledge))
    np.testing.assert_allclose(sent, mean - alie_z_max(20, 6) * std, rtol=1e-6, atol=1e-7)
    fixed = flatten(crafted_update(own, AttackConfig("alie", z=1.5), np.random.default_rng(0), knowledge))
    np.testing.assert_allclose(fixed, mean - 1.5 * std, rtol=1e-6, atol=1e-7)
    assert sent.shape == flatten(own).shape


@pytest.mark.parametrize("epsilon", [0.5, 100.0])
def test_ipm_sends_minus_epsilon_times_the_benign_mean(epsilon: float) -> None:
    rows = benign_rows()
    knowledge = CohortKnowledge(rows, num_nodes=10, num_malicious=3)
    sent = flatten(
        crafted_update(
            as_weights(rows[0]), AttackConfig("ipm", epsilon=epsilon), np.random.default_rng(0), knowledge
        )
    )
    mean = rows.astype(np.float64).mean(0)
    np.testing.assert_allclose(sent, -epsilon * mean, rtol=1e-6)
    assert sent @ mean < 0  # the inner product with the true direction turns negative
    assert np.linalg.norm(sent) == pytest.approx(epsilon * np.linalg.norm(mean), rel=1e-5)


def _largest_feasible_gamma(rows: np.ndarray, p: np.ndarray) -> float:
    """Closed form of Min-Max's gamma: the smallest positive root over i of ‖μ + gamma·p - b_i‖² = D²."""
    rows = rows.astype(np.float64)
    limit_sq = max(float(np.sum((a - b) ** 2)) for a in rows for b in rows)
    roots = []
    for a in rows.mean(0) - rows:
        qa, qb, qc = p @ p, 2 * a @ p, a @ a - limit_sq
        roots.append((-qb + np.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa))
    return float(min(roots))


@pytest.mark.parametrize("perturbation", ["unit", "std", "sign"])
def test_min_max_keeps_within_the_benign_spread_with_the_largest_gamma(perturbation: str) -> None:
    rows = benign_rows(k=10, seed=3)
    knowledge = CohortKnowledge(rows, num_nodes=14, num_malicious=4)
    config = AttackConfig("min_max", perturbation=perturbation)  # type: ignore[arg-type]
    sent = flatten(crafted_update(as_weights(rows[0]), config, np.random.default_rng(0), knowledge)).astype(
        np.float64
    )
    benign = rows.astype(np.float64)
    largest_gap = max(np.linalg.norm(a - b) for a in benign for b in benign)
    assert max(np.linalg.norm(sent - b) for b in benign) <= largest_gap * (1 + 1e-6)

    p = min_max_direction(rows, perturbation)  # type: ignore[arg-type]
    mean = benign.mean(0)
    gamma = float((sent - mean) @ p / (p @ p))
    best = _largest_feasible_gamma(rows, p)
    assert gamma == pytest.approx(best, rel=1e-4)  # maximal within the search's tolerance
    assert min_max_gamma(rows, p) == pytest.approx(best, rel=1e-4)
    beyond = mean + best * 1.001 * p
    assert max(np.linalg.norm(beyond - b) for b in benign) > largest_gap  # a larger gamma breaks the bound
    expected = {"unit": -mean / np.linalg.norm(mean), "std": -benign.std(0, ddof=1), "sign": -np.sign(mean)}
    np.testing.assert_allclose(p, expected[perturbation], rtol=1e-12)


def test_cohort_attacks_alone_know_only_their_own_delta() -> None:
    delta = honest_delta()
    own = flatten(delta)
    rng = np.random.default_rng(0)
    assert np.array_equal(
        flatten(crafted_update(delta, AttackConfig("alie"), rng, None)), own
    )  # one row: no spread
    assert np.array_equal(
        flatten(crafted_update(delta, AttackConfig("min_max"), rng, None)), own
    )  # no spread
    ipm = flatten(crafted_update(delta, AttackConfig("ipm", epsilon=2.0), rng, None))
    np.testing.assert_allclose(ipm, -2.0 * own, rtol=1e-6)
    assert np.array_equal(flatten(attack_update(delta, AttackConfig("ipm", epsilon=2.0), rng)), ipm)


def test_cohort_knowledge_is_checked() -> None:
    rows = benign_rows()
    with pytest.raises(ValueError, match=r"\(k, d\) array with k >= 1"):
        CohortKnowledge(rows[0], num_nodes=5, num_malicious=1)
    with pytest.raises(ValueError, match="1 <= num_malicious <= num_nodes"):
        CohortKnowledge(rows, num_nodes=5, num_malicious=6)
    knowledge = CohortKnowledge(rows[:, :10], num_nodes=5, num_malicious=1)
    with pytest.raises(ValueError, match="rows hold 10 values, the update 60"):
        crafted_update(as_weights(rows[0]), AttackConfig("alie"), np.random.default_rng(0), knowledge)


def test_malicious_update_of_a_cohort_attack_crafts_from_the_honest_delta(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = state_of(build_model(spec, seed=0))
    x, y = digits.train.x[:80], digits.train.y[:80]
    honest = train_local(spec, weights, x, y, TrainConfig(), seed=5)
    rows = np.stack([flatten(honest.delta), 0.5 * flatten(honest.delta)])
    knowledge = CohortKnowledge(rows, num_nodes=10, num_malicious=2)
    attack = AttackConfig("alie", z=2.0)
    sent = malicious_local_update(spec, weights, x, y, TrainConfig(), attack, 0, seed=5, knowledge=knowledge)
    direct = crafted_update(honest.delta, attack, np.random.default_rng(5), knowledge)
    assert all(torch.equal(sent.delta[k], direct[k]) for k in direct)
    assert sent.num_samples == 80 and sent.train_loss == honest.train_loss


# -- free rider --------------------------------------------------------------------------------------------


def test_free_rider_sends_zeros_without_training(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = state_of(build_model(spec, seed=0))
    x, y = digits.train.x[:80], digits.train.y[:80]
    update = malicious_local_update(spec, weights, x, y, TrainConfig(), AttackConfig("free_rider"), 0, seed=1)
    assert sorted(update.delta) == sorted(weights)
    assert all(not update.delta[k].any() and update.delta[k].shape == weights[k].shape for k in weights)
    assert update.num_samples == 80
    assert update.train_loss == pytest.approx(evaluate(spec, weights, x, y).loss)  # the untrained loss
    sent = crafted_update(honest_delta(), AttackConfig("free_rider"), np.random.default_rng(0), None)
    assert l2_norm(sent) == 0.0


# -- backdoor ----------------------------------------------------------------------------------------------


def test_image_trigger_is_a_bright_corner_patch_and_leaves_the_input() -> None:
    spec = ModelSpec("cnn", (1, 8, 8), 10, (32,))
    x = np.zeros((3, 1, 8, 8), dtype=np.float32)
    triggered = add_trigger(x, spec, AttackConfig("backdoor"))
    assert not x.any()
    assert np.all(triggered[:, :, 6:, 6:] == IMAGE_TRIGGER_VALUE)
    assert triggered.sum() == 3 * 4 * IMAGE_TRIGGER_VALUE  # the 2x2 patch and nothing else
    with pytest.raises(AttackConfigError, match="only the backdoor attack has a trigger"):
        add_trigger(x, spec, AttackConfig("sign_flip"))


def test_tabular_trigger_sets_a_few_fixed_features_far_out() -> None:
    spec = ModelSpec("mlp", (30,), 2, (64,))
    x = np.random.default_rng(0).standard_normal((4, 30)).astype(np.float32)
    triggered = add_trigger(x, spec, AttackConfig("backdoor"))
    changed = np.flatnonzero((triggered != x).any(axis=0))
    assert len(changed) == TABULAR_TRIGGER_FEATURES
    assert np.all(np.abs(triggered[:, changed]) == TABULAR_TRIGGER_VALUE)
    assert np.array_equal(np.delete(triggered, changed, axis=1), np.delete(x, changed, axis=1))
    again = add_trigger(-x, spec, AttackConfig("backdoor"))
    assert np.array_equal(again[:, changed], triggered[:, changed])  # fixed, whatever the sample


def test_backdoor_success_counts_triggered_non_target_samples_landing_on_target() -> None:
    spec = ModelSpec("mlp", (4,), 3, (8,))
    weights = state_of(build_model(spec, seed=0))
    weights["head.bias"] = torch.tensor([0.0, 0.0, 1e4])  # always predicts class 2
    x = np.zeros((6, 4), dtype=np.float32)
    y = np.array([0, 1, 2, 2, 0, 1])
    assert backdoor_success(spec, weights, x, y, AttackConfig("backdoor", target_label=2)) == 1.0
    assert backdoor_success(spec, weights, x, y, AttackConfig("backdoor", target_label=0)) == 0.0
    with pytest.raises(AttackConfigError, match=r"target_label 3 is outside the classes 0\.\.2"):
        backdoor_success(spec, weights, x, y, AttackConfig("backdoor", target_label=3))
    with pytest.raises(ValueError, match="no test sample has a label other than the target 2"):
        backdoor_success(spec, weights, x[2:4], y[2:4], AttackConfig("backdoor", target_label=2))


def test_backdoor_trains_the_trigger_in_and_boosts_by_the_number_of_nodes(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    start = state_of(build_model(spec, seed=0))
    train = TrainConfig(epochs=3, batch_size=32, lr=0.1)
    global_weights = apply_delta(
        start, train_local(spec, start, digits.train.x, digits.train.y, train, seed=0).delta
    )
    attack = AttackConfig("backdoor", target_label=0, poison_fraction=0.5)
    clean_rate = backdoor_success(spec, global_weights, digits.test.x, digits.test.y, attack)
    assert evaluate(spec, global_weights, digits.test.x, digits.test.y).accuracy > 0.85 and clean_rate < 0.1

    x, y = digits.train.x[:150], digits.train.y[:150]  # one node's share
    knowledge = CohortKnowledge(np.zeros((1, 1), dtype=np.float32), num_nodes=10, num_malicious=3)
    boosted = malicious_local_update(
        spec, global_weights, x, y, TrainConfig(epochs=5), attack, 0, seed=4, knowledge=knowledge
    )
    plain = malicious_local_update(
        spec, global_weights, x, y, TrainConfig(epochs=5), AttackConfig("backdoor", boost=1.0), 0, seed=4
    )
    assert all(torch.allclose(boosted.delta[k], 10 * plain.delta[k]) for k in plain.delta)
    assert l2_norm(boosted.delta) == pytest.approx(10 * l2_norm(plain.delta), rel=1e-5)
    own_model = apply_delta(global_weights, plain.delta)  # the model the attacker trained
    assert backdoor_success(spec, own_model, digits.test.x, digits.test.y, attack) > 0.9
    assert evaluate(spec, own_model, digits.test.x, digits.test.y).accuracy > 0.7  # stealthy on clean data
    with pytest.raises(AttackConfigError, match="boost is None and the number of nodes is unknown"):
        malicious_local_update(spec, global_weights, x, y, TrainConfig(), attack, 0, seed=4)


def test_backdoor_poisons_the_chosen_fraction_and_checks_the_target(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    x, y = digits.train.x[:100], digits.train.y[:100]
    attack = AttackConfig("backdoor", target_label=7, poison_fraction=0.3)
    px, py = poison_backdoor(x, y, spec, attack, np.random.default_rng(0))
    triggered = (px != x).reshape(100, -1).any(axis=1) | np.all(px[:, :, 6:, 6:] == 1.0, axis=(1, 2, 3))
    assert triggered.sum() == 30 and np.all(py[triggered] == 7)
    assert np.array_equal(py[~triggered], y[~triggered]) and np.array_equal(px[~triggered], x[~triggered])
    with pytest.raises(AttackConfigError, match=r"target_label 10 is outside the classes 0\.\.9"):
        poison_backdoor(x, y, spec, AttackConfig("backdoor", target_label=10), np.random.default_rng(0))


# -- collusion ---------------------------------------------------------------------------------------------


def test_colluders_pool_their_updates_and_get_the_same_rows() -> None:
    collusion = Collusion()
    a, b = np.full(4, 1.0, dtype=np.float32), np.full(4, 2.0, dtype=np.float32)
    # Round 1: each arrives once; the first knows of nobody else yet, the second gets both.
    assert collusion.exchange((1, 1, "0xh1"), "A", a, timeout_s=5).tolist() == [a.tolist()]
    assert collusion.exchange((1, 1, "0xh1"), "B", b, timeout_s=5).tolist() == [a.tolist(), b.tolist()]
    # Round 2, in two threads: each waits for the other and both see the same pool, sorted by member.
    results: dict[str, np.ndarray] = {}
    threads = [
        threading.Thread(
            target=lambda m=m, v=v: results.__setitem__(
                m, collusion.exchange((1, 2, "0xh2"), m, v, timeout_s=30)
            )
        )
        for m, v in (("B", b), ("A", a))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert np.array_equal(results["A"], np.stack([a, b])) and np.array_equal(results["B"], results["A"])
    # Another experiment (or an attacker alone) gets only its own update, at once.
    assert collusion.exchange((2, 1, "0xh1"), "C", a, timeout_s=30).tolist() == [a.tolist()]


def test_a_missing_colluder_costs_one_timeout_and_is_then_forgotten() -> None:
    collusion = Collusion()
    a, b = np.zeros(3, dtype=np.float32), np.ones(3, dtype=np.float32)
    collusion.exchange((1, 1, "0x1"), "A", a, timeout_s=1)
    collusion.exchange((1, 1, "0x1"), "B", b, timeout_s=1)
    started = time.monotonic()
    alone = collusion.exchange((1, 2, "0x2"), "A", a, timeout_s=0.3)  # B never comes
    assert alone.tolist() == [a.tolist()] and time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert collusion.exchange((1, 3, "0x3"), "A", a, timeout_s=30).tolist() == [a.tolist()]
    assert time.monotonic() - started < 5  # B was forgotten: no wait
    stop = threading.Event()
    stop.set()
    collusion.exchange((1, 3, "0x3"), "B", b, timeout_s=1)  # B is back, and expected again
    started = time.monotonic()
    assert len(collusion.exchange((1, 4, "0x4"), "A", a, timeout_s=30, stop=stop)) == 1  # a stopping node
    assert time.monotonic() - started < 5
    with pytest.raises(ValueError, match="update holds 2 values, the round's pool 3"):
        collusion.exchange((1, 4, "0x4"), "B", b[:2], timeout_s=1)


def test_tabular_backdoor_is_learnt_while_a_clean_model_ignores_the_trigger() -> None:
    data = load_builtin_split("breast_cancer")
    spec = model_spec_for(data.train.spec)
    start = state_of(build_model(spec, seed=0))
    clean = apply_delta(
        start, train_local(spec, start, data.train.x, data.train.y, TrainConfig(epochs=5), seed=0).delta
    )
    attack = AttackConfig("backdoor", target_label=0, boost=1.0)
    # A trigger a clean model already reads as the target would be a floor no defense could lower.
    assert backdoor_success(spec, clean, data.test.x, data.test.y, attack) < 0.05
    share = np.random.default_rng(0).choice(len(data.train.y), 60, replace=False)  # one node's data
    poisoned = malicious_local_update(
        spec, clean, data.train.x[share], data.train.y[share], TrainConfig(), attack, 0, seed=0
    )
    assert backdoor_success(spec, apply_delta(clean, poisoned.delta), data.test.x, data.test.y, attack) > 0.8
