"""The batched screening path against a straightforward reference, on a real cohort.

The reference is the textbook form: the whole matrix cast to float64, ``np.median`` over it, one forward
pass per model. The batched path must give the same features (to ~1e-9 relative, bit for bit where only
blocks change), the same logits to float32 rounding, and the same verdicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch.func import functional_call

from backend.engine import cohort_logits, cohort_stats
from backend.engine.rounds import Candidate, RootSignals, decode_cohort, model_logits, root_signals
from backend.engine.shield import (
    DefenseConfig,
    RootEvidence,
    aggregate_accepted,
    cohort_checks,
    compute_features,
    evidence_scores,
    exclusion_score,
    feature_columns,
    screen_round,
    signal_checks,
)
from backend.engine.simulation import ExperimentConfig, SimulationState, collect_submissions, prepare
from tests.support.torch_threads import one_torch_thread
from workers.attacks import AttackConfig
from workers.models import ModelSpec, build_model
from workers.tensors import Weights, flatten, state_of


@dataclass(frozen=True)
class RealCohort:
    state: SimulationState
    updates: np.ndarray
    counts: list[int]
    signals: RootSignals

    @property
    def weights(self) -> Weights:
        return self.state.template


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Torch on one thread: on two shared cores, two threads wait on each other far longer than they gain."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def cohort() -> RealCohort:
    """One real digits round: 12 honest trainings and 4 sign-flipping attackers, with its root signals."""
    config = ExperimentConfig(
        dataset="digits",
        num_nodes=16,
        malicious_indices=(0, 5, 9, 14),
        attack=AttackConfig(kind="sign_flip"),
        rounds=1,
    )
    state = prepare(config)
    submissions = collect_submissions(state)
    candidates = [Candidate(s.node_id, s.payload, s.num_samples) for s in submissions]
    updates = decode_cohort(state.template, candidates)
    signals = root_signals(state.setup, state.template, 1, updates)
    assert signals is not None
    return RealCohort(state, updates, [s.num_samples for s in submissions], signals)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows, columns and models, so every multi-block path runs."""
    monkeypatch.setattr(cohort_stats, "ROW_BLOCK", 3 * 5450)
    monkeypatch.setattr(cohort_stats, "COLUMN_BLOCK", 16 * 100)
    monkeypatch.setattr(cohort_logits, "ACTIVATION_BUDGET", 3 * 100 * 2048)


def reference_features(
    updates: np.ndarray, global_weights: np.ndarray, trusted: np.ndarray | None, quiet_fraction: float
) -> dict[str, np.ndarray]:
    """The raw features in their plainest form: whole float64 matrix, np.median, one row at a time."""
    x = updates.astype(np.float64)
    norms = np.array([np.sqrt(np.sum(row * row)) for row in x])
    typical = np.median(np.abs(x), axis=0)
    quiet = typical <= np.quantile(typical, quiet_fraction)
    direction = trusted.astype(np.float64) if trusted is not None else np.median(x, axis=0)
    return {
        "update_norm": norms,
        "model_norm": np.array([np.sqrt(np.sum((row + global_weights) ** 2)) for row in x]),
        "quiet_energy": np.array([np.sum(row[quiet] ** 2) / np.sum(row**2) for row in x]) / quiet.mean(),
        "gaussianity": np.array(
            [np.abs(row).sum() / (np.sqrt(len(row)) * np.sqrt(np.sum(row * row))) for row in x]
        )
        / np.sqrt(2 / np.pi),
        "cosine_trusted" if trusted is not None else "cosine_reference": np.array(
            [row @ direction / (np.linalg.norm(row) * np.linalg.norm(direction)) for row in x]
        ),
    }


@pytest.mark.parametrize("with_trusted", [True, False], ids=["trusted", "median"])
@pytest.mark.usefixtures("small_blocks")
def test_features_and_verdicts_match_the_reference(cohort: RealCohort, with_trusted: bool) -> None:
    updates, g, config = cohort.updates, flatten(cohort.weights), DefenseConfig()
    trusted = cohort.signals.trusted if with_trusted else None
    evidence = cohort.signals.evidence
    features = compute_features(updates, g, config, trusted_update=trusted, root_evidence=evidence)
    expected = reference_features(updates, g.astype(np.float64), trusted, config.quiet_fraction)
    for name, values in expected.items():
        got = np.array([f[name] for f in features])
        np.testing.assert_allclose(got, values, rtol=1e-9, err_msg=name)

    verdicts = screen_round(updates, cohort.counts, g, config, trusted_update=trusted, root_evidence=evidence)
    whole = screen_round(
        updates, cohort.counts, g, config, trusted_update=trusted, root_evidence=one_model_at_a_time(cohort)
    )
    assert [v.outcome for v in verdicts] == [v.outcome for v in whole]
    assert [v.rule for v in verdicts] == [v.rule for v in whole]
    assert [i for i, v in enumerate(verdicts) if not v.accepted] == sorted(cohort.state.malicious)
    for a, b in zip(verdicts, whole, strict=True):
        for name in a.features:
            assert a.features[name] == pytest.approx(b.features[name], rel=1e-4, abs=1e-6), name


