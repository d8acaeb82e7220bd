"""Each shield rule on synthetic vectors: the brief's thresholds, the calibrated signals, the three outcomes,
the slash that needs accumulated evidence, and the bounds on any one update's influence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.engine.shield import (
    NORM_THRESHOLD,
    DefenseConfig,
    DefenseHistory,
    Outcome,
    RootEvidence,
    UpdateVerdict,
    aggregate_accepted,
    aggregate_verdicts,
    bounded_weights,
    clip_to_median_norm,
    compute_features,
    cusum,
    gaussianity,
    label_alignment,
    quiet_energy,
    screen_round,
    signal_checks,
)

BRIEF_ONLY = DefenseConfig(
    use_norm_mad=False,
    use_quiet_energy=False,
    use_gaussianity=False,
    use_root_alignment=False,
    use_cosine_trusted=False,
    use_cosine_reference=False,
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


def outcomes(verdicts: list[UpdateVerdict]) -> list[Outcome]:
    return [v.outcome for v in verdicts]


# ---------------------------------------------------------------------------------- the brief's checks


def test_norm_threshold_default_is_the_brief_value() -> None:
    assert NORM_THRESHOLD == 1000.0
    assert DefenseConfig().norm_threshold == 1000.0


@pytest.mark.parametrize(("value", "caught"), [(1000.0, False), (1000.001, True)])
def test_norm_threshold_excludes_exactly_above_the_boundary(value: float, caught: bool) -> None:
    update = np.array([[value, 0.0]], dtype=np.float32)
    verdict = screen_round(
        update, [1], np.zeros(2, np.float32), BRIEF_ONLY.model_copy(update={"distance_threshold": 1e9})
    )[0]
    assert (verdict.outcome, verdict.rule) == (
        (Outcome.EXCLUDED, "norm_threshold") if caught else (Outcome.ACCEPTED, None)
    )


@pytest.mark.parametrize(("value", "caught"), [(100.0, False), (100.01, True)])
def test_distance_threshold_excludes_exactly_above_the_boundary(value: float, caught: bool) -> None:
    update = np.array([[value, 0.0]], dtype=np.float32)
    verdict = screen_round(update, [1], np.zeros(2, np.float32), BRIEF_ONLY)[0]
    assert verdict.outcome is (Outcome.EXCLUDED if caught else Outcome.ACCEPTED)


# ---------------------------------------------------------------------------------------- the signals


def test_the_norm_signal_excludes_boosted_and_empty_updates_both_ways() -> None:
    updates = honest_cohort()
    updates[0] *= 50.0  # boosted
    updates[1] *= 1e-4  # near-empty: a free rider
    verdicts = verdicts_for(updates, DefenseConfig(distance_threshold=1e9))
    assert verdicts[0].rule == "norm" and verdicts[1].rule == "free_riding"
    assert verdicts[1].outcome is Outcome.EXCLUDED  # a free rider is left out, never slashed
    assert all(v.accepted for v in verdicts[2:])


def test_quiet_energy_and_noise_likeness_catch_norm_matched_noise() -> None:
    updates = honest_cohort()
    rng = np.random.default_rng(1)
    noise = rng.normal(size=updates.shape[1]).astype(np.float32)
    updates[0] = updates[0] + noise * (np.linalg.norm(updates[0]) / np.linalg.norm(noise))
    features = compute_features(updates, np.zeros(updates.shape[1], np.float32), DefenseConfig())
    assert features[0]["quiet_energy_z"] > 4 and features[0]["noise_likeness_z"] > 4
    assert verdicts_for(updates, DefenseConfig())[0].outcome is not Outcome.ACCEPTED


def test_gaussianity_is_one_for_noise_and_lower_for_a_sparse_update() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(1, 20_000))
    sparse = np.zeros((1, 20_000))
    sparse[0, :200] = rng.normal(size=200)
    assert abs(gaussianity(noise)[0] - 1.0) < 0.02
    assert gaussianity(sparse)[0] < 0.2


def test_mixed_local_work_is_not_mistaken_for_noise() -> None:
    """Nodes of one sample beside nodes of two (1,000 nodes on digits): two honest ratio groups, far from 1."""
    sparse = honest_cohort(n=70, d=400, seed=1)
    denser = honest_cohort(n=30, d=400, seed=2)
    denser[:, 80:160] = 0.6 * np.random.default_rng(3).normal(size=(30, 80))
    cohort = np.concatenate([sparse, denser])
    ratios = gaussianity(cohort)
    assert ratios[70:].min() > ratios[:70].max() and ratios.max() < 0.85  # two groups, neither near noise
    features = compute_features(cohort, np.zeros(cohort.shape[1], np.float32), DefenseConfig())
    assert max(f["noise_likeness_z"] for f in features) <= 0.0
    assert all(v.rule != "gaussianity" for v in verdicts_for(cohort, DefenseConfig()))


def test_quiet_energy_is_small_for_trained_updates() -> None:
    assert quiet_energy(honest_cohort(), 0.5).max() < 0.1


def _root_evidence(maps: list[np.ndarray], labels: np.ndarray, classes: int) -> RootEvidence:
    """Logit shifts per update: ``maps[i][s]`` is the change of sample s's logits under update i."""
    base = np.zeros((len(labels), classes))
    return RootEvidence(labels=labels, global_logits=base, update_logits=np.stack([base + m for m in maps]))


