"""What the shield measures on each update: pure feature maths over the round's ``(n, d)`` stack of updates,
and ``feature_columns``, every feature of a round as one ``(n,)`` column each.

- ``log_norm``: ``log ‖Δ‖``, judged (``log_norm_z``) against what the node's local work predicts (a
  Theil-Sen line on its log local steps [Sen, 1968]): above, boosted or noisy updates [Yin et al., 2018];
  far below, a free rider's near-empty update. The floor keeps ±20% norms from ever standing out.
- ``quiet_energy``: the share of an update's energy on the coordinates the cohort leaves quiet, relative
  to what isotropic noise would put there. Trained updates concentrate on common coordinates [Aji &
  Heafield, 2017]; Gaussian noise cannot, even when its norm is matched to an honest update's.
- ``gaussianity`` / ``noise_likeness``: how close the update's L1/L2 ratio sits to that of noise, against
  the cohort [Hoyer, 2004]; its z abstains for a cohort whose updates are not sparser than noise (Adam's).
- ``direction``: the update's direction against the orchestrator's clean *root set*, data no node trains
  on (FLTrust's root data [Cao et al., NDSS 2021]; validation-based screening as in Zeno [Xie et al., ICML
  2019]): the mean, in z units, of the cosine to the trusted root update and, with three or more classes,
  ``root_alignment`` (``label_alignment``, what the update teaches on root samples: for each root class
  ``c``, the mean change of every logit on samples of ``c``, centred over the classes so the prior shift
  any skewed node causes cancels, its cosine with the identity, plus half the trusted cosine); with two,
  ``root_teaching``; without a trusted update, the cosine to the cohort's coordinate-wise median [Yin et
  al., 2018]. ``direction_raw``, the mean of the raw parts, says whether the update opposes the root set.

Each ``*_z`` column is a robust z-score against this round's cohort (``robust_z`` [Rousseeuw & Croux,
1993]), computed only for a cohort of at least ``min_cohort`` updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray

from backend.engine.cohort_stats import (
    RowStatistics,
    column_medians,
    residual_cosines,
    row_norms,
    row_statistics,
)
from backend.engine.shield.config import DefenseConfig

FloatArray = NDArray[np.floating]


@dataclass(frozen=True)
class RootEvidence:
    """Logits the orchestrator measured on its clean root set this round (see ``label_alignment``)."""

    labels: NDArray[np.integer]  # (m,) root labels
    global_logits: FloatArray  # (m, k) logits of w_global
    update_logits: FloatArray  # (n, m, k) logits of w_global + Δ_i, one slice per update


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
    """Centred class-alignment cosine of each update on the root set (the module docstring's ``direction``).

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


# What the direction signal averages, in z units: the root-set alignment and the cosine to the trusted
# update (each alone overlaps honest skewed nodes more often than their mean does), or, without a trusted
# update, the cosine to the cohort's median. With two classes, centring leaves label alignment only a
# sign (+-0.71), no magnitude, so there the per-sample teaching score (``root_teaching``) takes its place
# beside the cosine; with more, label alignment is the steadier of the two (teaching a converged model
# is mostly noise, which its normalisation magnifies).
DIRECTION_PARTS = ("root_alignment", "cosine_trusted", "root_teaching")
DIRECTION_FALLBACK = "cosine_reference"


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
    return feature_rows(feature_columns(updates, global_weights, config, **inputs))


def feature_rows(columns: dict[str, NDArray[np.float64]]) -> list[dict[str, float]]:
    """Columns of features as one dict per update, in column order, of Python floats."""
    names = list(columns)
    table = np.column_stack([columns[name] for name in names]).tolist()  # (n, features)
    return [dict(zip(names, row, strict=True)) for row in table]


def copy_likeness(
    updates: FloatArray, median: NDArray[np.float64] | None = None, norms: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """How close each update comes to being a copy of another's: ``-log(1 - c)`` of its largest residual
    cosine ``c`` to any other update, residuals taken from the cohort's coordinate-wise median.

    Nodes training on their own data send updates that differ by that data's noise, so their residuals are
    far from parallel (a cosine of 0.4-0.9, higher for a tiny model); colluders that craft one vector
    (ALIE, IPM, Min-Max, Min-Sum) or copy another node's update send twins, whose residuals coincide
    (FoolsGold's observation [Fung et al., RAID 2020]). The log spreads the last hundredths before 1, where
    copies sit (a cosine of 0.9 gives 2.3, a copy about 14). An empty update has no residual of its own to
    share: a free rider is the free-riding rule's, not this one's.
    """
    center = column_medians(updates) if median is None else median
    cosines = residual_cosines(updates, center)
    np.fill_diagonal(cosines, -1.0)
    nearest = np.clip(cosines.max(axis=1), -1.0, 1.0)
    likeness: NDArray[np.float64] = -np.log(np.maximum(1.0 - nearest, 1e-6))
    empty = (row_norms(updates) if norms is None else norms) == 0
    result: NDArray[np.float64] = np.where(empty, 0.0, likeness)
    return result


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
        columns["copy_likeness"] = copy_likeness(updates, reference, stats.norm)
        norm_signal = columns["log_norm"]
        if local_steps is not None:
            steps = np.log(np.maximum(np.asarray(local_steps, dtype=np.float64), 1.0))
            columns["log_steps"] = steps
            norm_signal = theil_sen_residuals(steps, columns["log_norm"])
        columns["log_norm_z"] = robust_z(norm_signal, config.norm_mad_floor)
        columns["quiet_energy_z"] = robust_z(columns["quiet_energy"], config.quiet_energy_floor, "high")
        columns["copy_likeness_z"] = robust_z(columns["copy_likeness"], config.copy_floor, "high")
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
