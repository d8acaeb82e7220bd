"""The shield's verdicts: each of a round's updates accepted, excluded or slashed, and why.

Exclusion. An update past any signal's exclusion threshold (``backend.engine.shield.signals``) is left
out, as is one past the brief's absolute bounds. Cohort-relative rules abstain below ``min_cohort``
updates and never exclude more than ``max_exclude_fraction`` of the cohort (the most suspicious go first);
without an honest majority robust statistics cannot separate, and we accept rather than guess. A node
whose evidence accumulated over rounds (``backend.engine.shield.history``) passes ``cusum_exclude`` is
left out too, within the same cap.

Slashing needs evidence accumulated over rounds, the way sequential tests accumulate likelihood [Page,
1954, CUSUM]. A node is slashed in a round when that round excludes it *and*, for some signal, the mean of
its evidence over the node's last ``slash_window`` rounds passes that signal's slash threshold
(``slash_norm_z``, ...), each set at 1.25x or more the largest window mean any honest node reached on the
honest grid of ``fedshield bench defense``; or, in a single round, when the evidence passes
``single_round_slash_z``. With small-batch training an attacker's single round can overlap the honest
range while its mean over rounds stands well apart; an honest node's odd round regresses to the mean. A
free rider's small norm and an update's closeness to noise only exclude: neither proves an attack.

Every verdict carries every feature computed, the rule that decided it and the number against its
threshold. ``screen_round`` is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Unpack

import numpy as np

from backend.engine.shield.config import DefenseConfig, Outcome
from backend.engine.shield.features import FloatArray, ScreeningInputs, feature_columns, feature_rows
from backend.engine.shield.history import DefenseHistory, accumulated_evidence
from backend.engine.shield.signals import SIGNALS, CohortChecks, Signal, SignalCheck, cohort_checks


@dataclass(frozen=True)
class UpdateVerdict:
    """The shield's decision on one update, with everything needed to explain it."""

    index: int  # position of the update in the round's cohort
    outcome: Outcome
    rule: str | None  # the rule that decided an exclusion or slash; None when accepted
    reason: str  # human text, e.g. "root alignment z -7.31 below -4.00"
    features: dict[str, float]  # every feature computed for this update

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED


def screen_round(
    updates: FloatArray,
    num_samples: Sequence[int],
    global_weights: FloatArray,
    config: DefenseConfig,
    *,
    history: DefenseHistory | None = None,
    node_ids: Sequence[Hashable] | None = None,
    **inputs: Unpack[ScreeningInputs],
) -> list[UpdateVerdict]:
    """One verdict per update of the round, in order. Pure: reads ``history``, never writes it.

    ``updates`` is the ``(n, d)`` stack of flattened ``Δ``; ``node_ids`` name the rows for ``history``
    (default: the row indices).
    """
    screened = screen_cohort_features(updates, num_samples, global_weights, config, **inputs)
    return judge_round(screened, history, node_ids)


@dataclass(frozen=True)
class ScreenedCohort:
    """Everything a round's verdicts need that does not depend on the nodes' history: each update's
    features, its cohort checks and the set left out of the aggregate. ``judge_round`` turns it into
    verdicts against a history, so a caller judging one cohort against several histories (the Attack
    Lab's probe: a first attacking round, then a sustained one) computes the cohort statistics once."""

    config: DefenseConfig
    features: list[dict[str, float]]
    cohort: CohortChecks | None  # None with the defense disabled
    excluded: frozenset[int]


def screen_cohort_features(
    updates: FloatArray,
    num_samples: Sequence[int],
    global_weights: FloatArray,
    config: DefenseConfig,
    **inputs: Unpack[ScreeningInputs],
) -> ScreenedCohort:
    """The history-free half of ``screen_round``: the cohort's features, checks and exclusions."""
    n = updates.shape[0]
    if updates.ndim != 2 or global_weights.shape != (updates.shape[1],):
        raise ValueError(f"updates {updates.shape} and global weights {global_weights.shape} disagree")
    if len(num_samples) != n:
        raise ValueError(f"{len(num_samples)} sample counts for {n} updates")
    columns = feature_columns(updates, global_weights, config, **inputs)
    if not config.enabled:
        return ScreenedCohort(config, feature_rows(columns), None, frozenset())
    cohort = cohort_checks(columns, config)
    features = feature_rows(columns | {f"evidence_{k}": v for k, v in cohort.evidence.items()}
                     | {"evidence": cohort.strongest_evidence, "exclusion": cohort.exclusion})  # fmt: skip
    return ScreenedCohort(config, features, cohort, frozenset(_excluded(cohort, config)))