def test_label_alignment_separates_teaching_skew_and_flipping() -> None:
    classes, labels = 4, np.repeat(np.arange(4), 5)
    own = np.eye(classes)[labels]  # pushes each sample towards its own label
    skewed = own * np.array([3.0, 1.0, 0.2, 0.2])[labels][:, None] + 0.5  # teaches mostly classes 0 and 1
    flipped = np.eye(classes)[classes - 1 - labels]
    scores = label_alignment(_root_evidence([own, skewed, flipped], labels, classes))
    assert scores[0] > 0.8 and scores[1] > 0.3 and scores[2] < -0.2


def test_the_direction_signal_excludes_an_opposed_update() -> None:
    updates = honest_cohort()
    updates[0] = -updates[0]
    trusted = honest_cohort(n=1, seed=5)[0] * 0 + updates[1:].mean(axis=0)
    verdicts = verdicts_for(updates, DefenseConfig(), trusted_update=trusted)
    assert verdicts[0].rule == "direction" and verdicts[0].outcome is Outcome.EXCLUDED
    assert all(v.accepted for v in verdicts[1:])


# ------------------------------------------------------------------------------------- three outcomes


def test_one_round_of_extreme_evidence_slashes() -> None:
    updates = honest_cohort()
    updates[0] *= 1e6  # a million times the cohort's norm
    verdict = verdicts_for(updates, DefenseConfig(distance_threshold=1e9, norm_threshold=1e12))[0]
    assert verdict.outcome is Outcome.SLASHED and "in one round" in verdict.reason


def test_sustained_evidence_slashes_by_the_window_and_not_before() -> None:
    config = DefenseConfig(distance_threshold=1e9, single_round_slash_z=1e9)
    history = DefenseHistory()
    ids = [f"n{i}" for i in range(10)]
    seen = []
    for round_ in range(config.slash_window + 1):
        updates = honest_cohort(seed=round_)
        updates[0] *= 40.0  # far outside the honest spread, every round
        verdicts = verdicts_for(updates, config, history=history, node_ids=ids)
        seen.append(verdicts[0].outcome)
        assert all(v.outcome is Outcome.ACCEPTED for v in verdicts[1:])
        history.record(ids, verdicts)
    assert seen[: config.slash_window - 1] == [Outcome.EXCLUDED] * (config.slash_window - 1)
    assert seen[config.slash_window - 1 :] == [Outcome.SLASHED] * 2


