"""The Byzantine shield: gives each of a round's updates one of three outcomes (accepted, excluded, slashed),
explains every one, and aggregates the accepted updates with bounded influence.

In dependency order: ``config`` (the outcomes and the one typed ``DefenseConfig``), ``features`` (what is
measured on each update), ``signals`` (the rules, each check of the cohort at once), ``history`` (evidence
across rounds), ``verdicts`` (the three outcomes and their reasons), ``aggregation``; and ``calibration``,
which rehearses honest rounds to fit the thresholds to a task (imported on its own: it trains models).
"""

from backend.engine.shield.aggregation import (
    aggregate_accepted,
    aggregate_verdicts,
    bounded_weights,
    clip_to_median_norm,
)
from backend.engine.shield.config import DISTANCE_THRESHOLD, NORM_THRESHOLD, DefenseConfig, Outcome
from backend.engine.shield.features import (
    DIRECTION_FALLBACK,
    DIRECTION_PARTS,
    RootEvidence,
    ScreeningInputs,
    compute_features,
    feature_columns,
    gaussianity,
    label_alignment,
    quiet_energy,
    robust_z,
    root_alignment,
    root_teaching,
    theil_sen_residuals,
)
from backend.engine.shield.history import DefenseHistory, NodeRecord, accumulated_evidence, cusum
from backend.engine.shield.signals import (
    ABSOLUTE_CHECKS,
    SIGNALS,
    AbsoluteCheck,
    CheckColumn,
    CohortChecks,
    Signal,
    SignalCheck,
    cohort_checks,
    evidence_scores,
    exclusion_score,
    signal_checks,
    signal_evidence,
)
from backend.engine.shield.verdicts import (
    ScreenedCohort,
    UpdateVerdict,
    judge_round,
    screen_cohort_features,
    screen_round,
)

__all__ = [
    "ABSOLUTE_CHECKS",
    "DIRECTION_FALLBACK",
    "DIRECTION_PARTS",
    "DISTANCE_THRESHOLD",
    "NORM_THRESHOLD",
    "SIGNALS",
    "AbsoluteCheck",
    "CheckColumn",
    "CohortChecks",
    "DefenseConfig",
    "DefenseHistory",
    "NodeRecord",
    "Outcome",
    "RootEvidence",
    "ScreenedCohort",
    "ScreeningInputs",
    "Signal",
    "SignalCheck",
    "UpdateVerdict",
    "accumulated_evidence",
    "aggregate_accepted",
    "aggregate_verdicts",
    "bounded_weights",
    "clip_to_median_norm",
    "cohort_checks",
    "compute_features",
    "cusum",
    "evidence_scores",
    "exclusion_score",
    "feature_columns",
    "gaussianity",
    "judge_round",
    "label_alignment",
    "quiet_energy",
    "robust_z",
    "root_alignment",
    "root_teaching",
    "screen_cohort_features",
    "screen_round",
    "signal_checks",
    "signal_evidence",
    "theil_sen_residuals",
]
