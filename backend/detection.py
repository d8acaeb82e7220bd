"""The Byzantine shield: screens a round's updates before aggregation and explains every verdict.

Vocabulary. The product brief calls a node's *update* its local model ``w_local``; on the wire a node
sends ``Δ = w_local - w_global`` (what aggregation averages). The brief's two checks are therefore, exactly:

- ``norm_threshold``: the submitted local model's L2 norm ``‖w_global + Δ‖`` must not exceed
  ``NORM_THRESHOLD = 1000.0``;
- ``distance_threshold``: its L2 distance from the global model, ``‖Δ‖``, must not exceed
  ``distance_threshold``.

These absolute bounds stop gross garbage but miss sign flipping, norm-matched noise and label flipping,
whose updates have ordinary norms. The rules below catch those; each is a small pure function over plain
arrays, and each was kept because it measurably separated attackers from honest Dirichlet(0.5) nodes on
the defense bench (``fedshield bench defense``):

- ``norm_mad``: robust z-score of ``log ‖Δ‖`` against the round's median / MAD, on both sides: boosted
  or noisy updates, and near-empty free riders [Rousseeuw & Croux, 1993; Yin et al., 2018].
- ``quiet_energy``: the share of an update's energy on the coordinates the cohort leaves quiet, relative
  to what isotropic noise would put there. Trained updates concentrate on common coordinates [Aji &
  Heafield, 2017]; Gaussian noise cannot, even when its norm is matched to an honest update's.
- ``root_alignment``: the update's direction against the orchestrator's small clean *root set* (FLTrust's
  root data [Cao et al., NDSS 2021]; validation-based screening as in Zeno [Xie et al., ICML 2019]). Two
  signals are summed: ``label_alignment``, what the update teaches on root samples (for each root class
  ``c``, the mean change of every logit on samples of ``c``; centring each logit's change over the classes
  removes the prior shift any skewed node legitimately causes; the cosine of what remains with the
  identity says whether samples of ``c`` are pushed towards label ``c``), plus half the cosine to the
  trusted root update (FLTrust). Honest skewed nodes score positive; sign and label flips score negative.
- ``cosine_trusted`` / ``cosine_reference``: cosine to the trusted root update and to the cohort's
  coordinate-wise median [Yin et al., 2018]. Under label skew honest cosines go below zero, so these only
  reject blatantly opposed updates. ``cosine_reference`` applies only when no trusted update is held: 45%
  sign flippers drag the median far enough to put honest nodes at -0.6 (measured).
- ``isolation`` (off by default): the best cosine to any other update, FLAME's density idea of leaving
  out directions nobody shares [Nguyen et al., USENIX Security 2022]; measured redundant with
  ``quiet_energy`` here, kept for models where the noise test is weak.
- ``trust_score``: cross-round reputation [Jøsang & Ismail, 2002, "The Beta Reputation System"]: the
  share of rounds a node was accepted in, with a uniform prior. A node below ``trust_min`` is rejected
  only while its update is also borderline on ``root_alignment``, so an honest node wrongly flagged once is
  never locked out.

Assumption, measured: honest local training must be stable (e.g. a few full-batch steps, as
``backend.simulation.DEFAULT_TRAIN``). With aggressive local steps (large learning rate with momentum,
tiny batches) a very skewed honest node genuinely damages the model on every class, and on the root set it
then looks like a label flipper; the shield would flag it.

Guard rails. Cohort-relative rules abstain below ``min_cohort`` updates. They never reject more than
``max_reject_fraction`` of the cohort (half by default), counting the brief's absolute checks, which always
apply (they are validity bounds, not estimates): if more are flagged, the most severe flags are rejected
and the least certain accepted, with a reason saying so. Without an honest majority robust statistics
cannot separate, and we accept rather than guess. Every verdict carries every feature computed, the rule
that decided it and the number against its threshold. ``screen_round`` is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.aggregators import AGGREGATORS, get_aggregator

NORM_THRESHOLD = 1000.0  # product brief: max L2 norm of a submitted local model
DISTANCE_THRESHOLD = 100.0  # max L2 distance of a local model from the global one: a generous sanity bound

FloatArray = NDArray[np.floating]


class DefenseConfig(BaseModel):
    """Every knob of the shield; JSON-serializable and recorded with every round."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True  # False: accept every update and only aggregate (the undefended baseline)

    # --- the product brief's absolute checks (always applied, never capped)
    use_norm_threshold: bool = True  # reject ‖w_global + Δ‖ > norm_threshold
    norm_threshold: float = Field(default=NORM_THRESHOLD, gt=0)  # the brief's NORM_THRESHOLD
    use_distance_threshold: bool = True  # reject ‖Δ‖ > distance_threshold
    distance_threshold: float = Field(default=DISTANCE_THRESHOLD, gt=0)  # generous; robust rules do the rest

    # --- robust norm statistics over the round, in log scale (norms are multiplicative)
    use_norm_mad: bool = True
    norm_mad_high_z: float = Field(default=6.0, gt=0)  # reject robust z above this: boosted or noisy
    norm_mad_low_z: float = Field(default=6.0, gt=0)  # reject robust z below minus this: free riders
    norm_mad_floor: float = Field(default=0.2, ge=0)  # least MAD (log units): ±20% norms never stand out

    # --- noise: energy on the coordinates honest training leaves quiet
    use_quiet_energy: bool = True
    quiet_fraction: float = Field(default=0.5, gt=0, lt=1)  # share of coordinates inspected, the quietest
    quiet_energy_max: float = Field(default=0.4, gt=0)  # reject above this, in isotropic noise's units

    # --- direction against the orchestrator's clean root set
    use_root_alignment: bool = True
    root_alignment_min: float = 0.0  # reject label_alignment + trusted_weight * cosine_trusted below this
    trusted_weight: float = Field(default=0.5, ge=0)  # weight of the root-update cosine in root_alignment
    use_cosine_trusted: bool = True
    cosine_trusted_min: float = -0.6  # reject cosine to the trusted root update below this (blatant only)

    # --- direction against the cohort
    use_cosine_reference: bool = True  # only without a trusted update: attackers can drag the median
    cosine_reference_min: float = -0.6  # reject cosine to the coordinate-wise median below this
    use_isolation: bool = False  # measured redundant with quiet_energy on our bench; off by default
    isolation_min_cosine: float = 0.05  # reject when the best cosine to any other update is below this

    # --- cross-round reputation
    use_trust_score: bool = True
    trust_min: float = Field(default=0.35, ge=0, le=1)  # reputation below which borderline updates go
    trust_borderline: float = Field(default=0.15, ge=0)  # borderline: root_alignment within this of its min
    trust_min_rounds: int = Field(default=3, ge=0)  # rounds seen before a node's reputation counts

    # --- guard rails
    min_cohort: int = Field(default=5, ge=2)  # cohort-relative rules abstain below this many updates
    max_reject_fraction: float = Field(default=0.5, gt=0, le=1)  # cap on rejections by cohort-relative rules

    # --- aggregation of the accepted updates
    aggregator: str = "fedavg"  # one of backend.aggregators.AGGREGATORS
    aggregator_malicious_fraction: float = Field(default=0.2, ge=0, lt=0.5)  # f/n for Krum, trimmed mean

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
    accepted: bool
    rule: str | None  # the rule that decided a rejection; None when accepted
    reason: str  # human text, e.g. "root alignment -0.31 below 0.00"
    features: dict[str, float]  # every feature computed for this update


