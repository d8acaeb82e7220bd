"""The attack probe: right verdicts, every threshold reported, and fast enough for a live gauge."""

from __future__ import annotations

import pytest
import torch

from backend.detection import DefenseConfig
from backend.probe import measure_probe_latency, probe_attack, probe_dataset, probe_setup
from workers.attacks import AttackConfig


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("attack", "rule"),
    [
        (AttackConfig(kind="sign_flip", scale=4.0), "root_alignment"),
        (AttackConfig(kind="gaussian", norm_matched=True), "quiet_energy"),
        (AttackConfig(kind="gaussian", sigma=1.0), "norm_mad"),
        (AttackConfig(kind="label_flip"), "root_alignment"),
    ],
)
def test_probe_predicts_the_rejection_and_names_the_rule(attack: AttackConfig, rule: str) -> None:
    result = probe_dataset("digits", attack)
    assert (result.accepted, result.rule) == (False, rule)
    tripped = [c for c in result.checks if c.tripped]
    assert tripped and tripped[0].rule == rule
    assert {c.feature for c in result.checks} <= set(result.features)


def test_probe_accepts_an_honest_update_and_reports_every_threshold() -> None:
    result = probe_dataset("digits", AttackConfig())
    assert result.accepted and result.rule is None
    rules = {c.rule for c in result.checks}
    assert {"norm_threshold", "distance_threshold", "norm_mad", "quiet_energy", "root_alignment"} <= rules
    assert result.to_dict()["checks"]


def test_probe_respects_the_attack_start_round_and_the_config() -> None:
    setup = probe_setup("digits")
    late = AttackConfig(kind="sign_flip", scale=4.0, start_round=5)
    early = probe_attack(setup.spec, setup.global_weights, late, setup.attacker, setup.reference, round_idx=2)
    assert early.accepted and not early.attack_active
    lenient = DefenseConfig(use_root_alignment=False, use_cosine_trusted=False, use_cosine_reference=False)
    result = probe_attack(setup.spec, setup.global_weights, late, setup.attacker, setup.reference, lenient)
    assert result.rule != "root_alignment"


def test_probe_builds_its_own_cohort_when_none_is_given() -> None:
    setup = probe_setup("digits")
    result = probe_attack(setup.spec, setup.global_weights, AttackConfig(kind="sign_flip"), setup.attacker)
    assert not result.accepted


def test_probe_latency_is_well_under_100_ms_on_digits() -> None:
    report = measure_probe_latency("digits", repeats=10)
    assert report.samples == 40
    assert report.p50_ms < 100.0, report
