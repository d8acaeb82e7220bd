"""The shield's rules: each signal's z-score against its thresholds, for the whole cohort at once.

Each signal measures one feature per update (``backend.engine.shield.features``) and decides against what
this round's updates look like: the robust z-score ``(x - median) / max(1.4826 * MAD, floor)`` over the
cohort [Rousseeuw & Croux, 1993], the MAD taken over the unsuspicious half for a one-sided signal, so a rule
holds as the model converges and signals shrink, and whatever local training the experiment runs.

- ``norm`` / ``free_riding``: ``log ‖Δ‖`` against what the node's local work predicts; above, boosted or
  noisy updates [Yin et al., 2018]; far below (``free_rider_z``), a free rider's near-empty update, which
  only excludes.
- ``quiet_energy``: energy on the coordinates the cohort leaves quiet [Aji & Heafield, 2017].
- ``gaussianity``: closeness to noise [Hoyer, 2004]; it only excludes, and abstains for a cohort whose
  updates are not sparser than noise (Adam's).
- ``direction``: the direction on the root set [Cao et al., NDSS 2021; Xie et al., ICML 2019]. An update
  whose raw direction is negative opposes the root set and is excluded at ``opposed_exclude_z``.

Each signal that indicates an attack (a large norm, energy on quiet coordinates, a direction that opposes
the root set) yields this round's *evidence*, its z on the suspicious side, which the verdicts accumulate
over rounds (``backend.engine.shield.verdicts``); a free rider's small norm and an update's closeness to
noise only exclude: neither proves an attack.

``cohort_checks`` is the one place the rules are written: every check of every update as array
operations, kept column by column (``CheckColumn``) so that one update's ``SignalCheck`` list, reasons
included, is read off the same arrays that decided (``CohortChecks.checks_of``). ``signal_checks`` runs the
same code on one update's features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from backend.engine.shield.config import DefenseConfig, Outcome


@dataclass(frozen=True)
class Signal:
    """A calibrated rule: a feature, its robust z-score against the cohort, the side that is suspicious, and
    its thresholds, each read from the typed ``DefenseConfig``."""

    name: str  # the rule's name in verdicts
    feature: str  # the raw feature, a key of UpdateVerdict.features
    label: str  # how a reason names it
    side: Literal["high", "low"]  # which side of the cohort is suspicious
    enabled: Callable[[DefenseConfig], bool]  # whether the configuration applies it
    exclude_limit: Callable[[DefenseConfig], float]  # its exclusion threshold, in z units
    # Its slash threshold on the mean evidence over the slash window; None: the signal only excludes.
    slash_limit: Callable[[DefenseConfig], float] | None
    # The exclusion threshold for an update whose raw feature (``<feature>_raw``) is negative, one that
    # opposes the root set; such an update's evidence alone counts. None: no such distinction.
    opposed_limit: Callable[[DefenseConfig], float] | None = None
    # Whether its evidence accumulates across rounds into an exclusion (``accumulated_evidence``). Not the
    # norm's: an honest node with more data than the cohort stays above the line round after round.
    accumulates: bool = True

    @property
    def slashes(self) -> bool:
        """Whether its evidence can slash (and is recorded, ``evidence_<name>``)."""
        return self.slash_limit is not None


SIGNALS: tuple[Signal, ...] = (  # in order of precedence when two are equally far out
    Signal(
        "norm", "log_norm", "update norm", "high", enabled=lambda c: c.use_norm_mad,
        exclude_limit=lambda c: c.exclude_z, slash_limit=lambda c: c.slash_norm_z, accumulates=False,
    ),
    Signal(
        "free_riding", "log_norm", "update norm", "low", enabled=lambda c: c.use_norm_mad,
        exclude_limit=lambda c: c.free_rider_z, slash_limit=None,
    ),
    Signal(
        "quiet_energy", "quiet_energy", "quiet-coordinate energy", "high",
        enabled=lambda c: c.use_quiet_energy, exclude_limit=lambda c: c.exclude_z,
        slash_limit=lambda c: c.slash_quiet_energy_z,
    ),
    Signal(
        "gaussianity", "noise_likeness", "closeness to noise", "high", enabled=lambda c: c.use_gaussianity,
        exclude_limit=lambda c: c.exclude_z, slash_limit=None,
    ),
    Signal(
        # Always applied where measured: ``feature_columns`` switches its parts one by one.
        "direction", "direction", "direction on the root set", "low", enabled=lambda c: True,
        exclude_limit=lambda c: c.exclude_z, slash_limit=lambda c: c.slash_direction_z,
        opposed_limit=lambda c: c.opposed_exclude_z,
    ),
    Signal(
        # Only excludes: a copy adds nothing to the aggregate, yet two honest nodes holding the same data
        # and training full-batch could send the same update.
        "copy", "copy_likeness", "closeness to another node's update", "high", enabled=lambda c: c.use_copy,
        exclude_limit=lambda c: c.exclude_z, slash_limit=None,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class AbsoluteCheck:
    """One of the product brief's absolute bounds on a raw feature: tripping it always excludes."""

    rule: str
    feature: str  # the raw feature bounded
    label: str  # how a reason names it
    enabled: Callable[[DefenseConfig], bool]
    limit: Callable[[DefenseConfig], float]