def judge_round(
    screened: ScreenedCohort,
    history: DefenseHistory | None = None,
    node_ids: Sequence[Hashable] | None = None,
) -> list[UpdateVerdict]:
    """One verdict per screened update, in order, against ``history`` (read, never written);
    ``node_ids`` name the rows for ``history`` (default: the row indices).

    Beside the round's own exclusions, a node whose accumulated evidence (``accumulated_evidence``) passes
    ``cusum_exclude`` is left out, the most accumulated first, within the same cap on exclusions."""
    config, features, cohort = screened.config, screened.features, screened.cohort
    n = len(features)
    if cohort is None:
        return [UpdateVerdict(i, Outcome.ACCEPTED, None, "defense disabled", features[i]) for i in range(n)]
    ids: Sequence[Hashable] = list(range(n)) if node_ids is None else node_ids
    pasts = [history.evidence_of(ids[i]) if history is not None else {} for i in range(n)]
    # Copies: the verdicts add this history's sums and means, and the cohort may be judged again.
    rows = [dict(f) for f in features]
    sums = [accumulated_evidence(rows[i], pasts[i], config) for i in range(n)]
    for row, accumulated in zip(rows, sums, strict=True):
        row.update({f"cusum_{name}": value for name, value in accumulated.items()})
    excluded = set(screened.excluded)
    room = max(int(np.floor(config.max_exclude_fraction * n)) - len(excluded), 0)
    leaning = [
        i for i in range(n) if i not in excluded and max(sums[i].values(), default=0.0) > config.cusum_exclude
    ]
    leaning.sort(key=lambda i: (-max(sums[i].values()), i))
    sustained = set(leaning[:room])
    verdicts = []
    for i in range(n):
        checks = cohort.checks_of(i) if cohort.tripped[i] else []  # the reasons, where any
        if i in sustained:
            checks = [*checks, _sustained_check(sums[i], config)]
        left_out, slashed = i in excluded or i in sustained, bool(cohort.slashed[i])
        verdicts.append(_verdict(i, rows[i], checks, left_out, slashed, pasts[i], config, n, len(excluded)))
    return verdicts


def _sustained_check(sums: dict[str, float], config: DefenseConfig) -> SignalCheck:
    """The check that left a node out on its accumulated evidence: the signal with the largest sum."""
    name, value = max(sums.items(), key=lambda item: item[1])
    signal = next(s for s in SIGNALS if s.name == name)
    return SignalCheck(
        name, f"cusum_{name}", value, config.cusum_exclude,
        None if signal.slash_limit is None else signal.slash_limit(config), "max", True,
        Outcome.EXCLUDED, config.exclude_z * value / config.cusum_exclude,
        f"{signal.label} evidence accumulated to {value:.1f} over rounds, above {config.cusum_exclude:.1f}",
    )  # fmt: skip


def _excluded(cohort: CohortChecks, config: DefenseConfig) -> set[int]:
    """Indices to leave out: the brief's checks always; cohort rules up to the cap, most suspicious first."""
    n = len(cohort.exclusion)
    absolute = {int(i) for i in np.flatnonzero(cohort.absolute)}
    flagged = [int(i) for i in np.flatnonzero((cohort.exclusion > config.exclude_z) & ~cohort.absolute)]
    room = max(int(np.floor(config.max_exclude_fraction * n)) - len(absolute), 0)
    flagged.sort(key=lambda i: (-cohort.exclusion[i], i))
    return absolute | set(flagged[:room])


def _verdict(
    index: int,
    features: dict[str, float],
    checks: list[SignalCheck],
    excluded: bool,
    slashed_in_one_round: bool,  # its evidence passes ``single_round_slash_z``
    past_evidence: dict[str, list[float]],
    config: DefenseConfig,
    n: int,
    num_excluded: int,
) -> UpdateVerdict:
    tripped = sorted((c for c in checks if c.tripped), key=lambda c: -c.suspicion)
    sustained: list[tuple[float, float, Signal, float]] = []  # (mean / threshold, mean, signal, threshold)
    for signal in SIGNALS:
        if signal.slash_limit is None or f"evidence_{signal.name}" not in features:
            continue
        window = [*past_evidence.get(signal.name, []), features[f"evidence_{signal.name}"]]
        window = window[-config.slash_window :]
        mean = window[0] if len(window) == 1 else float(np.mean(window))  # np.mean of one value is that value
        limit = signal.slash_limit(config)
        features[f"evidence_{signal.name}_mean"] = mean
        if len(window) >= config.slash_window and mean > limit:
            sustained.append((mean / limit, mean, signal, limit))
    if not excluded:
        if tripped:
            first = tripped[0]
            reason = (
                f"accepted although {first.rule} flagged it ({first.reason}): "
                f"exclusions capped at {num_excluded} of {n}"
            )
            return UpdateVerdict(index, Outcome.ACCEPTED, None, reason, features)
        return UpdateVerdict(index, Outcome.ACCEPTED, None, "within every threshold", features)
    first = tripped[0]
    if slashed_in_one_round:
        reason = (
            f"{first.reason}; evidence {features['evidence']:.1f} beyond "
            f"{config.single_round_slash_z:.1f} in one round"
        )
        return UpdateVerdict(index, Outcome.SLASHED, first.rule, reason, features)
    if sustained:
        _, mean, signal, limit = max(sustained, key=lambda item: item[0])
        reason = (
            f"{first.reason}; {signal.label} evidence {mean:.1f} on average over the last "
            f"{config.slash_window} rounds, above {limit:.1f}"
        )
        return UpdateVerdict(index, Outcome.SLASHED, signal.name, reason, features)
    return UpdateVerdict(
        index, Outcome.EXCLUDED, first.rule, f"{first.reason}: left out, not slashed", features
    )
