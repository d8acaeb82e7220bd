"""The shield's outcomes and its one typed configuration, read by every part of it.

Outcomes. **accepted**: aggregated and rewarded. **excluded**: left out of the aggregate, neither
rewarded nor slashed (an uncertain verdict, a low-quality update, a free rider). **slashed**: left out and
slashed, only on evidence strong enough that an honest node is practically never hit. Leaving an update out
costs the round a little data; slashing costs an honest person money, so the two have separate bars.

Vocabulary. The product brief calls a node's *update* its local model ``w_local``; on the wire a node
sends ``Δ = w_local - w_global``. The brief's two checks are therefore, exactly:

- ``norm_threshold``: the submitted local model's L2 norm ``‖w_global + Δ‖`` must not exceed
  ``NORM_THRESHOLD = 1000.0``;
- ``distance_threshold``: its L2 distance from the global model, ``‖Δ‖``, must not exceed
  ``distance_threshold``.

These absolute bounds stop gross garbage (they always exclude), but miss sign flipping, norm-matched noise,
label flipping and the adaptive attacks, whose updates have ordinary norms: the cohort-relative signals
(``backend.engine.shield.signals``) catch those.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.engine.aggregators import AGGREGATORS

NORM_THRESHOLD = 1000.0  # product brief: max L2 norm of a submitted local model
DISTANCE_THRESHOLD = 100.0  # max L2 distance of a local model from the global one: a generous sanity bound

# Fields of earlier versions, still present in rounds recorded before three outcomes: ignored on load.
_RETIRED_FIELDS = frozenset(
    {
        "norm_mad_high_z", "norm_mad_low_z", "quiet_energy_max", "root_alignment_min", "cosine_trusted_min",
        "cosine_reference_min", "use_isolation", "isolation_min_cosine", "use_trust_score", "trust_min",
        "trust_borderline", "trust_min_rounds", "max_reject_fraction",
    }
)  # fmt: skip


class Outcome(StrEnum):
    """What a round's verdict does to an update and its node."""

    ACCEPTED = "accepted"  # aggregated, rewarded
    EXCLUDED = "excluded"  # left out, neither rewarded nor slashed
    SLASHED = "slashed"  # left out and slashed