ABSOLUTE_CHECKS = (
    AbsoluteCheck("norm_threshold", "model_norm", "model norm",
                  lambda c: c.use_norm_threshold, lambda c: c.norm_threshold),
    AbsoluteCheck("distance_threshold", "update_norm", "distance",
                  lambda c: c.use_distance_threshold, lambda c: c.distance_threshold),
)  # fmt: skip
_ABSOLUTE = frozenset(check.rule for check in ABSOLUTE_CHECKS)


@dataclass(frozen=True)
class SignalCheck:
    """One signal's test on one update: its z-score against the exclusion and slash thresholds."""

    rule: str
    feature: str  # the z feature tested
    value: float  # the z-score
    threshold: float  # the exclusion threshold on the suspicious side (signed: -4.0 for a low side)
    slash_threshold: float | None  # the mean-evidence threshold for a slash; None: never slash evidence
    bound: Literal["max", "min"]
    tripped: bool  # past the exclusion threshold
    outcome: Outcome  # what tripping it leads to on its own in one round: excluded, or slashed
    suspicion: float  # how far on the suspicious side, in units of the exclusion threshold
    reason: str


@dataclass(frozen=True)
class CheckColumn:
    """One check over the whole cohort: what its ``SignalCheck`` holds for every update, each ``(n,)``."""

    rule: str
    feature: str  # the feature tested: a z-score, or for the brief's bounds a raw norm
    label: str  # how a reason names it
    low: bool  # suspicious below (a "min" bound)
    absolute: bool  # one of the brief's absolute bounds (its value is no z-score)
    value: NDArray[np.float64]  # the tested value
    limit: NDArray[np.float64]  # the exclusion threshold, as a distance on the suspicious side
    slash_limit: float | None  # the mean-evidence slash threshold, unsigned; None: never slash evidence
    tripped: NDArray[np.bool_]  # past the exclusion threshold
    slashes: NDArray[np.bool_]  # this round's evidence alone slashes (``single_round_slash_z``)
    suspicion: NDArray[np.float64]  # how far on the suspicious side, in units of the exclusion threshold

    def check(self, i: int) -> SignalCheck:
        """Update ``i``'s check, with its reason."""
        value, limit = float(self.value[i]), float(self.limit[i])
        threshold = -limit if self.low else limit  # signed, on the suspicious side
        # The slash line is signed like the exclusion threshold, so a gauge draws both on the same side.
        slash = None if self.slash_limit is None else (-self.slash_limit if self.low else self.slash_limit)
        reason = (
            f"{self.label}{'' if self.absolute else ' z'} {value:.2f} "
            f"{'below' if self.low else 'above'} {threshold:.2f}"
        )
        return SignalCheck(
            self.rule, self.feature, value, threshold, slash, "min" if self.low else "max",
            bool(self.tripped[i]), Outcome.SLASHED if self.slashes[i] else Outcome.EXCLUDED,
            float(self.suspicion[i]), reason,
        )  # fmt: skip


@dataclass(frozen=True)
class CohortChecks:
    """Every check of every update of the cohort, and what the verdicts read of them, each ``(n,)``."""

    columns: tuple[CheckColumn, ...]  # every enabled check, in order: the brief's bounds, then the signals
    evidence: dict[str, NDArray[np.float64]]  # per slashing signal: this round's evidence
    strongest_evidence: NDArray[np.float64]  # the largest of them
    exclusion: NDArray[np.float64]  # ``exclusion_score``: the most suspicious signal, in exclusion units
    tripped: NDArray[np.bool_]  # any check past its exclusion threshold
    absolute: NDArray[np.bool_]  # one of the brief's absolute checks tripped
    slashed: NDArray[np.bool_]  # some signal's evidence alone slashes this round (``single_round_slash_z``)

    def checks_of(self, i: int) -> list[SignalCheck]:
        """Update ``i``'s checks, in order, each with its reason."""
        return [column.check(i) for column in self.columns]