@dataclass(frozen=True)
class RootEvidence:
    """Logits the orchestrator measured on its clean root set this round (see ``label_alignment``)."""

    labels: NDArray[np.integer]  # (m,) root labels
    global_logits: FloatArray  # (m, k) logits of w_global
    update_logits: FloatArray  # (n, m, k) logits of w_global + Δ_i, one slice per update


@dataclass
class NodeRecord:
    """What the shield remembers about one node across rounds."""

    seen: int = 0
    accepted: int = 0

    @property
    def trust(self) -> float:
        """Beta-reputation expectation with a uniform prior: (accepted + 1) / (seen + 2)."""
        return (self.accepted + 1) / (self.seen + 2)


@dataclass
class DefenseHistory:
    """Cross-round memory, keyed by node id; ``screen_round`` reads it, the caller ``record``s a round."""

    nodes: dict[Hashable, NodeRecord] = field(default_factory=dict)

    def record(self, node_ids: Sequence[Hashable], verdicts: Sequence[UpdateVerdict]) -> None:
        """Adds one round's verdicts to the nodes' records."""
        for verdict in verdicts:
            node = self.nodes.setdefault(node_ids[verdict.index], NodeRecord())
            node.seen += 1
            node.accepted += int(verdict.accepted)

    def trust_of(self, node_id: Hashable) -> tuple[float, int]:
        """A node's reputation and how many rounds it rests on (a newcomer: 0.5 on 0 rounds)."""
        node = self.nodes.get(node_id, NodeRecord())
        return node.trust, node.seen