class DefenseConfig(BaseModel):
    """Every knob of the shield; JSON-serializable and recorded with every round."""

    # No infinities or NaN: each threshold must be a number an update can be compared with.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool = True  # False: accept every update and only aggregate (the undefended baseline)
    # True: exclude_z and cusum_allowance are fit to the task before its first round, on honest rounds
    # rehearsed on the root set (backend.engine.shield.calibration); False: the values below, as given
    calibrate: bool = True

    # --- the product brief's absolute checks (always applied, never capped)
    use_norm_threshold: bool = True  # exclude ‖w_global + Δ‖ > norm_threshold
    norm_threshold: float = Field(default=NORM_THRESHOLD, gt=0)  # the brief's NORM_THRESHOLD
    use_distance_threshold: bool = True  # exclude ‖Δ‖ > distance_threshold
    distance_threshold: float = Field(default=DISTANCE_THRESHOLD, gt=0)  # generous; robust rules do the rest

    # --- the signals, each a robust z-score against this round's cohort
    use_norm_mad: bool = True  # log ‖Δ‖, both sides
    norm_mad_floor: float = Field(default=0.2, ge=0)  # least MAD (log units): ±20% norms never stand out
    use_quiet_energy: bool = True
    quiet_fraction: float = Field(default=0.5, gt=0, lt=1)  # share of coordinates inspected, the quietest
    quiet_energy_floor: float = Field(default=0.1, ge=0)  # least MAD of quiet energy (isotropic units)
    use_copy: bool = True  # an update whose residual from the cohort's median is another's: colluders' twins
    copy_floor: float = Field(default=0.5, ge=0)  # least MAD of copy likeness (-log(1 - cosine) units)
    use_gaussianity: bool = True
    gaussianity_floor: float = Field(default=0.02, ge=0)  # least MAD of the L1/L2 ratio
    # Closeness to noise only tells where trained updates are sparser than noise (SGD: 0.65-0.8); Adam's
    # flat updates sit near or above noise's 1, and the signal abstains for such a cohort.
    gaussianity_sparse_below: float = Field(default=0.9, gt=0)
    # ... and it only leaves out an update whose ratio is itself near noise's: a cohort of mixed local work
    # (nodes of one sample beside nodes of two) spreads honest ratios far below it, never up to it.
    gaussianity_noise_min: float = Field(default=0.85, ge=0)
    use_root_alignment: bool = True
    trusted_weight: float = Field(default=0.5, ge=0)  # weight of the root-update cosine in root_alignment
    use_cosine_trusted: bool = True
    use_root_teaching: bool = True  # two classes: what the update teaches the root samples, prior removed
    use_cosine_reference: bool = True  # only without a trusted update: attackers can drag the median
    direction_floor: float = Field(default=0.15, ge=0)  # least MAD of the cosine-like signals

    # --- outcomes
    exclude_z: float = Field(default=4.0, gt=0)  # exclusion score above which an update is left out
    free_rider_z: float = Field(default=20.0, gt=0)  # how far below the cohort's norm a free rider lies
    opposed_exclude_z: float = Field(default=2.5, gt=0)  # direction's exclusion z for an update that opposes
    # the root set (raw direction below zero): such an update is excluded on weaker cohort evidence
    # Mean evidence over the slash window above which a node is slashed, per signal: each is 1.25x or more
    # the largest window mean of any honest node on the honest grid (``fedshield bench defense``).
    slash_norm_z: float = Field(default=10.0, gt=0)
    slash_quiet_energy_z: float = Field(default=6.0, gt=0)
    slash_direction_z: float = Field(default=4.5, gt=0)
    slash_window: int = Field(default=3, ge=1, le=50)  # rounds of evidence a slash rests on
    single_round_slash_z: float = Field(default=30.0, gt=0)  # one round's evidence alone slashes above this
    # Evidence across rounds also excludes: a one-sided CUSUM [Page, 1954] of each slashing signal's
    # evidence, S = max(0, S + e - allowance), leaves a node out once S passes ``cusum_exclude``, before any
    # single round would. The per-task calibration (``backend.engine.shield.calibration``) raises the
    # allowance to what the task's honest nodes show.
    cusum_allowance: float = Field(default=1.5, ge=0)  # evidence per round an honest node shows for free
    cusum_exclude: float = Field(default=5.0, gt=0)  # accumulated evidence that leaves a node out
    min_cohort: int = Field(default=5, ge=2)  # cohort-relative rules abstain below this many updates
    max_exclude_fraction: float = Field(default=0.5, gt=0, le=1)  # cap on exclusions by cohort rules

    # --- aggregation of the accepted updates, each with bounded influence
    aggregator: str = "fedavg"  # one of backend.engine.aggregators.AGGREGATORS
    aggregator_malicious_fraction: float = Field(default=0.2, ge=0, lt=0.5)  # f/n for Krum, trimmed mean
    clip_to_median_norm: bool = True  # scale accepted updates down to a bound on norms [Sun et al., 2019]
    clip_multiple: float = Field(default=2.0, ge=1)  # the bound: this many times the accepted median norm
    sample_weight_cap: float = Field(
        default=3.0, ge=1
    )  # a claimed sample count weighs at most this times the median

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: Any) -> Any:
        if isinstance(data, dict):
            retired = data.get("max_reject_fraction")  # still a fraction where a client sends it
            if retired is not None and not (isinstance(retired, int | float) and 0 <= retired <= 1):
                raise ValueError(f"max_reject_fraction must be a fraction in [0, 1], found {retired!r}")
            return {k: v for k, v in data.items() if k not in _RETIRED_FIELDS}
        return data

    @field_validator("aggregator")
    @classmethod
    def _known_aggregator(cls, name: str) -> str:
        if name not in AGGREGATORS:
            raise ValueError(f"unknown aggregator {name!r}; choose one of {sorted(AGGREGATORS)}")
        return name