def one_model_at_a_time(cohort: RealCohort) -> RootEvidence:
    """The root evidence from one plain forward pass per model."""
    setup, base = cohort.state.setup, flatten(cohort.weights)
    assert setup.root is not None
    root_x, root_y = setup.root
    logits = [one_forward(setup.spec, cohort.weights, base + row, root_x) for row in cohort.updates]
    return RootEvidence(root_y, one_forward(setup.spec, cohort.weights, base, root_x), np.stack(logits))


def one_forward(spec: ModelSpec, template: Weights, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The plain forward pass of one flattened model."""
    model = build_model(spec, seed=0).eval()
    params, start = {}, 0
    for name in sorted(template):
        size = template[name].numel()
        params[name] = torch.from_numpy(np.ascontiguousarray(flat[start : start + size])).reshape(
            template[name].shape
        )
        start += size
    with torch.no_grad():
        out: torch.Tensor = functional_call(model, params, (torch.from_numpy(x.astype(np.float32)),))
    return out.numpy()


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("cnn", (1, 8, 8), 10, (32,)),  # digits
        ModelSpec("cnn", (1, 28, 28), 10, (4, 8)),  # two blocks: the second convolves per-model maps
        ModelSpec("cnn", (3, 9, 9), 4, (5, 6)),  # odd sides: pooling crops
        ModelSpec("mlp", (30,), 2, (64, 32)),
    ],
    ids=["digits-cnn", "two-block-cnn", "odd-cnn", "mlp"],
)
@pytest.mark.usefixtures("small_blocks")
def test_batched_logits_match_one_forward_pass_per_model(spec: ModelSpec) -> None:
    rng = np.random.default_rng(3)
    template = state_of(build_model(spec, seed=1))
    base = flatten(template)
    updates = (0.05 * rng.normal(size=(7, base.size))).astype(np.float32)
    x = rng.normal(size=(11, *spec.input_shape)).astype(np.float32)
    batched = model_logits(spec, template, updates, x, base=base)
    expected = np.stack([one_forward(spec, template, base + row, x) for row in updates])
    np.testing.assert_allclose(batched, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("n", [9, 10], ids=["odd", "even"])
@pytest.mark.usefixtures("small_blocks")
def test_block_statistics_equal_numpy_on_the_whole_matrix(n: int) -> None:
    rng = np.random.default_rng(n)
    updates = rng.standard_t(3, size=(n, 5450)).astype(np.float32)
    whole = updates.astype(np.float64)
    assert np.array_equal(
        cohort_stats.column_medians(updates, absolute=True), np.median(np.abs(whole), axis=0)
    )
    assert np.array_equal(cohort_stats.column_medians(updates), np.median(whole, axis=0))
    offset = rng.normal(size=5450).astype(np.float32)
    stats = cohort_stats.row_statistics(updates, offset=offset)
    assert np.array_equal(stats.norm, np.linalg.norm(whole, axis=1))
    assert np.array_equal(stats.l1, np.abs(whole).sum(axis=1))
    assert np.array_equal(stats.shifted_norm, np.linalg.norm(whole + offset.astype(np.float64), axis=1))  # type: ignore[arg-type]


@pytest.mark.usefixtures("small_blocks")
def test_aggregate_matches_clipped_fedavg_on_the_whole_matrix(cohort: RealCohort) -> None:
    updates, config = cohort.updates, DefenseConfig()
    accepted = [i for i in range(len(updates)) if i not in cohort.state.malicious]
    x = updates[accepted].astype(np.float64)
    norms = np.linalg.norm(x, axis=1)
    bound = config.clip_multiple * np.median(norms)
    clipped = (x * np.minimum(1.0, bound / norms)[:, None]).astype(np.float32).astype(np.float64)
    counts = np.array([cohort.counts[i] for i in accepted], dtype=np.float64)
    weights = np.minimum(counts, config.sample_weight_cap * np.median(counts))
    expected = (weights / weights.sum()) @ clipped
    got = aggregate_accepted(updates, cohort.counts, accepted, config)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7 * np.abs(expected).max())


@pytest.mark.parametrize("min_cohort", [5, 100], ids=["cohort-rules", "absolute-only"])
def test_cohort_checks_equal_the_per_update_checks(cohort: RealCohort, min_cohort: int) -> None:
    updates, g = cohort.updates, flatten(cohort.weights)
    median_norm = float(np.median(np.linalg.norm(updates, axis=1)))
    config = DefenseConfig(
        min_cohort=min_cohort, distance_threshold=median_norm
    )  # the brief's bound trips too
    columns = feature_columns(
        updates, g, config, trusted_update=cohort.signals.trusted, root_evidence=cohort.signals.evidence
    )
    checks = cohort_checks(columns, config)
    for i, features in enumerate(compute_features(
        updates, g, config, trusted_update=cohort.signals.trusted, root_evidence=cohort.signals.evidence
    )):  # fmt: skip
        one = signal_checks(features, config)
        scores = evidence_scores(features, config)
        assert {k: float(v[i]) for k, v in checks.evidence.items()} == scores
        assert float(checks.strongest_evidence[i]) == max(scores.values())
        assert float(checks.exclusion[i]) == exclusion_score(one)
        assert bool(checks.tripped[i]) == any(c.tripped for c in one)
    assert checks.tripped.any() and not checks.tripped.all()