@dataclass(frozen=True)
class RoundOutcome:
    """Verdicts of a round and the aggregate of what was accepted."""

    verdicts: list[UpdateVerdict]
    aggregated_delta: FloatArray  # (d,); zeros when nothing was accepted
    accepted_indices: list[int]


# ----------------------------------------------------------------------------------------- feature maths


def cosine_rows(rows: FloatArray, reference: FloatArray) -> NDArray[np.float64]:
    """Cosine of each row with ``reference``; 0 where either is the zero vector."""
    x = rows.astype(np.float64)
    ref = reference.astype(np.float64)
    denom = np.linalg.norm(x, axis=1) * np.linalg.norm(ref)
    dots = x @ ref
    return np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)


def robust_z(values: FloatArray, floor: float = 0.0) -> NDArray[np.float64]:
    """``(x - median) / (1.4826 * MAD)``, the MAD floored at ``floor`` [Rousseeuw & Croux, 1993]."""
    v = values.astype(np.float64)
    median = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - median))
    scale = max(mad, floor, 1e-12)
    z: NDArray[np.float64] = (v - median) / scale
    return z


def log_norm_z(updates: FloatArray, floor: float) -> NDArray[np.float64]:
    """Robust z-score of ``log ‖Δ_i‖`` within the round (norms are multiplicative, so log scale)."""
    norms = np.linalg.norm(updates.astype(np.float64), axis=1)
    return robust_z(np.log(np.maximum(norms, 1e-12)), floor)


def quiet_energy(updates: FloatArray, quiet_fraction: float) -> NDArray[np.float64]:
    """Share of each update's energy on the cohort's quietest coordinates, over isotropic noise's share.

    Gradient-trained updates concentrate their energy on a common subset of coordinates (most of a
    gradient's mass sits in few of them [Aji & Heafield, 2017, "Sparse Communication for Distributed
    Gradient Descent"]); noise cannot. The quiet set is the ``quiet_fraction`` of coordinates with the
    smallest coordinate-wise median ``|Δ|`` over the cohort, robust while honest updates are the majority.
    Honest updates score ~0.1, pure noise ~1, an honest update plus equal-norm noise ~0.55.
    """
    x = updates.astype(np.float64)
    typical = np.median(np.abs(x), axis=0)  # (d,)
    quiet = typical <= np.quantile(typical, quiet_fraction)
    share_if_isotropic = quiet.mean()
    energy = np.einsum("ij,ij->i", x, x)
    quiet_part = np.einsum("ij,ij->i", x[:, quiet], x[:, quiet])
    share = np.divide(quiet_part, energy, out=np.zeros_like(energy), where=energy > 0)
    result: NDArray[np.float64] = share / share_if_isotropic
    return result


