"""The Byzantine shield: gives each of a round's updates one of three outcomes and explains every one.

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
label flipping and the adaptive attacks, whose updates have ordinary norms. The rules below catch those.
Each measures one *signal* per update and decides against what this round's updates look like: the robust
z-score ``(x - median) / max(1.4826 * MAD, floor)`` over the cohort [Rousseeuw & Croux, 1993], the MAD
taken over the unsuspicious half for a one-sided signal, so a rule holds as the model converges and
signals shrink, and whatever local training the experiment runs.

- ``norm`` / ``free_riding``: ``log ‖Δ‖`` against what the node's local work predicts (a Theil-Sen line on
  its log local steps [Sen, 1968]): above, boosted or noisy updates [Yin et al., 2018]; far below, a free
  rider's near-empty update (excluded only). The floor keeps ±20% norms from ever standing out.
- ``quiet_energy``: the share of an update's energy on the coordinates the cohort leaves quiet, relative
  to what isotropic noise would put there. Trained updates concentrate on common coordinates [Aji &
  Heafield, 2017]; Gaussian noise cannot, even when its norm is matched to an honest update's.
- ``gaussianity``: how close the update's L1/L2 ratio sits to that of noise, against the cohort [Hoyer,
  2004]; it only excludes, and abstains for a cohort whose updates are not sparser than noise (Adam's).
- ``direction``: the update's direction against the orchestrator's clean *root set*, data no node trains
  on (FLTrust's root data [Cao et al., NDSS 2021]; validation-based screening as in Zeno [Xie et al., ICML
  2019]): the mean, in z units, of the cosine to the trusted root update and, with three or more classes,
  ``root_alignment`` (``label_alignment``, what the update teaches on root samples: for each root class
  ``c``, the mean change of every logit on samples of ``c``, centred over the classes so the prior shift
  any skewed node causes cancels, its cosine with the identity, plus half the trusted cosine); without a
  trusted update, the cosine to the cohort's coordinate-wise median [Yin et al., 2018]. An update whose
  raw direction is negative opposes the root set and is excluded at ``opposed_exclude_z``.

Exclusion. An update past any signal's exclusion threshold is left out. Cohort-relative rules abstain
below ``min_cohort`` updates and never exclude more than ``max_exclude_fraction`` of the cohort (the most
suspicious go first); without an honest majority robust statistics cannot separate, and we accept rather
than guess.

Slashing needs evidence accumulated over rounds, the way sequential tests accumulate likelihood [Page,
1954, CUSUM]. Each signal that indicates an attack (a large norm, energy on quiet coordinates, a direction
that opposes the root set) yields this round's *evidence*, its z on the suspicious side; a node is slashed
in a round when that round excludes it *and*, for some signal, the mean of its evidence over the node's
last ``slash_window`` rounds passes that signal's slash threshold (``slash_norm_z``, ...), each set at
1.25x or more the largest window mean any honest node reached on the honest grid of ``fedshield bench
defense``; or, in a single round, when the evidence passes ``single_round_slash_z``. With small-batch
training an attacker's single round can overlap the honest range while its mean over rounds stands well
apart; an honest node's odd round regresses to the mean. A free rider's small norm and an update's
closeness to noise only exclude: neither proves an attack.

Every verdict carries every feature computed, the rule that decided it and the number against its
threshold. ``screen_round`` is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.engine.aggregators import AGGREGATORS, get_aggregator
from backend.engine.cohort_stats import RowStatistics, column_medians, row_norms, row_statistics

NORM_THRESHOLD = 1000.0  # product brief: max L2 norm of a submitted local model
DISTANCE_THRESHOLD = 100.0  # max L2 distance of a local model from the global one: a generous sanity bound

FloatArray = NDArray[np.floating]

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
    # rehearsed on the root set (backend.engine.calibration); False: the values below, as given
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
    # single round would. The per-task calibration (``backend.engine.calibration``) raises the allowance
    # to what the task's honest nodes show.
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


@dataclass(frozen=True)
class RootEvidence:
    """Logits the orchestrator measured on its clean root set this round (see ``label_alignment``)."""

    labels: NDArray[np.integer]  # (m,) root labels
    global_logits: FloatArray  # (m, k) logits of w_global
    update_logits: FloatArray  # (n, m, k) logits of w_global + Δ_i, one slice per update


@dataclass
class NodeRecord:
    """What the shield remembers about one node: its outcomes and its recent evidence, newest last."""

    seen: int = 0
    accepted: int = 0
    evidence: dict[str, list[float]] = field(default_factory=dict)  # per signal, the last rounds' evidence


@dataclass
class DefenseHistory:
    """Cross-round memory, keyed by node id; ``judge_round`` reads it, the caller ``record``s a round."""

    nodes: dict[Hashable, NodeRecord] = field(default_factory=dict)
    keep: int = 50  # evidence values kept per node (the window never needs more)

    def record_one(self, node_id: Hashable, outcome: Outcome, features: dict[str, float]) -> None:
        """Adds one verdict, as stored (the service replays its verdict rows through this)."""
        node = self.nodes.setdefault(node_id, NodeRecord())
        node.seen += 1
        node.accepted += int(outcome is Outcome.ACCEPTED)
        for signal in SIGNALS:
            key = f"evidence_{signal.name}"
            if key in features:
                past = node.evidence.get(signal.name, [])
                node.evidence[signal.name] = [*past, float(features[key])][-self.keep :]

    def record(self, node_ids: Sequence[Hashable], verdicts: Sequence[UpdateVerdict]) -> None:
        """Adds one round's verdicts to the nodes' records."""
        for verdict in verdicts:
            self.record_one(node_ids[verdict.index], verdict.outcome, verdict.features)

    def evidence_of(self, node_id: Hashable) -> dict[str, list[float]]:
        node = self.nodes.get(node_id)
        return {} if node is None else {k: list(v) for k, v in node.evidence.items()}


# ----------------------------------------------------------------------------------------- feature maths


def _cosines(
    dots: NDArray[np.float64], norms: NDArray[np.float64], reference: FloatArray
) -> NDArray[np.float64]:
    """Cosine of each row with ``reference`` from their dot products and norms; 0 where either is zero."""
    denom = norms * np.linalg.norm(reference.astype(np.float64))
    return np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)


def robust_z(
    values: FloatArray, floor: float = 0.0, side: Literal["low", "high", "both"] = "both"
) -> NDArray[np.float64]:
    """``(x - median) / (1.4826 * MAD)``, the MAD floored at ``floor`` [Rousseeuw & Croux, 1993].

    For a one-sided signal the MAD is taken over the *other* half only (``side="low"``: the values above
    the median), so attackers bunched on the suspicious side cannot inflate the scale they are judged by.
    """
    v = values.astype(np.float64)
    median = np.median(v)
    deviations = v - median
    if side == "low":
        deviations = deviations[deviations >= 0]
    elif side == "high":
        deviations = deviations[deviations <= 0]
    mad = 1.4826 * float(np.median(np.abs(deviations))) if deviations.size else 0.0
    scale = max(mad, floor, 1e-12)
    z: NDArray[np.float64] = (v - median) / scale
    return z


def theil_sen_residuals(x: FloatArray, y: FloatArray) -> NDArray[np.float64]:
    """``y`` minus its Theil-Sen line on ``x`` (median of pairwise slopes) [Sen, 1968]: robust to outliers."""
    xs, ys = x.astype(np.float64), y.astype(np.float64)
    i, j = np.triu_indices(len(xs), 1)
    dx = xs[j] - xs[i]
    valid = np.abs(dx) > 1e-9
    slope = float(np.median((ys[j] - ys[i])[valid] / dx[valid])) if valid.any() else 0.0
    residuals: NDArray[np.float64] = ys - slope * xs
    return residuals - np.median(residuals)


def quiet_energy(updates: FloatArray, quiet_fraction: float) -> NDArray[np.float64]:
    """Share of each update's energy on the cohort's quietest coordinates, over isotropic noise's share.

    Gradient-trained updates concentrate their energy on a common subset of coordinates (most of a
    gradient's mass sits in few of them [Aji & Heafield, 2017, "Sparse Communication for Distributed
    Gradient Descent"]); noise cannot. The quiet set is the ``quiet_fraction`` of coordinates with the
    smallest coordinate-wise median ``|Δ|`` over the cohort, robust while honest updates are the majority.
    Honest updates score ~0.1, pure noise ~1, an honest update plus equal-norm noise ~0.55.
    """
    quiet = quiet_coordinates(updates, quiet_fraction)
    return _quiet_share(row_statistics(updates, quiet=quiet), quiet)


def quiet_coordinates(updates: FloatArray, quiet_fraction: float) -> NDArray[np.bool_]:
    """The ``quiet_fraction`` of coordinates with the smallest median ``|Δ|`` over the cohort, ``(d,)``."""
    typical = column_medians(updates, absolute=True)  # (d,)
    quiet: NDArray[np.bool_] = typical <= np.quantile(typical, quiet_fraction)
    return quiet


def _quiet_share(stats: RowStatistics, quiet: NDArray[np.bool_]) -> NDArray[np.float64]:
    assert stats.quiet_energy is not None
    energy = stats.energy
    share = np.divide(stats.quiet_energy, energy, out=np.zeros_like(energy), where=energy > 0)
    result: NDArray[np.float64] = share / quiet.mean()
    return result


def gaussianity(updates: FloatArray) -> NDArray[np.float64]:
    """``‖Δ‖₁ / (√d ‖Δ‖₂)`` over its value for Gaussian noise, ``√(2/π)``: 1 for isotropic noise.

    SGD-trained updates are heavy-tailed, a few coordinates carrying most of the change (0.65-0.8 here);
    Adam's are flatter (about 1.2). Noise added to either pulls the ratio towards 1, so the signal,
    ``noise_likeness = -|ratio - 1|``, is suspicious when an update sits closer to noise than the cohort
    does; a skewed node's sparser update moves the other way [the L1/L2 sparsity measure of Hoyer, 2004,
    "Non-negative Matrix Factorization with Sparseness Constraints"].
    """
    return _gaussianity(row_statistics(updates), updates.shape[1])


def _gaussianity(stats: RowStatistics, d: int) -> NDArray[np.float64]:
    l2 = stats.norm * np.sqrt(d)
    l1 = stats.l1
    ratio: NDArray[np.float64] = np.divide(l1, l2, out=np.zeros_like(l1), where=l2 > 0) / np.sqrt(2 / np.pi)
    return ratio


def label_alignment(evidence: RootEvidence) -> NDArray[np.float64]:
    """Centred class-alignment cosine of each update on the root set (see the module docstring).

    ``M[c, j]`` is the mean logit change of class-``c`` root samples on logit ``j``; each column is centred
    over the classes present (removing the prior shift every skewed node causes), and the score is the
    cosine of the centred block ``M[c, c']`` (rows and columns: the classes present) with the identity.
    """
    labels = np.asarray(evidence.labels)
    classes = np.unique(labels)
    if len(classes) < 2:
        return np.zeros(evidence.update_logits.shape[0])
    shifts = evidence.update_logits.astype(np.float64) - evidence.global_logits.astype(np.float64)  # (n,m,k)
    member = (labels[None, :] == classes[:, None]).astype(np.float64)  # (C, m)
    member /= member.sum(axis=1, keepdims=True)
    gains = np.einsum("cm,nmk->nck", member, shifts)[:, :, classes]  # (n, C, C)
    gains -= gains.mean(axis=1, keepdims=True)  # remove each logit's shift shared by all classes
    diag = np.trace(gains, axis1=1, axis2=2)
    scale = np.linalg.norm(gains, axis=(1, 2)) * np.sqrt(len(classes))
    scores: NDArray[np.float64] = np.divide(diag, scale, out=np.zeros_like(diag), where=scale > 0)
    return scores


def root_teaching(evidence: RootEvidence) -> NDArray[np.float64]:
    """What each update teaches the root set, bias removed: in [-1, 1], above 0 when it raises each sample's
    own class more than it raises that class on every sample.

    For update ``i`` and root sample ``j`` of class ``y_j``, the gain ``g_ij`` is the change of ``y_j``'s
    logit minus the change of the sample's mean logit; the prior shift ``b_ic`` is the mean of class ``c``'s
    such gain over *every* root sample, what a node skewed to ``c`` adds everywhere. ``t_ij = g_ij -
    b_{i,y_j}`` is what the update teaches sample ``j``; the score is ``mean_j t_ij / rms_j t_ij``. A pure
    shift of the class prior scores 0, honest learning above 0, an update that unlearns (a sign flip, a
    label flip) below 0, on two classes as on ten: the validation-loss view of Zeno [Xie et al., ICML 2019]
    with the prior shift a skewed honest node causes taken out.
    """
    labels = np.asarray(evidence.labels)
    shifts = evidence.update_logits.astype(np.float64) - evidence.global_logits.astype(np.float64)  # (n,m,k)
    shifts -= shifts.mean(axis=2, keepdims=True)  # gains relative to the sample's mean logit
    prior = shifts.mean(axis=1)  # (n, k): each class's gain averaged over every root sample
    rows = np.arange(len(labels))
    taught = shifts[:, rows, labels] - prior[:, labels]  # (n, m)
    rms = np.sqrt(np.mean(taught**2, axis=1))
    mean = taught.mean(axis=1)
    scores: NDArray[np.float64] = np.divide(mean, rms, out=np.zeros_like(mean), where=rms > 1e-12)
    return scores


def root_alignment(
    alignment: NDArray[np.float64], cosine_trusted: NDArray[np.float64] | None, trusted_weight: float
) -> NDArray[np.float64]:
    """``label_alignment + trusted_weight * cosine_trusted``: the two root-set direction signals, combined.

    Each alone overlaps honest skewed nodes at the margin (a skewed node can forget other classes' features,
    or point away from the root update); they rarely do both, while sign and label flips do both.
    """
    if cosine_trusted is None:
        return alignment
    combined: NDArray[np.float64] = alignment + trusted_weight * cosine_trusted
    return combined


# ----------------------------------------------------------------------------------------------- signals


@dataclass(frozen=True)
class Signal:
    """A calibrated rule: a feature, its robust z-score against the cohort, the side that is suspicious."""

    name: str  # the rule's name in verdicts
    feature: str  # the raw feature, a key of UpdateVerdict.features
    label: str  # how a reason names it
    switch: str  # the DefenseConfig flag that enables it
    side: Literal["high", "low"]  # which side of the cohort is suspicious
    slash_field: str | None  # the DefenseConfig field of its slash threshold; None: it only excludes
    threshold_field: str = "exclude_z"  # the DefenseConfig field holding its exclusion threshold
    # Whether its evidence accumulates across rounds into an exclusion (``accumulated_evidence``). Not the
    # norm's: an honest node with more data than the cohort stays above the line round after round.
    accumulates: bool = True

    def applies(self, features: dict[str, float], config: DefenseConfig) -> bool:
        return f"{self.feature}_z" in features and (
            self.feature == "direction" or getattr(config, self.switch)
        )


SIGNALS: tuple[Signal, ...] = (  # in order of precedence when two are equally far out
    Signal("norm", "log_norm", "update norm", "use_norm_mad", "high", "slash_norm_z", accumulates=False),
    Signal("free_riding", "log_norm", "update norm", "use_norm_mad", "low", None, "free_rider_z"),
    Signal(
        "quiet_energy",
        "quiet_energy",
        "quiet-coordinate energy",
        "use_quiet_energy",
        "high",
        "slash_quiet_energy_z",
    ),
    Signal("gaussianity", "noise_likeness", "closeness to noise", "use_gaussianity", "high", None),
    Signal(
        "direction",
        "direction",
        "direction on the root set",
        "use_root_alignment",
        "low",
        "slash_direction_z",
    ),
)

# What the direction signal averages, in z units: the root-set alignment and the cosine to the trusted
# update (each alone overlaps honest skewed nodes more often than their mean does), or, without a trusted
# update, the cosine to the cohort's median. With two classes, centring leaves label alignment only a
# sign (+-0.71), no magnitude, so there the per-sample teaching score (``root_teaching``) takes its place
# beside the cosine; with more, label alignment is the steadier of the two (teaching a converged model
# is mostly noise, which its normalisation magnifies).
DIRECTION_PARTS = ("root_alignment", "cosine_trusted", "root_teaching")
DIRECTION_FALLBACK = "cosine_reference"


def _suspicion(z: float, side: str) -> float:
    """How far ``z`` lies on the suspicious ``side``, in z units (never negative)."""
    return max(z, 0.0) if side == "high" else max(-z, 0.0)


# -------------------------------------------------------------------------------------------- screening


class ScreeningInputs(TypedDict, total=False):
    """The optional inputs of a screening, beside the updates themselves."""

    trusted_update: FloatArray | None  # the orchestrator's own update on its root set
    root_evidence: RootEvidence | None  # root-set logits of w and of every w + Δ_i
    local_steps: Sequence[float] | None  # each node's optimizer steps this round


def compute_features(
    updates: FloatArray, global_weights: FloatArray, config: DefenseConfig, **inputs: Unpack[ScreeningInputs]
) -> list[dict[str, float]]:
    """Every raw feature of every update of the round and, for a cohort large enough, its robust z: one
    dict per update."""
    return _rows(feature_columns(updates, global_weights, config, **inputs))


def _rows(columns: dict[str, NDArray[np.float64]]) -> list[dict[str, float]]:
    """Columns of features as one dict per update, in column order, of Python floats."""
    names = list(columns)
    table = np.column_stack([columns[name] for name in names]).tolist()  # (n, features)
    return [dict(zip(names, row, strict=True)) for row in table]


def feature_columns(
    updates: FloatArray,
    global_weights: FloatArray,
    config: DefenseConfig,
    **inputs: Unpack[ScreeningInputs],
) -> dict[str, NDArray[np.float64]]:
    """Every feature of the round's updates, one ``(n,)`` column each (``compute_features`` per update).

    ``local_steps`` (each node's optimizer steps, from its sample count and the round's training) lets the
    norm signal judge ``log ‖Δ‖`` against what that much local work predicts: a node with five times the
    data takes five times the steps and moves further, honestly.
    """
    trusted_update = inputs.get("trusted_update")
    root_evidence = inputs.get("root_evidence")
    local_steps = inputs.get("local_steps")
    n, d = updates.shape
    cohort = n >= config.min_cohort
    quiet = quiet_coordinates(updates, config.quiet_fraction) if cohort else None
    reference = column_medians(updates) if cohort and trusted_update is None else None
    directions = [r for r in (trusted_update, reference) if r is not None]
    stats = row_statistics(updates, offset=global_weights, quiet=quiet, references=directions)
    assert stats.shifted_norm is not None
    columns: dict[str, NDArray[np.float64]] = {
        "update_norm": stats.norm,
        "model_norm": stats.shifted_norm,
        "log_norm": np.log(np.maximum(stats.norm, 1e-12)),
    }
    if quiet is not None:
        columns["quiet_energy"] = _quiet_share(stats, quiet)
        columns["gaussianity"] = _gaussianity(stats, d)
        columns["noise_likeness"] = -np.abs(columns["gaussianity"] - 1.0)
    if reference is not None:
        columns["cosine_reference"] = _cosines(stats.dots[0], stats.norm, reference)
    if trusted_update is not None:
        columns["cosine_trusted"] = _cosines(stats.dots[0], stats.norm, trusted_update)
    if root_evidence is not None:
        if root_evidence.update_logits.shape[0] != n:
            raise ValueError(
                f"root evidence has {root_evidence.update_logits.shape[0]} updates, round has {n}"
            )
        columns["label_alignment"] = label_alignment(root_evidence)
        columns["root_teaching"] = root_teaching(root_evidence)
        columns["root_alignment"] = root_alignment(
            columns["label_alignment"], columns.get("cosine_trusted"), config.trusted_weight
        )
    if cohort:
        norm_signal = columns["log_norm"]
        if local_steps is not None:
            steps = np.log(np.maximum(np.asarray(local_steps, dtype=np.float64), 1.0))
            columns["log_steps"] = steps
            norm_signal = theil_sen_residuals(steps, columns["log_norm"])
        columns["log_norm_z"] = robust_z(norm_signal, config.norm_mad_floor)
        columns["quiet_energy_z"] = robust_z(columns["quiet_energy"], config.quiet_energy_floor, "high")
        if np.median(columns["gaussianity"]) < config.gaussianity_sparse_below:
            z = robust_z(columns["noise_likeness"], config.gaussianity_floor, "high")
            near_noise = columns["gaussianity"] >= config.gaussianity_noise_min
            columns["noise_likeness_z"] = np.where(near_noise, z, np.minimum(z, 0.0))
        switches = {"root_alignment": config.use_root_alignment, "cosine_trusted": config.use_cosine_trusted,
                    "root_teaching": config.use_root_teaching,
                    DIRECTION_FALLBACK: config.use_cosine_reference}  # fmt: skip
        if root_evidence is not None and len(np.unique(root_evidence.labels)) < 3:
            switches["root_alignment"] = False  # two classes: label alignment is only a sign
        else:
            switches["root_teaching"] = False
        parts = [p for p in (*DIRECTION_PARTS, DIRECTION_FALLBACK) if p in columns and switches[p]]
        for part in parts:
            columns[f"{part}_z"] = robust_z(columns[part], config.direction_floor, "low")
        if parts:
            columns["direction"] = np.mean([columns[f"{p}_z"] for p in parts], axis=0)
            columns["direction_z"] = columns["direction"]  # already in z units
            columns["direction_raw"] = np.mean([columns[p] for p in parts], axis=0)
    return columns


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


# The brief's absolute checks: (rule, feature, label, DefenseConfig switch, DefenseConfig limit).
ABSOLUTE_CHECKS = (
    ("norm_threshold", "model_norm", "model norm", "use_norm_threshold", "norm_threshold"),
    ("distance_threshold", "update_norm", "distance", "use_distance_threshold", "distance_threshold"),
)


def signal_checks(features: dict[str, float], config: DefenseConfig) -> list[SignalCheck]:
    """Every enabled signal (and the brief's absolute checks) tested against its thresholds."""
    checks: list[SignalCheck] = []
    for name, feature, label, switch, limit_field in ABSOLUTE_CHECKS:
        if getattr(config, switch):
            value, limit = features[feature], float(getattr(config, limit_field))
            tripped = value > limit
            checks.append(
                SignalCheck(name, feature, value, limit, None, "max", tripped, Outcome.EXCLUDED,
                            float("inf") if tripped else 0.0, f"{label} {value:.2f} above {limit:.2f}")
            )  # fmt: skip
    for signal in SIGNALS:
        if not signal.applies(features, config):
            continue
        z = features[f"{signal.feature}_z"]
        suspicion = _suspicion(z, signal.side)
        limit = float(getattr(config, signal.threshold_field))
        if signal.feature == "direction" and features.get("direction_raw", 0.0) < 0:
            limit = config.opposed_exclude_z
        evidence = signal_evidence(signal, features, config)
        outcome = Outcome.SLASHED if evidence > config.single_round_slash_z else Outcome.EXCLUDED
        low = signal.side == "low"
        checks.append(
            SignalCheck(
                signal.name,
                f"{signal.feature}_z",
                z,
                -limit if low else limit,
                # Signed like the exclusion threshold, so a gauge draws both on the same side of the bar.
                _signed(float(getattr(config, signal.slash_field)), low) if signal.slash_field else None,
                "min" if low else "max",
                suspicion > limit,
                outcome,
                suspicion * config.exclude_z / limit,  # in the exclusion threshold's units, to rank
                f"{signal.label} z {z:.2f} {'below' if low else 'above'} {-limit if low else limit:.2f}",
            )
        )
    return checks


def _signed(threshold: float, low: bool) -> float:
    return -threshold if low else threshold


def signal_evidence(signal: Signal, features: dict[str, float], config: DefenseConfig) -> float:
    """One signal's evidence of an attack this round, in z units (0 for a signal that only excludes).

    Direction counts only when the update actually opposes the root set (its raw direction is negative):
    an honest skewed node can sit far below the cohort and still point the right way, and a free rider's
    empty update points nowhere.
    """
    if signal.slash_field is None or not signal.applies(features, config):
        return 0.0
    if signal.feature == "direction" and features.get("direction_raw", -1.0) >= 0:
        return 0.0
    return _suspicion(features[f"{signal.feature}_z"], signal.side)


def evidence_scores(features: dict[str, float], config: DefenseConfig) -> dict[str, float]:
    """This round's evidence per slashing signal, keyed by the signal's name."""
    return {s.name: signal_evidence(s, features, config) for s in SIGNALS if s.slash_field is not None}


def exclusion_score(checks: Sequence[SignalCheck]) -> float:
    """How far the update lies outside the honest spread on its most suspicious signal."""
    return max((c.suspicion for c in checks if c.rule not in _ABSOLUTE), default=0.0)


_ABSOLUTE = ("norm_threshold", "distance_threshold")


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
        return ScreenedCohort(config, _rows(columns), None, frozenset())
    cohort = cohort_checks(columns, config)
    features = _rows(columns | {f"evidence_{k}": v for k, v in cohort.evidence.items()}
                     | {"evidence": cohort.strongest_evidence, "exclusion": cohort.exclusion})  # fmt: skip
    return ScreenedCohort(config, features, cohort, frozenset(_excluded(cohort, config)))


def cusum(evidence: Sequence[float], allowance: float) -> float:
    """Page's one-sided CUSUM [Page, 1954] over a node's evidence, oldest first: ``S = max(0, S + e - k)``.

    An honest node's evidence hovers below the allowance ``k`` and its sum keeps returning to 0; a node
    leaning the same way round after round gains ``e - k`` each round, however far below a single round's
    threshold each ``e`` stays."""
    total = 0.0
    for value in evidence:
        total = max(0.0, total + float(value) - allowance)
    return total


def accumulated_evidence(
    features: dict[str, float], past: dict[str, list[float]], config: DefenseConfig
) -> dict[str, float]:
    """Each slashing signal's CUSUM over the node's past evidence and this round's."""
    return {
        s.name: cusum([*past.get(s.name, []), features[f"evidence_{s.name}"]], config.cusum_allowance)
        for s in SIGNALS
        if s.slash_field is not None and s.accumulates and f"evidence_{s.name}" in features
    }


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
        checks = signal_checks(rows[i], config) if cohort.tripped[i] else []  # the reasons, where any
        if i in sustained:
            checks = [*checks, _sustained_check(sums[i], config)]
        verdicts.append(
            _verdict(i, rows[i], checks, i in excluded or i in sustained, pasts[i], config, n, len(excluded))
        )
    return verdicts


def _sustained_check(sums: dict[str, float], config: DefenseConfig) -> SignalCheck:
    """The check that left a node out on its accumulated evidence: the signal with the largest sum."""
    name, value = max(sums.items(), key=lambda item: item[1])
    signal = next(s for s in SIGNALS if s.name == name)
    return SignalCheck(
        name, f"cusum_{name}", value, config.cusum_exclude,
        float(getattr(config, signal.slash_field)) if signal.slash_field else None, "max", True,
        Outcome.EXCLUDED, config.exclude_z * value / config.cusum_exclude,
        f"{signal.label} evidence accumulated to {value:.1f} over rounds, above {config.cusum_exclude:.1f}",
    )  # fmt: skip


@dataclass(frozen=True)
class CohortChecks:
    """``signal_checks`` and ``evidence_scores`` over the whole cohort at once, each an ``(n,)`` array."""

    evidence: dict[str, NDArray[np.float64]]  # per slashing signal: this round's evidence
    strongest_evidence: NDArray[np.float64]  # the largest of them
    exclusion: NDArray[np.float64]  # ``exclusion_score``: the most suspicious signal, in exclusion units
    tripped: NDArray[np.bool_]  # any check past its exclusion threshold
    absolute: NDArray[np.bool_]  # one of the brief's absolute checks tripped


def cohort_checks(columns: dict[str, NDArray[np.float64]], config: DefenseConfig) -> CohortChecks:
    """Every update's checks as array operations; the same floats ``signal_checks`` computes one by one."""
    n = len(columns["update_norm"])
    absolute = np.zeros(n, dtype=np.bool_)
    for _, feature, _, switch, limit_field in ABSOLUTE_CHECKS:
        if getattr(config, switch):
            absolute |= columns[feature] > float(getattr(config, limit_field))
    tripped = absolute.copy()
    exclusion: NDArray[np.float64] | None = None
    evidence = {s.name: np.zeros(n) for s in SIGNALS if s.slash_field is not None}
    for signal in SIGNALS:
        if f"{signal.feature}_z" not in columns or not (
            signal.feature == "direction" or getattr(config, signal.switch)
        ):
            continue
        suspicion = _suspicions(columns[f"{signal.feature}_z"], signal.side)
        limit = np.full(n, float(getattr(config, signal.threshold_field)))
        opposed = np.zeros(n, dtype=np.bool_)
        if signal.feature == "direction":
            opposed = columns["direction_raw"] < 0
            limit[opposed] = config.opposed_exclude_z
        tripped |= suspicion > limit
        scaled = suspicion * config.exclude_z / limit
        exclusion = scaled if exclusion is None else _first_max(exclusion, scaled)
        if signal.slash_field is not None:
            evidence[signal.name] = (
                np.where(opposed, suspicion, 0.0) if signal.feature == "direction" else suspicion
            )
    strongest = np.zeros(n)
    for i, values in enumerate(evidence.values()):
        strongest = values if i == 0 else _first_max(strongest, values)
    return CohortChecks(
        evidence, strongest, np.zeros(n) if exclusion is None else exclusion, tripped, absolute
    )


def _suspicions(z: NDArray[np.float64], side: str) -> NDArray[np.float64]:
    """``_suspicion`` of every z, with Python's ``max(x, 0.0)`` (which keeps ``x`` on a tie, -0.0 too)."""
    x = z if side == "high" else -z
    return np.where(x < 0.0, 0.0, x)


def _first_max(current: NDArray[np.float64], candidate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Python's ``max`` of two, element-wise: the candidate only where strictly larger."""
    return np.where(candidate > current, candidate, current)


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
    past_evidence: dict[str, list[float]],
    config: DefenseConfig,
    n: int,
    num_excluded: int,
) -> UpdateVerdict:
    tripped = sorted((c for c in checks if c.tripped), key=lambda c: -c.suspicion)
    sustained: list[tuple[float, float, Signal]] = []  # (mean / threshold, mean, signal)
    for signal in SIGNALS:
        if signal.slash_field is None or f"evidence_{signal.name}" not in features:
            continue
        window = [*past_evidence.get(signal.name, []), features[f"evidence_{signal.name}"]]
        window = window[-config.slash_window :]
        mean = window[0] if len(window) == 1 else float(np.mean(window))  # np.mean of one value is that value
        limit = float(getattr(config, signal.slash_field))
        features[f"evidence_{signal.name}_mean"] = mean
        if len(window) >= config.slash_window and mean > limit:
            sustained.append((mean / limit, mean, signal))
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
    if features["evidence"] > config.single_round_slash_z:
        reason = (
            f"{first.reason}; evidence {features['evidence']:.1f} beyond "
            f"{config.single_round_slash_z:.1f} in one round"
        )
        return UpdateVerdict(index, Outcome.SLASHED, first.rule, reason, features)
    if sustained:
        _, mean, signal = max(sustained, key=lambda item: item[0])
        limit = float(getattr(config, signal.slash_field or ""))
        reason = (
            f"{first.reason}; {signal.label} evidence {mean:.1f} on average over the last "
            f"{config.slash_window} rounds, above {limit:.1f}"
        )
        return UpdateVerdict(index, Outcome.SLASHED, signal.name, reason, features)
    return UpdateVerdict(
        index, Outcome.EXCLUDED, first.rule, f"{first.reason}: left out, not slashed", features
    )


# ------------------------------------------------------------------------------------------- aggregation


def bounded_weights(num_samples: Sequence[int], cap: float) -> NDArray[np.float64]:
    """Sample counts capped at ``cap`` times their median: a claimed count cannot buy the aggregate."""
    counts = np.asarray([float(c) for c in num_samples], dtype=np.float64)
    limit = cap * float(np.median(counts))
    return np.minimum(counts, max(limit, 1.0))


def clip_to_median_norm(
    updates: FloatArray, multiple: float = 1.0, *, norms: NDArray[np.float64] | None = None
) -> FloatArray:
    """Each row scaled down to at most ``multiple`` times the rows' median norm [Sun et al., 2019, "Can You
    Really Backdoor Federated Learning?"]: no accepted update moves the aggregate by more than a couple of
    typical ones, while honest nodes with more data (more local steps, larger updates) still count.

    Only the rows above the bound are rescaled (in float64, then back to the matrix's dtype); when none is,
    ``updates`` itself is returned, uncopied. ``norms``: the rows' norms when already measured."""
    norms = row_norms(updates) if norms is None else norms
    bound = multiple * float(np.median(norms))
    over = np.flatnonzero(norms > bound)
    if not over.size:
        return updates
    clipped = updates.copy()
    factor = bound / norms[over]
    clipped[over] = (updates[over].astype(np.float64) * factor[:, None]).astype(updates.dtype)
    return clipped


def aggregate_accepted(
    updates: FloatArray,
    num_samples: Sequence[int],
    accepted: Sequence[int],
    config: DefenseConfig,
    *,
    norms: NDArray[np.float64] | None = None,
) -> FloatArray:
    """The configured aggregate of the accepted rows, each with bounded influence; zeros when none.

    ``norms``: every row's ``‖Δ‖`` when screening already measured it (``update_norm``)."""
    if not accepted:
        return np.zeros(updates.shape[1], dtype=updates.dtype)
    rows = np.asarray(accepted, dtype=np.int64)
    everyone = len(rows) == len(updates) and bool((rows == np.arange(len(rows))).all())
    chosen = updates if everyone else updates[rows]  # a view when every update is accepted
    if config.enabled and config.clip_to_median_norm:
        chosen = clip_to_median_norm(
            chosen, config.clip_multiple, norms=None if norms is None else norms[rows]
        )
    weights = bounded_weights([num_samples[i] for i in rows], config.sample_weight_cap)
    num_malicious = int(config.aggregator_malicious_fraction * len(rows))
    aggregate = get_aggregator(config.aggregator)
    return aggregate(chosen, weights, num_malicious=num_malicious)


def aggregate_verdicts(
    updates: FloatArray, num_samples: Sequence[int], verdicts: Sequence[UpdateVerdict], config: DefenseConfig
) -> FloatArray:
    """``aggregate_accepted`` of the updates the verdicts accept, with the norms screening measured."""
    accepted = [v.index for v in verdicts if v.accepted]
    norms = np.array([v.features["update_norm"] for v in verdicts], dtype=np.float64)
    return aggregate_accepted(updates, num_samples, accepted, config, norms=norms)
