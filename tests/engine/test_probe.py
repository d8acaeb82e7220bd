"""The attack probe: it closes the round the launch would produce, reports every threshold, and is fast."""

from __future__ import annotations

import pytest
import torch

from backend.engine.probe import (
    SUSTAINED_ROUNDS,
    attacked_updates,
    launched_outcome,
    measure_probe_latency,
    probe_attack,
    probe_dataset,
    probe_setup,
)
from backend.engine.rounds import screen_cohort
from backend.engine.shield import DefenseConfig, DefenseHistory, Outcome, UpdateVerdict
from workers.attacks import AttackConfig


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("attack", "rule"),
    [
        (AttackConfig(kind="sign_flip", scale=4.0), "norm"),
        (AttackConfig(kind="gaussian", sigma=1.0), "norm"),
        (AttackConfig(kind="label_flip"), "direction"),
        (AttackConfig(kind="free_rider"), "free_riding"),
    ],
)
def test_probe_predicts_the_outcome_and_names_the_rule(attack: AttackConfig, rule: str) -> None:
    result = probe_dataset("digits", attack)
    assert result.outcome is not Outcome.ACCEPTED and result.rule is not None
    tripped = [c for c in result.checks if c.tripped]
    assert tripped and rule in {c.rule for c in tripped}
    assert {c.feature for c in result.checks} <= set(result.features)


def test_a_free_rider_is_excluded_never_slashed() -> None:
    result = probe_dataset("digits", AttackConfig(kind="free_rider"))
    assert result.outcome is Outcome.EXCLUDED and result.first_round is Outcome.EXCLUDED


def test_probe_accepts_an_honest_node_and_reports_every_threshold() -> None:
    result = probe_dataset("digits", AttackConfig())
    assert result.outcome is Outcome.ACCEPTED and result.rule is None
    rules = {c.rule for c in result.checks}
    assert {"norm_threshold", "distance_threshold", "norm", "quiet_energy", "direction"} <= rules
    assert all(c["outcome"] in ("excluded", "slashed") for c in result.to_dict()["checks"])  # type: ignore[attr-defined]


def test_probe_respects_the_attack_start_round_and_the_config() -> None:
    reference = probe_setup("digits")
    late = AttackConfig(kind="sign_flip", scale=4.0, start_round=5)
    early = probe_attack(reference, late, round_idx=2)
    assert early.outcome is Outcome.ACCEPTED and not early.attack_active
    blind = DefenseConfig(use_norm_mad=False, use_root_alignment=False, use_cosine_trusted=False)
    result = probe_attack(reference, late, blind)
    assert result.rule not in ("norm", "direction")


def test_a_sustained_gross_attack_is_predicted_slashed() -> None:
    result = probe_dataset("digits", AttackConfig(kind="gaussian", sigma=1.0))
    assert result.outcome is Outcome.SLASHED


@pytest.mark.parametrize(
    "attack",
    [AttackConfig(kind="sign_flip", scale=2.0), AttackConfig(kind="label_flip"), AttackConfig(kind="alie")],
)
def test_probe_gives_the_verdicts_of_the_cohort_screened_whole(attack: AttackConfig) -> None:
    """The probe reuses the honest rows' root-set logits and screens the cohort once for two histories;
    the round it predicts must be the one the engine closes on the same updates, float for float."""
    reference = probe_setup("digits")
    attackers = [reference.num_nodes - 2, reference.num_nodes - 1]
    updates = reference.honest.copy()
    updates[attackers] = attacked_updates(reference, attack, attackers, omniscient=False)
    counts = [len(y) for _, y in reference.nodes]
    ids = list(range(reference.num_nodes))

    def screened(history: DefenseHistory | None) -> list[UpdateVerdict]:
        return screen_cohort(
            reference.setup, reference.global_weights, reference.round, updates, counts, ids, history
        )

    first = screened(None)
    # A launch, round after round against the rounds before; the verdict of the outcome it settles on.
    history, launched = DefenseHistory(), []
    for _ in range(SUSTAINED_ROUNDS):
        judged = screened(history)
        history.record(ids, judged)
        launched.append(judged[attackers[0]])
    outcome = launched_outcome([v.outcome for v in launched], reference.setup.defense.slash_window)
    sustained = next(v for v in reversed(launched) if v.outcome is outcome)

    result = probe_attack(reference, attack, num_attackers=len(attackers))

    assert result.first_round is first[attackers[0]].outcome
    assert (result.outcome, result.rule, result.features) == (
        sustained.outcome,
        sustained.rule,
        sustained.features,
    )


def test_probe_latency_is_well_under_100_ms_on_digits() -> None:
    report = measure_probe_latency("digits", repeats=3)
    assert report.samples == 27
    assert report.p50_ms < 100.0, report