def neighbour_cosine(updates: FloatArray, trusted_update: FloatArray | None = None) -> NDArray[np.float64]:
    """Each update's best cosine to any *other* update (and to the trusted update when given)."""
    x = updates.astype(np.float64)
    norms = np.linalg.norm(x, axis=1)
    unit = np.divide(x, norms[:, None], out=np.zeros_like(x), where=norms[:, None] > 0)
    sims = unit @ unit.T  # (n, n)
    np.fill_diagonal(sims, -np.inf)
    best = sims.max(axis=1) if len(x) > 1 else np.full(len(x), -np.inf)
    if trusted_update is not None:
        best = np.maximum(best, cosine_rows(x, trusted_update))
    result: NDArray[np.float64] = np.where(np.isfinite(best), best, 0.0)
    return result


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


# ------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleCheck:
    """One rule's threshold test on one update: the number, its limit, and whether it tripped."""

    rule: str  # e.g. "root_alignment"
    feature: str  # the feature tested, a key of UpdateVerdict.features
    value: float
    threshold: float
    bound: Literal["max", "min"]  # "max": reject above the threshold; "min": reject below it
    tripped: bool
    tier: int  # 0: the brief's absolute checks, 1: robust rules, 2: reputation
    severity: float  # how far past the threshold, in the rule's own scale (0 when not tripped)
    reason: str  # "root alignment -0.31 below 0.00"


@dataclass(frozen=True)
class Rule:
    """A threshold rule: which feature it tests, against which DefenseConfig field, on which side."""

    name: str
    feature: str
    label: str  # how a reason names the number
    bound: Literal["max", "min"]  # "max": reject above the threshold; "min": reject below it
    switch: str  # the DefenseConfig flag that enables it
    limit_field: str  # the DefenseConfig field holding the threshold
    tier: int = 1  # 0: the brief's absolute checks (kept first when rejections are capped), 1: robust rules
    negate: bool = False  # the threshold is minus the field (the low side of norm_mad)
    unit_scale: bool = False  # severity in absolute units (cosines), else relative to the threshold
    fallback_for: str | None = None  # applies only when this feature is absent (no better signal held)

    def applies(self, features: dict[str, float], config: DefenseConfig) -> bool:
        if not getattr(config, self.switch) or self.feature not in features:
            return False
        return self.fallback_for is None or self.fallback_for not in features

    def threshold(self, config: DefenseConfig) -> float:
        value = float(getattr(config, self.limit_field))
        return -value if self.negate else value

    def check(self, value: float, config: DefenseConfig) -> RuleCheck:
        limit = self.threshold(config)
        past = value - limit if self.bound == "max" else limit - value
        scale = 1.0 if self.unit_scale else max(abs(limit), 1e-12)
        side = "above" if self.bound == "max" else "below"
        reason = f"{self.label} {value:.2f} {side} {limit:.2f}"
        return RuleCheck(
            self.name,
            self.feature,
            value,
            limit,
            self.bound,
            past > 0,
            self.tier,
            max(past, 0.0) / scale,
            reason,
        )


RULES: tuple[Rule, ...] = (  # in order of precedence: the first tripped rule names a rejection
    Rule("norm_threshold", "model_norm", "model norm", "max", "use_norm_threshold", "norm_threshold", tier=0),
    Rule("distance_threshold", "update_norm", "distance", "max", "use_distance_threshold", "distance_threshold",
         tier=0),
    Rule("norm_mad", "norm_z", "norm robust z", "max", "use_norm_mad", "norm_mad_high_z"),
    Rule("norm_mad", "norm_z", "norm robust z", "min", "use_norm_mad", "norm_mad_low_z", negate=True),
    Rule("quiet_energy", "quiet_energy", "quiet-coordinate energy", "max", "use_quiet_energy",
         "quiet_energy_max"),
    Rule("root_alignment", "root_alignment", "root alignment", "min", "use_root_alignment",
         "root_alignment_min", unit_scale=True),
    Rule("cosine_trusted", "cosine_trusted", "cosine to root update", "min", "use_cosine_trusted",
         "cosine_trusted_min", unit_scale=True),
    Rule("cosine_reference", "cosine_reference", "cosine to median", "min", "use_cosine_reference",
         "cosine_reference_min", unit_scale=True, fallback_for="cosine_trusted"),
    Rule("isolation", "neighbour_cosine", "best neighbour cosine", "min", "use_isolation",
         "isolation_min_cosine", unit_scale=True),
)  # fmt: skip