def test_an_honest_node_with_one_odd_round_is_never_slashed() -> None:
    config = DefenseConfig(distance_threshold=1e9, single_round_slash_z=1e9)
    history = DefenseHistory()
    ids = [f"n{i}" for i in range(10)]
    for round_ in range(8):
        updates = honest_cohort(seed=round_)
        if round_ == 4:
            updates[0] *= 40.0  # one odd round
        verdicts = verdicts_for(updates, config, history=history, node_ids=ids)
        assert verdicts[0].outcome is not Outcome.SLASHED
        history.record(ids, verdicts)


def test_exclusions_by_cohort_rules_never_pass_the_cap() -> None:
    updates = honest_cohort(n=20)
    updates[:2] *= 1e4  # over the brief's thresholds: always excluded, counted first against the cap
    updates[2:7] *= 8.0  # five boosted: only four fit under a cap of 6 of 20
    verdicts = verdicts_for(updates, DefenseConfig(max_exclude_fraction=0.3))
    left_out = {v.index for v in verdicts if not v.accepted}
    assert len(left_out) == 6 and left_out >= {0, 1}
    assert sum("capped at 6 of 20" in v.reason for v in verdicts) == 1


def test_cohort_rules_abstain_on_a_tiny_cohort() -> None:
    updates = honest_cohort(n=3)
    updates[0] *= 1000.0
    features = compute_features(updates, np.zeros(updates.shape[1], dtype=np.float32), DefenseConfig())
    assert "log_norm_z" not in features[0] and "quiet_energy" not in features[0]
    lenient = DefenseConfig(distance_threshold=1e9, norm_threshold=1e9)
    assert all(v.accepted for v in verdicts_for(updates, lenient))


def test_disabled_defense_accepts_everything() -> None:
    updates = honest_cohort()
    updates[0] *= 1e6
    assert all(v.accepted for v in verdicts_for(updates, DefenseConfig(enabled=False)))


def test_every_verdict_carries_its_features_and_checks() -> None:
    updates = honest_cohort()
    verdict = verdicts_for(updates, DefenseConfig(), trusted_update=updates.mean(axis=0))[0]
    assert {"model_norm", "update_norm", "log_norm_z", "quiet_energy_z", "direction_z", "evidence"} <= set(
        verdict.features
    )
    checks = signal_checks(verdict.features, DefenseConfig())
    assert {c.rule for c in checks} >= {
        "norm_threshold",
        "distance_threshold",
        "norm",
        "quiet_energy",
        "direction",
    }
    assert all(not c.tripped for c in checks)
    # signed like its exclusion threshold: the direction is suspicious below, so is its slash line
    assert all(
        c.slash_threshold == -DefenseConfig().slash_direction_z for c in checks if c.rule == "direction"
    )


def test_screening_is_deterministic_and_pure() -> None:
    updates = honest_cohort()
    history = DefenseHistory()
    history.record_one(0, Outcome.EXCLUDED, {"evidence": 5.0})
    snapshot = json.dumps({str(k): vars(v) for k, v in history.nodes.items()})
    first = verdicts_for(updates, DefenseConfig(), history=history)
    second = verdicts_for(updates.copy(), DefenseConfig(), history=history)
    assert first == second
    assert json.dumps({str(k): vars(v) for k, v in history.nodes.items()}) == snapshot


# --------------------------------------------------------------------------------- bounded influence


def test_accepted_updates_are_clipped_to_their_median_norm() -> None:
    updates = honest_cohort()
    clipped = clip_to_median_norm(updates)
    norms = np.linalg.norm(clipped, axis=1)
    assert norms.max() <= np.median(np.linalg.norm(updates, axis=1)) * (1 + 1e-5)


def test_a_claimed_sample_count_cannot_buy_the_aggregate() -> None:
    weights = bounded_weights([2**62, 100, 100, 120, 80], cap=3.0)
    assert weights[0] == 300.0 and list(weights[1:]) == [100, 100, 120, 80]
    updates = honest_cohort(n=5)
    updates[0] = updates[0] * 0 + 1.0  # the liar's update
    aggregate = aggregate_accepted(updates, [2**62, 100, 100, 120, 80], list(range(5)), DefenseConfig())
    liar_share = np.dot(aggregate, updates[0]) / np.dot(updates[0], updates[0])
    assert liar_share < 0.5


