"""Each shield rule on synthetic vectors, the brief's thresholds at their boundary, and the guard rails."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.detection import (
    NORM_THRESHOLD,
    DefenseConfig,
    DefenseHistory,
    RootEvidence,
    UpdateVerdict,
    compute_features,
    defend_and_aggregate,
    label_alignment,
    log_norm_z,
    quiet_energy,
    rule_checks,
    screen_round,
)

BRIEF_ONLY = DefenseConfig(
    use_norm_mad=False,
    use_quiet_energy=False,
    use_root_alignment=False,
    use_cosine_trusted=False,
    use_cosine_reference=False,
    use_trust_score=False,
)


def honest_cohort(n: int = 10, d: int = 400, seed: int = 0) -> np.ndarray:
    """Structured 'trained' updates: a shared direction plus node-specific parts, all on the first 20% of
    coordinates (trained updates leave most coordinates nearly still)."""
    rng = np.random.default_rng(seed)
    active = d // 5
    shared = rng.normal(size=active)
    rows = np.zeros((n, d))
    for i in range(n):
        rows[i, :active] = shared + 0.8 * rng.normal(size=active)
        rows[i, active:] = 0.01 * rng.normal(size=d - active)
    return rows.astype(np.float32)


def verdicts_for(updates: np.ndarray, config: DefenseConfig, **kwargs: object) -> list[UpdateVerdict]:
    zeros = np.zeros(updates.shape[1], dtype=np.float32)
    return screen_round(updates, [10] * len(updates), zeros, config, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- the brief's checks


def test_norm_threshold_default_is_the_brief_value() -> None:
    assert NORM_THRESHOLD == 1000.0
    assert DefenseConfig().norm_threshold == 1000.0


def test_norm_threshold_triggers_exactly_above_the_boundary() -> None:
    global_weights = np.zeros(3, dtype=np.float32)
    global_weights[0] = 600.0
    at = np.array([[400.0, 0.0, 0.0]], dtype=np.float32)  # ‖w + Δ‖ = 1000 exactly
    above = np.array([[np.nextafter(np.float32(400.0), np.float32(500.0)), 0.0, 0.0]], dtype=np.float32)
    config = BRIEF_ONLY.model_copy(update={"use_distance_threshold": False})
    assert screen_round(at, [1], global_weights, config)[0].accepted
    rejected = screen_round(above, [1], global_weights, config)[0]
    assert not rejected.accepted and rejected.rule == "norm_threshold"
    assert rejected.reason == "model norm 1000.00 above 1000.00"
    assert rejected.features["model_norm"] > 1000.0


def test_distance_threshold_triggers_exactly_above_the_boundary() -> None:
    config = BRIEF_ONLY.model_copy(update={"distance_threshold": 5.0})
    global_weights = np.full(2, 100.0, dtype=np.float32)
    at = np.array([[3.0, 4.0]], dtype=np.float32)  # ‖Δ‖ = 5 exactly
    above = np.array([[3.0, np.nextafter(np.float32(4.0), np.float32(5.0))]], dtype=np.float32)
    assert screen_round(at, [1], global_weights, config)[0].accepted
    verdict = screen_round(above, [1], global_weights, config)[0]
    assert (verdict.accepted, verdict.rule) == (False, "distance_threshold")


# ------------------------------------------------------------------------------------------ robust rules


def test_norm_mad_flags_boosted_and_empty_updates_both_ways() -> None:
    updates = honest_cohort()
    updates[0] *= 50.0  # boosted
    updates[1] *= 1e-4  # a free rider sending almost nothing
    z = log_norm_z(updates, floor=0.2)
    assert z[0] > 6 and z[1] < -6 and np.all(np.abs(z[2:]) < 3)
    config = DefenseConfig(use_quiet_energy=False, distance_threshold=1e6)
    verdicts = verdicts_for(updates, config)
    assert [v.rule for v in verdicts[:2]] == ["norm_mad", "norm_mad"]
    assert all(v.accepted for v in verdicts[2:])


def test_quiet_energy_catches_norm_matched_noise() -> None:
    updates = honest_cohort()
    rng = np.random.default_rng(1)
    noise = rng.normal(size=updates.shape[1])
    updates[3] = updates[3] + (noise * np.linalg.norm(updates[3]) / np.linalg.norm(noise)).astype(np.float32)
    scores = quiet_energy(updates, 0.5)
    assert scores[3] > 0.4 and np.all(np.delete(scores, 3) < 0.1)
    verdicts = verdicts_for(updates, DefenseConfig())
    assert [v.index for v in verdicts if not v.accepted] == [3]
    assert verdicts[3].rule == "quiet_energy"


def test_cosine_rules_reject_an_opposed_update() -> None:
    updates = honest_cohort()
    trusted = updates.mean(axis=0)
    updates[4] = -3.0 * updates[4]
    config = DefenseConfig(use_norm_mad=False, use_root_alignment=False)
    verdicts = verdicts_for(updates, config, trusted_update=trusted)
    assert [v.index for v in verdicts if not v.accepted] == [4]
    assert verdicts[4].rule == "cosine_trusted"
    assert verdicts[4].features["cosine_reference"] < -0.6
    checks = {c.rule for c in rule_checks(verdicts[4].features, config)}
    assert "cosine_reference" not in checks  # the median is only the fallback for the trusted update
    without_root = verdicts_for(updates, config)
    assert [(v.index, v.rule) for v in without_root if not v.accepted] == [(4, "cosine_reference")]


# ------------------------------------------------------------------------------------- root-set alignment


def _root_evidence(shifts: list[np.ndarray], labels: np.ndarray, classes: int) -> RootEvidence:
    base = np.zeros((len(labels), classes))
    return RootEvidence(labels, base, np.stack([base + s for s in shifts]))


def test_label_alignment_separates_teaching_skew_and_flipping() -> None:
    classes, labels = 4, np.repeat(np.arange(4), 5)  # 20 root samples, 5 per class
    own = np.eye(classes)[labels]  # raises each sample's own logit
    skewed = own * (labels[:, None] == 0) + 2.0 * np.eye(classes)[np.zeros_like(labels)]  # class 0 only
    flipped = np.eye(classes)[classes - 1 - labels]  # raises the flipped label's logit
    prior_only = np.tile(np.eye(classes)[2], (len(labels), 1))  # pushes every sample towards class 2
    scores = label_alignment(_root_evidence([own, skewed, flipped, prior_only], labels, classes))
    assert scores[0] == pytest.approx(np.sqrt((classes - 1) / classes))  # pure teaching: the maximum
    assert scores[1] > 0.2  # a skewed node still teaches its class; the prior shift is centred away
    assert scores[2] < -0.2  # flipping teaches the wrong classes
    assert abs(scores[3]) < 1e-9  # a pure prior shift says nothing


def test_root_alignment_rejects_the_flipped_update() -> None:
    updates = honest_cohort(n=6)
    classes, labels = 4, np.repeat(np.arange(4), 5)
    own, flipped = np.eye(classes)[labels], np.eye(classes)[classes - 1 - labels]
    evidence = _root_evidence([own] * 5 + [flipped], labels, classes)
    verdicts = verdicts_for(updates, DefenseConfig(), root_evidence=evidence)
    assert [v.index for v in verdicts if not v.accepted] == [5]
    assert verdicts[5].rule == "root_alignment"
    assert verdicts[5].reason.startswith("root alignment -")


# ------------------------------------------------------------------------------------------ guard rails


def test_robust_rules_never_take_the_rejections_past_half() -> None:
    updates = honest_cohort(n=10)
    updates[:3] *= 1e4  # over the brief's distance threshold
    updates[3:7] = -updates[3:7]  # opposed: flagged by the median cosine
    config = DefenseConfig(use_norm_mad=False, use_quiet_energy=False, cosine_reference_min=0.0)
    verdicts = verdicts_for(updates, config)
    rejected = {v.index for v in verdicts if not v.accepted}
    assert len(rejected) == 5 and rejected >= {0, 1, 2}  # the 3 absolute, then the 2 most opposed
    worst_two = sorted(range(3, 7), key=lambda i: verdicts[i].features["cosine_reference"])[:2]
    assert rejected == {0, 1, 2, *worst_two}
    capped = [v.index for v in verdicts if v.accepted and "capped at 5 of 10" in v.reason]
    assert len(capped) == 2


def test_the_brief_checks_apply_even_to_a_single_update() -> None:
    update = np.array([[2000.0, 0.0]], dtype=np.float32)
    verdict = screen_round(update, [1], np.zeros(2, np.float32), DefenseConfig(distance_threshold=1e6))[0]
    assert (verdict.accepted, verdict.rule) == (False, "norm_threshold")


def test_robust_rules_abstain_on_a_tiny_cohort() -> None:
    updates = honest_cohort(n=3)
    updates[0] *= 1000.0
    features = compute_features(updates, np.zeros(updates.shape[1], dtype=np.float32), DefenseConfig())
    assert "norm_z" not in features[0] and "quiet_energy" not in features[0]
    lenient = DefenseConfig(distance_threshold=1e9, norm_threshold=1e9)
    assert all(v.accepted for v in verdicts_for(updates, lenient))


def test_disabled_defense_accepts_everything() -> None:
    updates = honest_cohort()
    updates[0] *= 1e6
    assert all(v.accepted for v in verdicts_for(updates, DefenseConfig(enabled=False)))


def test_low_trust_rejects_only_a_borderline_update() -> None:
    updates = honest_cohort(n=6)
    classes, labels = 4, np.repeat(np.arange(4), 5)
    own, flipped = np.eye(classes)[labels], np.eye(classes)[classes - 1 - labels]
    weak = own + 2.5 * flipped  # alignment ~0.06: positive, but within the borderline band
    evidence = _root_evidence([own] * 4 + [weak, weak], labels, classes)
    history = DefenseHistory()
    ids = ["a", "b", "c", "d", "liar", "new"]
    for _ in range(4):  # "liar" was rejected in each of 4 past rounds
        history.record(ids, [UpdateVerdict(i, ids[i] != "liar", None, "", {}) for i in range(6)])
    snapshot = {k: (v.seen, v.accepted) for k, v in history.nodes.items()}
    verdicts = verdicts_for(updates, DefenseConfig(), root_evidence=evidence, history=history, node_ids=ids)
    assert verdicts[4].rule == "trust_score" and "borderline" in verdicts[4].reason
    assert verdicts[5].accepted  # same update, clean record
    assert {k: (v.seen, v.accepted) for k, v in history.nodes.items()} == snapshot  # screening is pure


def test_every_verdict_carries_its_features_and_checks() -> None:
    updates = honest_cohort()
    trusted = updates.mean(axis=0)
    verdict = verdicts_for(updates, DefenseConfig(), trusted_update=trusted)[0]
    assert {"model_norm", "update_norm", "norm_z", "quiet_energy", "cosine_trusted"} <= set(verdict.features)
    checks = rule_checks(verdict.features, DefenseConfig())
    assert {c.rule for c in checks} >= {"norm_threshold", "distance_threshold", "norm_mad", "quiet_energy"}
    assert all(not c.tripped for c in checks)


def test_screening_is_deterministic() -> None:
    updates = honest_cohort()
    first = verdicts_for(updates, DefenseConfig())
    second = verdicts_for(updates.copy(), DefenseConfig())
    assert first == second


def test_defend_and_aggregate_averages_only_the_accepted() -> None:
    updates = honest_cohort()
    updates[0] *= 1e4
    outcome = defend_and_aggregate(
        updates, [10] * 10, np.zeros(updates.shape[1], np.float32), DefenseConfig()
    )
    assert outcome.accepted_indices == list(range(1, 10))
    np.testing.assert_allclose(outcome.aggregated_delta, updates[1:].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_config_is_json_and_validated() -> None:
    config = DefenseConfig(aggregator="median", root_alignment_min=0.05)
    assert DefenseConfig.model_validate(json.loads(config.model_dump_json())) == config
    with pytest.raises(ValueError, match="unknown aggregator"):
        DefenseConfig(aggregator="mean")
    with pytest.raises(ValueError):
        DefenseConfig(norm_threshold=-1.0)