def rule_checks(features: dict[str, float], config: DefenseConfig) -> list[RuleCheck]:
    """Every enabled rule whose feature was computed, tested against its threshold, in precedence order."""
    checks = [r.check(features[r.feature], config) for r in RULES if r.applies(features, config)]
    if config.use_trust_score and "trust" in features:
        checks.append(_trust_check(features, config))
    return checks


def _trust_check(features: dict[str, float], config: DefenseConfig) -> RuleCheck:
    """Low reputation rejects only a borderline update of a node seen for long enough."""
    trust, limit = features["trust"], config.trust_min
    margin = features.get("root_alignment", np.inf) - config.root_alignment_min
    if not config.use_root_alignment:
        margin = np.inf
    tripped = (
        features["trust_rounds"] >= config.trust_min_rounds
        and trust < limit
        and margin <= config.trust_borderline
    )
    reason = f"trust {trust:.2f} below {limit:.2f}"
    if tripped:
        reason += f" with a borderline update (root alignment margin {margin:.2f})"
    return RuleCheck(
        "trust_score", "trust", trust, limit, "min", bool(tripped), 2, max(limit - trust, 0.0), reason
    )


# -------------------------------------------------------------------------------------------- screening


def compute_features(
    updates: FloatArray,
    global_weights: FloatArray,
    config: DefenseConfig,
    *,
    trusted_update: FloatArray | None = None,
    root_evidence: RootEvidence | None = None,
    trust: Sequence[tuple[float, int]] | None = None,
) -> list[dict[str, float]]:
    """Every feature of every update of the round, as plain floats."""
    n = updates.shape[0]
    x = updates.astype(np.float64)
    columns: dict[str, NDArray[np.float64]] = {
        "update_norm": np.linalg.norm(x, axis=1),
        "model_norm": np.linalg.norm(x + global_weights.astype(np.float64)[None, :], axis=1),
    }
    if n >= config.min_cohort:
        columns["norm_z"] = log_norm_z(x, config.norm_mad_floor)
        columns["quiet_energy"] = quiet_energy(x, config.quiet_fraction)
        columns["cosine_reference"] = cosine_rows(x, np.median(x, axis=0))
        columns["neighbour_cosine"] = neighbour_cosine(x, trusted_update)
    if trusted_update is not None:
        columns["cosine_trusted"] = cosine_rows(x, trusted_update)
    if root_evidence is not None:
        if root_evidence.update_logits.shape[0] != n:
            raise ValueError(
                f"root evidence has {root_evidence.update_logits.shape[0]} updates, round has {n}"
            )
        columns["label_alignment"] = label_alignment(root_evidence)
        columns["root_alignment"] = root_alignment(
            columns["label_alignment"], columns.get("cosine_trusted"), config.trusted_weight
        )
    if trust is not None:
        columns["trust"] = np.array([t for t, _ in trust], dtype=np.float64)
        columns["trust_rounds"] = np.array([r for _, r in trust], dtype=np.float64)
    return [{name: float(values[i]) for name, values in columns.items()} for i in range(n)]