def cohort_checks(columns: dict[str, NDArray[np.float64]], config: DefenseConfig) -> CohortChecks:
    """Every update's checks as array operations: ``columns`` are ``feature_columns``' (or one update's
    features, each a one-element array: ``signal_checks``)."""
    n = len(columns["update_norm"])
    checks: list[CheckColumn] = []
    never = np.zeros(n, dtype=np.bool_)
    for bound in ABSOLUTE_CHECKS:
        if bound.enabled(config):
            value, limit = columns[bound.feature], np.full(n, bound.limit(config))
            tripped = value > limit
            checks.append(
                CheckColumn(
                    bound.rule,
                    bound.feature,
                    bound.label,
                    low=False,
                    absolute=True,
                    value=value,
                    limit=limit,
                    slash_limit=None,
                    tripped=tripped,
                    slashes=never,
                    suspicion=np.where(tripped, np.inf, 0.0),
                )
            )
    evidence = {s.name: np.zeros(n) for s in SIGNALS if s.slashes}
    for signal in SIGNALS:
        if f"{signal.feature}_z" not in columns or not signal.enabled(config):
            continue
        z = columns[f"{signal.feature}_z"]
        suspicion = _suspicions(z, signal.side)
        limit = np.full(n, signal.exclude_limit(config))
        opposed = None
        if signal.opposed_limit is not None:
            opposed = columns[f"{signal.feature}_raw"] < 0
            limit[opposed] = signal.opposed_limit(config)
        over = suspicion > limit
        scaled = suspicion * config.exclude_z / limit  # in the exclusion threshold's units, to rank
        slash_limit: float | None = None
        slashes = never
        if signal.slash_limit is not None:
            slash_limit = signal.slash_limit(config)
            evidence[signal.name] = suspicion if opposed is None else np.where(opposed, suspicion, 0.0)
            slashes = evidence[signal.name] > config.single_round_slash_z
        checks.append(
            CheckColumn(
                signal.name,
                f"{signal.feature}_z",
                signal.label,
                low=signal.side == "low",
                absolute=False,
                value=z,
                limit=limit,
                slash_limit=slash_limit,
                tripped=over,
                slashes=slashes,
                suspicion=scaled,
            )
        )
    exclusion, strongest = np.zeros(n), np.zeros(n)
    for i, column in enumerate(c for c in checks if not c.absolute):  # the first wins a tie, as Python's max
        exclusion = column.suspicion if i == 0 else _first_max(exclusion, column.suspicion)
    for i, values in enumerate(evidence.values()):
        strongest = values if i == 0 else _first_max(strongest, values)
    return CohortChecks(
        columns=tuple(checks),
        evidence=evidence,
        strongest_evidence=strongest,
        exclusion=exclusion,
        tripped=_any_of([c.tripped for c in checks], n),
        absolute=_any_of([c.tripped for c in checks if c.absolute], n),
        slashed=_any_of([c.slashes for c in checks], n),
    )


def _one_update(features: dict[str, float]) -> dict[str, NDArray[np.float64]]:
    """One update's features as a cohort of one, each a one-element column."""
    return {name: np.array([value], dtype=np.float64) for name, value in features.items()}


def signal_checks(features: dict[str, float], config: DefenseConfig) -> list[SignalCheck]:
    """Every enabled signal (and the brief's absolute checks) of one update tested against its thresholds:
    ``cohort_checks`` on its features (those of ``feature_columns``, so each ``_z`` against its cohort)."""
    return cohort_checks(_one_update(features), config).checks_of(0)


def evidence_scores(features: dict[str, float], config: DefenseConfig) -> dict[str, float]:
    """One update's evidence this round per slashing signal, keyed by the signal's name."""
    return {
        name: float(values[0])
        for name, values in cohort_checks(_one_update(features), config).evidence.items()
    }


def signal_evidence(signal: Signal, features: dict[str, float], config: DefenseConfig) -> float:
    """One signal's evidence of an attack this round, in z units (0 for a signal that only excludes).

    Direction counts only when the update actually opposes the root set (its raw direction is negative):
    an honest skewed node can sit far below the cohort and still point the right way, and a free rider's
    empty update points nowhere.
    """
    return evidence_scores(features, config).get(signal.name, 0.0)


def exclusion_score(checks: Sequence[SignalCheck]) -> float:
    """How far the update lies outside the honest spread on its most suspicious signal."""
    return max((c.suspicion for c in checks if c.rule not in _ABSOLUTE), default=0.0)


def _suspicions(z: NDArray[np.float64], side: str) -> NDArray[np.float64]:
    """How far each ``z`` lies on the suspicious ``side``, in z units (never negative), as Python's
    ``max(x, 0.0)`` would give it (which keeps ``x`` on a tie, -0.0 too)."""
    x = z if side == "high" else -z
    return np.where(x < 0.0, 0.0, x)


def _any_of(masks: Sequence[NDArray[np.bool_]], n: int) -> NDArray[np.bool_]:
    """Element-wise OR of ``masks``; all False for none."""
    found = np.zeros(n, dtype=np.bool_)
    for mask in masks:
        found |= mask
    return found


def _first_max(current: NDArray[np.float64], candidate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Python's ``max`` of two, element-wise: the candidate only where strictly larger."""
    return np.where(candidate > current, candidate, current)