def test_aggregate_verdicts_averages_only_the_accepted() -> None:
    updates = honest_cohort()
    updates[0] *= 1e4
    plain = DefenseConfig(clip_to_median_norm=False)
    verdicts = screen_round(updates, [10] * 10, np.zeros(updates.shape[1], np.float32), plain)
    assert [v.index for v in verdicts if v.accepted] == list(range(1, 10))
    aggregated = aggregate_verdicts(updates, [10] * 10, verdicts, plain)
    np.testing.assert_allclose(aggregated, updates[1:].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_config_is_json_validated_and_reads_older_rounds() -> None:
    config = DefenseConfig(aggregator="median", exclude_z=3.5)
    assert DefenseConfig.model_validate(json.loads(config.model_dump_json())) == config
    older = DefenseConfig.model_validate({"root_alignment_min": 0.0, "use_trust_score": True})
    assert older == DefenseConfig()
    with pytest.raises(ValueError, match="unknown aggregator"):
        DefenseConfig(aggregator="mean")
    with pytest.raises(ValueError):
        DefenseConfig(norm_threshold=-1.0)
    with pytest.raises(ValueError):
        DefenseConfig(exclude_zz=1.0)  # type: ignore[call-arg]


# ----------------------------------------------------------------------- evidence across rounds excludes


def test_cusum_sums_what_exceeds_the_allowance_and_never_goes_below_zero() -> None:
    assert cusum([], 1.0) == 0.0
    assert cusum([2.0, 2.0, 2.0], 1.0) == pytest.approx(3.0)
    assert cusum([2.0, 0.0, 0.0, 0.0, 2.5], 1.0) == pytest.approx(1.5)  # honest rounds pay it back
    assert cusum([0.9] * 100, 1.0) == 0.0  # evidence under the allowance never accumulates


def _leaning_cohort(seed: int, trusted: np.ndarray, lean: float) -> np.ndarray:
    """Ten honest updates of varied alignment with the root update, and one that leans slightly against
    it: each round on its own within the honest spread's reach."""
    rng = np.random.default_rng(seed)
    unit = 10 * trusted / np.linalg.norm(trusted)
    rows = [(0.15 + 0.04 * i) * unit + 0.7 * rng.normal(size=trusted.size) for i in range(10)]
    rows.append(lean * unit + 0.7 * rng.normal(size=trusted.size))
    return np.array(rows, dtype=np.float32)


def _leaning_run(config: DefenseConfig, rounds: int = 8) -> list[UpdateVerdict]:
    trusted = np.random.default_rng(0).normal(size=200).astype(np.float32)
    history, seen = DefenseHistory(), []
    for r in range(rounds):
        updates = _leaning_cohort(r, trusted, lean=-0.05)
        verdicts = verdicts_for(updates, config, trusted_update=trusted, history=history)
        history.record(list(range(len(updates))), verdicts)
        honest = [v.reason for v in verdicts[:10] if "accumulated" in v.reason]
        assert not honest, f"round {r + 1}: an honest node left out on accumulated evidence: {honest}"
        seen.append(verdicts[10])
    return seen


def test_a_node_leaning_the_same_way_every_round_is_excluded_on_its_accumulated_evidence() -> None:
    # No single round would exclude it (its opposed-direction threshold is out of reach); its sum does.
    config = DefenseConfig(opposed_exclude_z=10.0, cusum_allowance=1.0)
    leaning = _leaning_run(config)
    assert leaning[0].outcome is Outcome.ACCEPTED
    caught = [v for v in leaning if not v.accepted]
    assert caught, [v.features["cusum_direction"] for v in leaning]
    first = caught[0]
    assert (first.outcome, first.rule) == (Outcome.EXCLUDED, "direction")
    assert "accumulated" in first.reason
    assert first.features["cusum_direction"] > config.cusum_exclude
    # the same node, with accumulation out of reach, is never left out: the sum did it
    unbounded = _leaning_run(config.model_copy(update={"cusum_exclude": 1e9}))
    assert all(v.accepted for v in unbounded)