def screen_round(
    updates: FloatArray,
    num_samples: Sequence[int],
    global_weights: FloatArray,
    config: DefenseConfig,
    *,
    trusted_update: FloatArray | None = None,
    root_evidence: RootEvidence | None = None,
    history: DefenseHistory | None = None,
    node_ids: Sequence[Hashable] | None = None,
) -> list[UpdateVerdict]:
    """One verdict per update of the round, in order. Pure: reads ``history``, never writes it.

    ``updates`` is the ``(n, d)`` stack of flattened ``Δ``; ``trusted_update`` the orchestrator's own
    update on its root set; ``node_ids`` name the rows for ``history`` (default: the row indices).
    """
    n = updates.shape[0]
    if updates.ndim != 2 or global_weights.shape != (updates.shape[1],):
        raise ValueError(f"updates {updates.shape} and global weights {global_weights.shape} disagree")
    if len(num_samples) != n:
        raise ValueError(f"{len(num_samples)} sample counts for {n} updates")
    ids: Sequence[Hashable] = list(range(n)) if node_ids is None else node_ids
    trust = [history.trust_of(i) for i in ids] if history is not None else None
    features = compute_features(
        updates,
        global_weights,
        config,
        trusted_update=trusted_update,
        root_evidence=root_evidence,
        trust=trust,
    )
    if not config.enabled:
        return [UpdateVerdict(i, True, None, "defense disabled", features[i]) for i in range(n)]
    flags = [[c for c in rule_checks(f, config) if c.tripped] for f in features]
    rejected = _cap_rejections(flags, config.max_reject_fraction)
    return [_verdict(i, features[i], flags[i], i in rejected, n, len(rejected)) for i in range(n)]


def _cap_rejections(flags: list[list[RuleCheck]], max_fraction: float) -> set[int]:
    """Indices to reject: every flagged one while within the cap, else the most severe flags up to it.

    The brief's absolute checks (tier 0) are validity bounds, not statistics, so they always reject and
    are not counted against the cap: the cap limits what the cohort-relative rules may guess.
    """
    absolute = {i for i, f in enumerate(flags) if any(c.tier == 0 for c in f)}
    robust = [i for i, f in enumerate(flags) if f and i not in absolute]
    room = max(int(np.floor(max_fraction * len(flags))) - len(absolute), 0)
    if len(robust) <= room:
        return absolute | set(robust)

    def priority(i: int) -> tuple[float, int]:
        return (-max(c.severity for c in flags[i]), i)

    return absolute | set(sorted(robust, key=priority)[:room])


def _verdict(
    index: int, features: dict[str, float], flags: list[RuleCheck], rejected: bool, n: int, num_rejected: int
) -> UpdateVerdict:
    if rejected:
        first = flags[0]
        return UpdateVerdict(index, False, first.rule, first.reason, features)
    if flags:
        reason = (
            f"accepted although {flags[0].rule} flagged it ({flags[0].reason}): "
            f"rejections capped at {num_rejected} of {n}"
        )
        return UpdateVerdict(index, True, None, reason, features)
    return UpdateVerdict(index, True, None, "within every threshold", features)


def defend_and_aggregate(
    updates: FloatArray,
    num_samples: Sequence[int],
    global_weights: FloatArray,
    config: DefenseConfig,
    *,
    trusted_update: FloatArray | None = None,
    root_evidence: RootEvidence | None = None,
    history: DefenseHistory | None = None,
    node_ids: Sequence[Hashable] | None = None,
) -> RoundOutcome:
    """Screens the round, then aggregates the accepted updates with ``config.aggregator``."""
    verdicts = screen_round(
        updates,
        num_samples,
        global_weights,
        config,
        trusted_update=trusted_update,
        root_evidence=root_evidence,
        history=history,
        node_ids=node_ids,
    )
    accepted = [v.index for v in verdicts if v.accepted]
    return RoundOutcome(verdicts, aggregate_accepted(updates, num_samples, accepted, config), accepted)


def aggregate_accepted(
    updates: FloatArray, num_samples: Sequence[int], accepted: Sequence[int], config: DefenseConfig
) -> FloatArray:
    """The configured aggregate of the accepted rows; the zero update when none was accepted."""
    if not accepted:
        return np.zeros(updates.shape[1], dtype=updates.dtype)
    rows = np.asarray(accepted, dtype=np.int64)
    counts = np.asarray(num_samples, dtype=np.int64)[rows]
    num_malicious = int(config.aggregator_malicious_fraction * len(rows))
    aggregate = get_aggregator(config.aggregator)
    return aggregate(updates[rows], counts, num_malicious=num_malicious)
