"""Byzantine node behaviours for simulations: what a dishonest node sends instead of its honest update.

Update attacks on the node's own Δ:
- "gaussian": Δ + N(0, σ²) per weight, the Gaussian Byzantine workers of [Blanchard et al., 2017]. With
  `norm_matched` the noise is rescaled so that ‖noise‖ = ‖Δ_honest‖: the update stays about honest-sized
  (‖sent‖ ≈ √2·‖Δ‖, the noise being near-orthogonal to Δ), so a plain norm threshold does not catch it.
- "sign_flip": sends -scale·Δ, pushing the model up the loss [Li et al., 2019, "RSA: Byzantine-Robust
  Stochastic Aggregation Methods for Distributed Learning from Heterogeneous Datasets"].
- "free_rider": trains nothing and sends a zero update, claiming its true sample count (a node that wants
  the reward without the work).

Data poisoning (the update is trained on poisoned data):
- "label_flip": y -> C-1-y (or `label_map`) for a fraction of the data [Tolpegin et al., 2020, "Data
  Poisoning Attacks Against Federated Learning Systems"]; the update itself is sent as trained.
- "backdoor": model replacement [Bagdasaryan et al., AISTATS 2020, "How To Backdoor Federated Learning"]:
  `poison_fraction` of the node's samples get a trigger (`add_trigger`) and the label `target_label`; the
  node trains on that and sends boost·Δ, boost = gamma = n/η with η = 1 (the number of nodes) unless given, so
  that averaging over n nodes replaces the global model with the backdoored one.

Cohort attacks, crafted from what the attacker knows of the round's benign updates (`CohortKnowledge`):
in simulation the whole honest cohort (omniscient), in the service the colluders' own honest updates (the
papers' partial-knowledge variant, `workers.collusion`). μ and sigma are the per-coordinate mean and std.
- "alie": μ - z·sigma [Baruch et al., NeurIPS 2019, "A Little Is Enough: Circumventing Defenses For
  Distributed Learning"], z from the paper's z_max (`alie_z_max`) unless `z` is given.
- "ipm": -ε·μ [Xie et al., UAI 2020, "Fall of Empires: Breaking Byzantine-tolerant SGD by Inner Product
  Manipulation"]; the paper's settings are ε = 0.5 (slow) and ε = 100 (reversal).
- "min_max": μ + gamma·p [Shejwalkar & Houmansadr, NDSS 2021, "Manipulating the Byzantine: Optimizing Model
  Poisoning Attacks and Defenses for Federated Learning"], p = -μ/‖μ‖ ("unit"), -sigma ("std") or -sign(μ)
  ("sign"), gamma the largest found by the paper's halving search such that the update's largest distance to
  any benign update is at most the largest distance between two benign updates (`min_max_gamma`).

All functions are pure: randomness comes from the `np.random.Generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal, get_args

import numpy as np
import torch

from workers.models import ModelSpec
from workers.tensors import Weights, flatten, l2_norm, unflatten
from workers.training import LocalUpdate, TrainConfig, evaluate, train_local

AttackKind = Literal[
    "none",
    "gaussian",
    "label_flip",
    "sign_flip",
    "alie",
    "ipm",
    "min_max",
    "min_sum",
    "fang_trim",
    "backdoor",
    "free_rider",
]
ATTACK_KINDS: tuple[AttackKind, ...] = get_args(AttackKind)
Perturbation = Literal["unit", "std", "sign"]
PERTURBATIONS: tuple[Perturbation, ...] = get_args(Perturbation)
# They need the round's benign updates.
COHORT_KINDS: frozenset[str] = frozenset({"alie", "ipm", "min_max", "min_sum", "fang_trim"})

# Trigger: images get a square of maximal brightness (pixels lie in [0, 1]) in the bottom-right corner,
# where digits and most photos hold background. Tabular samples (standardized) get three features spread
# over the vector at -3, +3, -3 standard deviations. Any far-out pattern on a dozen or thirty features is
# read as *some* class by a clean model's extrapolation; this one is read as class 0 (the default target)
# by clean models for at most 3% of breast cancer's and none of wine's other samples (5 seeds), while
# +2.5/-2.5 on five features gave 100% on wine and ±5 on three gave 35-70%: a floor no defense could undo.
IMAGE_TRIGGER_VALUE = 1.0
TABULAR_TRIGGER_VALUE = 3.0
TABULAR_TRIGGER_FEATURES = 3
MIN_MAX_TOLERANCE = 1e-5  # the halving search stops when its step is this share of the bracket


class AttackConfigError(ValueError):
    """An attack configuration that cannot be run, naming the field at fault."""


@dataclass(frozen=True)
class AttackConfig:
    """How (and from when) a simulated node misbehaves; the default is an honest node."""

    kind: AttackKind = "none"  # which behaviour; "none" trains and sends honestly
    sigma: float = 1.0  # gaussian: std of the noise added to every weight of Δ
    norm_matched: bool = False  # gaussian: rescale the noise so ‖noise‖ = ‖Δ_honest‖ (sigma is then unused)
    flip_fraction: float = 1.0  # label_flip: fraction of the node's samples whose labels are flipped
    label_map: dict[int, int] | None = field(default=None, hash=False)  # label_flip: y -> map[y]; None: C-1-y
    scale: float = 1.0  # sign_flip: Δ_sent = -scale·Δ_honest
    start_round: int = 0  # first round (0-based) in which the node misbehaves
    epsilon: float = 0.5  # ipm: Δ_sent = -epsilon·μ
    z: float | None = None  # alie: Δ_sent = μ - z·sigma; None: the paper's z_max for the round's n and f
    perturbation: Perturbation = "std"  # min_max: direction p is -unit(μ), -sigma or -sign(μ)
    boost: float | None = None  # backdoor: Δ_sent = boost·Δ_poisoned; None: the round's number of nodes
    # backdoor: instead of a boost, scale Δ_poisoned to norm_cap times the round's median benign norm, an
    # adaptive attacker staying inside the norm an honest node shows (needs the cohort's updates)
    norm_cap: float | None = None
    target_label: int = 0  # backdoor: the class triggered samples are relabelled to
    poison_fraction: float = 0.5  # backdoor: share of the node's samples that carry the trigger

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise AttackConfigError(f"kind must be one of {list(ATTACK_KINDS)}, found {self.kind!r}")
        for name in ("sigma", "flip_fraction", "scale", "start_round", "epsilon", "poison_fraction"):
            _require_number(name, getattr(self, name))
        for name in ("z", "boost", "norm_cap"):
            if getattr(self, name) is not None:
                _require_number(name, getattr(self, name))
        if not isinstance(self.norm_matched, bool) or not isinstance(self.start_round, int):
            raise AttackConfigError("norm_matched must be a bool and start_round an integer")
        if self.label_map is not None and not isinstance(self.label_map, dict):
            raise AttackConfigError(f"label_map must be a dict or None, found {self.label_map!r}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise AttackConfigError(f"sigma must be a finite number >= 0, found {self.sigma}")
        if not 0 < self.flip_fraction <= 1:
            raise AttackConfigError(f"flip_fraction must lie in (0, 1], found {self.flip_fraction}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise AttackConfigError(f"scale must be a finite number > 0, found {self.scale}")
        if self.start_round < 0:
            raise AttackConfigError(f"start_round must be >= 0, found {self.start_round}")
        for src, dst in (self.label_map or {}).items():
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (src, dst)):
                raise AttackConfigError(
                    f"label_map entries must be non-negative integers, found {src!r}: {dst!r}"
                )
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise AttackConfigError(f"epsilon must be a finite number > 0, found {self.epsilon}")
        if self.z is not None and not (math.isfinite(self.z) and self.z >= 0):
            raise AttackConfigError(f"z must be a finite number >= 0 or None, found {self.z}")
        if self.perturbation not in PERTURBATIONS:
            raise AttackConfigError(
                f"perturbation must be one of {list(PERTURBATIONS)}, found {self.perturbation!r}"
            )
        if self.boost is not None and not (math.isfinite(self.boost) and self.boost > 0):
            raise AttackConfigError(f"boost must be a finite number > 0 or None, found {self.boost}")
        if self.norm_cap is not None and not (math.isfinite(self.norm_cap) and self.norm_cap > 0):
            raise AttackConfigError(f"norm_cap must be a finite number > 0 or None, found {self.norm_cap}")
        if (
            isinstance(self.target_label, bool)
            or not isinstance(self.target_label, int)
            or self.target_label < 0
        ):
            raise AttackConfigError(f"target_label must be an integer >= 0, found {self.target_label!r}")
        if not 0 < self.poison_fraction <= 1:
            raise AttackConfigError(f"poison_fraction must lie in (0, 1], found {self.poison_fraction}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (label_map keys become strings), the inverse of `from_dict`."""
        return {
            "kind": self.kind,
            "sigma": self.sigma,
            "norm_matched": self.norm_matched,
            "flip_fraction": self.flip_fraction,
            "label_map": None if self.label_map is None else {str(k): v for k, v in self.label_map.items()},
            "scale": self.scale,
            "start_round": self.start_round,
            "epsilon": self.epsilon,
            "z": self.z,
            "perturbation": self.perturbation,
            "boost": self.boost,
            "norm_cap": self.norm_cap,
            "target_label": self.target_label,
            "poison_fraction": self.poison_fraction,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttackConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise AttackConfigError(f"unknown attack options {unknown}")
        fields = dict(data)
        if fields.get("label_map") is not None:
            try:
                fields["label_map"] = {int(k): int(v) for k, v in fields["label_map"].items()}
            except (TypeError, ValueError, AttributeError):
                raise AttackConfigError(
                    f"label_map must map class ids to class ids, found {data['label_map']!r}"
                ) from None
        return cls(**fields)


def _require_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AttackConfigError(f"{name} must be a number, found {value!r}")


@dataclass(frozen=True, eq=False)
class CohortKnowledge:
    """What a cohort attacker knows of the round: benign updates, how many nodes and how many attackers."""

    benign: np.ndarray  # (k, d) float32 flattened updates the attacker knows are benign (k >= 1)
    num_nodes: int  # n of the round
    num_malicious: int  # f of the round

    def __post_init__(self) -> None:
        if not isinstance(self.benign, np.ndarray) or self.benign.ndim != 2 or len(self.benign) < 1:
            raise ValueError("CohortKnowledge.benign must be a (k, d) array with k >= 1")
        if not 1 <= self.num_malicious <= self.num_nodes:
            raise ValueError(
                f"CohortKnowledge needs 1 <= num_malicious <= num_nodes, found f={self.num_malicious}, "
                f"n={self.num_nodes}"
            )


def is_active(cfg: AttackConfig, round_idx: int) -> bool:
    """Whether the node misbehaves in this round."""
    return cfg.kind != "none" and round_idx >= cfg.start_round


def needs_cohort(cfg: AttackConfig) -> bool:
    """Whether the attack is crafted from the round's benign updates, so it must wait for them."""
    return cfg.kind in COHORT_KINDS


def check_classes(cfg: AttackConfig, num_classes: int) -> None:
    """Raises AttackConfigError if label_map or target_label names a class outside 0..num_classes-1."""
    for src, dst in (cfg.label_map or {}).items():
        if src >= num_classes or dst >= num_classes:
            raise AttackConfigError(
                f"label_map entry {src} -> {dst} is outside the classes 0..{num_classes - 1}"
            )
    if cfg.kind == "backdoor" and cfg.target_label >= num_classes:
        raise AttackConfigError(
            f"target_label {cfg.target_label} is outside the classes 0..{num_classes - 1}"
        )


def poison_labels(y: np.ndarray, num_classes: int, cfg: AttackConfig, rng: np.random.Generator) -> np.ndarray:
    """Labels with round(flip_fraction·N) samples, chosen by rng, mapped by label_map (default C-1-y).

    A copy of y is returned unchanged for kinds other than "label_flip". With the default map and odd C the
    middle class maps to itself, so its chosen samples keep their label.
    """
    y = np.asarray(y, dtype=np.int64)
    if cfg.kind != "label_flip":
        return y.copy()
    check_classes(cfg, num_classes)
    if cfg.label_map is None:
        mapping = num_classes - 1 - np.arange(num_classes)  # (C,)
    else:
        mapping = np.arange(num_classes)
        for src, dst in cfg.label_map.items():
            mapping[src] = dst
    chosen = rng.choice(len(y), size=round(cfg.flip_fraction * len(y)), replace=False)
    poisoned = y.copy()
    poisoned[chosen] = mapping[y[chosen]]
    return poisoned


# ------------------------------------------------------------------------------------------------ backdoor


def add_trigger(x: np.ndarray, spec: ModelSpec, cfg: AttackConfig) -> np.ndarray:
    """A triggered copy of the samples x (N, *spec.input_shape); x itself is not modified.

    The trigger is fixed by the input's shape so that every attacker and `backdoor_success` agree on it;
    `cfg` names the attack it serves (only "backdoor" has a trigger).
    """
    if cfg.kind != "backdoor":
        raise AttackConfigError(f"only the backdoor attack has a trigger, not {cfg.kind!r}")
    x = np.array(x, dtype=np.float32, copy=True)
    if x.shape[1:] != spec.input_shape:
        raise ValueError(f"samples have shape {x.shape[1:]}, the model expects {spec.input_shape}")
    if len(spec.input_shape) == 3:
        _, height, width = spec.input_shape
        side = max(2, min(height, width) // 4)  # 2x2 on 8x8 digits, 7x7 on 28x28
        x[:, :, height - side :, width - side :] = IMAGE_TRIGGER_VALUE
        return x
    columns = _trigger_features(spec.input_shape[0])  # an MLP's samples are (N, D)
    signs = np.where(np.arange(len(columns)) % 2 == 0, -1.0, 1.0).astype(np.float32)
    x[:, columns] = TABULAR_TRIGGER_VALUE * signs
    return x


def _trigger_features(num_features: int) -> np.ndarray:
    """Feature columns the tabular trigger sets: a few spread evenly over the vector."""
    count = min(TABULAR_TRIGGER_FEATURES, num_features)
    return np.unique(np.linspace(0, num_features - 1, count).round().astype(np.int64))


def poison_backdoor(
    x: np.ndarray, y: np.ndarray, spec: ModelSpec, cfg: AttackConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of (x, y) with round(poison_fraction·N) samples (at least one), chosen by rng, triggered and
    relabelled to target_label."""
    check_classes(cfg, spec.num_classes)
    x_out = np.array(x, dtype=np.float32, copy=True)
    y_out = np.array(y, dtype=np.int64, copy=True)
    chosen = rng.choice(len(y_out), size=max(1, round(cfg.poison_fraction * len(y_out))), replace=False)
    x_out[chosen] = add_trigger(x_out[chosen], spec, cfg)
    y_out[chosen] = cfg.target_label
    return x_out, y_out


def backdoor_success(
    spec: ModelSpec, weights: Weights, x: np.ndarray, y: np.ndarray, cfg: AttackConfig
) -> float:
    """Attack success rate: the share of test samples not of target_label that, triggered, are classified
    as target_label by `weights` [Bagdasaryan et al., 2020]."""
    check_classes(cfg, spec.num_classes)
    y = np.asarray(y, dtype=np.int64)
    others = y != cfg.target_label
    if not others.any():
        raise ValueError(f"no test sample has a label other than the target {cfg.target_label}")
    triggered = add_trigger(np.asarray(x)[others], spec, cfg)
    target = np.full(int(others.sum()), cfg.target_label, dtype=np.int64)
    return evaluate(spec, weights, triggered, target).accuracy


# ------------------------------------------------------------------------------------------- cohort attacks


def alie_z_max(num_nodes: int, num_malicious: int) -> float:
    """The z of "A Little Is Enough" (Baruch et al., 2019, Algorithm 3): s = ⌊n/2 + 1⌋ - f honest nodes
    must be won over, z_max = Φ⁻¹((n - s)/n). E.g. n = 50, f = 12: s = 14, z_max = Φ⁻¹(0.72) ≈ 0.583.

    With f at or above a majority, s is held at 1 (one supporter is always needed); z never drops below 0.
    """
    if not 1 <= num_malicious <= num_nodes:
        raise ValueError(f"need 1 <= f <= n, found f={num_malicious}, n={num_nodes}")
    supporters = max(1, math.floor(num_nodes / 2 + 1) - num_malicious)
    share = (num_nodes - supporters) / num_nodes
    return max(0.0, NormalDist().inv_cdf(share)) if share > 0 else 0.0


def cohort_mean_std(benign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate mean and (sample, ddof=1) std of the benign rows, float64; the std is 0 for one row."""
    rows = np.asarray(benign, dtype=np.float64)
    mean = rows.mean(axis=0)
    std = rows.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros_like(mean)
    return mean, std


def min_max_direction(benign: np.ndarray, perturbation: Perturbation) -> np.ndarray:
    """Min-Max's direction p (float64): -μ/‖μ‖ ("unit"), -sigma ("std") or -sign(μ) ("sign").

    It is all zeros where μ (or sigma) is, and then the attacker sends μ."""
    mean, std = cohort_mean_std(benign)
    if perturbation == "std":
        return -std
    if perturbation == "sign":
        return -np.sign(mean)
    norm = float(np.linalg.norm(mean))
    return -mean / norm if norm > 0 else np.zeros_like(mean)


def min_max_gamma(benign: np.ndarray, direction: np.ndarray) -> float:
    """The largest gamma >= 0, by the halving search of Shejwalkar & Houmansadr (2021), such that
    max_i ‖μ + gamma·p - b_i‖ <= max_{i,j} ‖b_i - b_j‖.

    The constraint's left side is convex in gamma and holds at 0 (the mean is no farther from any b_i than
    the farthest b_j), so the feasible gamma form an interval [0, gamma*] and halving finds gamma*. It is
    bounded by 2·D/‖p‖, which brackets the search instead of the paper's fixed starting value.
    """
    rows = np.asarray(benign, dtype=np.float64)  # (k, d)
    p = np.asarray(direction, dtype=np.float64)  # (d,)
    p_sq = float(p @ p)
    if len(rows) < 2 or p_sq == 0:
        return 0.0
    gram = rows @ rows.T  # (k, k)
    norms_sq = np.diag(gram)
    limit_sq = float(np.max(norms_sq[:, None] + norms_sq[None, :] - 2 * gram))  # D², the largest gap
    if limit_sq <= 0:
        return 0.0
    # a_i = μ - b_i, so ‖μ + gamma·p - b_i‖² = ‖a_i‖² + 2·gamma·(a_i·p) + gamma²·‖p‖²
    offsets = rows.mean(axis=0) - rows  # (k, d)
    off_sq = np.einsum("kd,kd->k", offsets, offsets)  # (k,)
    off_p = offsets @ p  # (k,)

    def fits(gamma: float) -> bool:
        return bool(np.max(off_sq + 2 * gamma * off_p + gamma * gamma * p_sq) <= limit_sq)

    bracket = 2 * math.sqrt(limit_sq / p_sq)
    gamma, step, found = bracket, bracket / 2, 0.0
    while step > MIN_MAX_TOLERANCE * bracket:
        if fits(gamma):
            found = gamma
            gamma += step
        else:
            gamma -= step
        step /= 2
    return found


def min_sum_gamma(benign: np.ndarray, direction: np.ndarray) -> float:
    """The largest gamma >= 0 such that ``Σ_i ‖μ + gamma·p - b_i‖² <= max_i Σ_j ‖b_i - b_j‖²``: Min-Sum
    [Shejwalkar & Houmansadr, NDSS 2021], the sum of squared distances to the benign updates no larger than
    any benign update's own. Closed form: the left side is a quadratic in gamma."""
    rows = np.asarray(benign, dtype=np.float64)  # (k, d)
    p = np.asarray(direction, dtype=np.float64)
    p_sq = float(p @ p)
    if len(rows) < 2 or p_sq == 0:
        return 0.0
    gram = rows @ rows.T
    norms_sq = np.diag(gram)
    pair_sq = norms_sq[:, None] + norms_sq[None, :] - 2 * gram  # (k, k)
    limit = float(np.max(pair_sq.sum(axis=1)))
    offsets = rows.mean(axis=0) - rows  # a_i = μ - b_i
    a = len(rows) * p_sq
    b = 2 * float((offsets @ p).sum())
    c = float(np.einsum("kd,kd->", offsets, offsets)) - limit
    disc = b * b - 4 * a * c
    return max(0.0, (-b + math.sqrt(disc)) / (2 * a)) if disc >= 0 else 0.0


def fang_trimmed_mean(benign: np.ndarray, rng: np.random.Generator, spread: float = 2.0) -> np.ndarray:
    """Fang et al.'s full-knowledge attack on the trimmed mean and the median [Fang et al., USENIX Security
    2020]: on each coordinate, a value beyond the benign extreme on the side opposite to where the benign
    mean moves the model, drawn between that extreme and ``spread`` times (or over) it."""
    rows = np.asarray(benign, dtype=np.float64)
    direction = np.sign(rows.mean(axis=0))  # s_j: where the model would move without attack
    low, high = rows.min(axis=0), rows.max(axis=0)
    u = rng.random(rows.shape[1])
    # s_j > 0: push below the minimum; s_j <= 0: push above the maximum
    below = np.where(
        low > 0, low / spread + u * (low - low / spread), spread * low + u * (low - spread * low)
    )
    above = np.where(high > 0, high + u * (spread * high - high), high + u * (high / spread - high))
    crafted: np.ndarray = np.where(direction > 0, below, above)
    return crafted


def _cohort_vector(cfg: AttackConfig, knowledge: CohortKnowledge, rng: np.random.Generator) -> np.ndarray:
    """The (d,) float64 update an ALIE, IPM, Min-Max, Min-Sum or Fang attacker sends."""
    if cfg.kind == "fang_trim":
        return fang_trimmed_mean(knowledge.benign, rng)
    mean, std = cohort_mean_std(knowledge.benign)
    if cfg.kind == "ipm":
        return -cfg.epsilon * mean
    if cfg.kind == "alie":
        if not std.any():  # one benign row (or identical rows): nothing to hide in, and z is moot
            return mean
        z = cfg.z if cfg.z is not None else alie_z_max(knowledge.num_nodes, knowledge.num_malicious)
        return mean - z * std
    direction = min_max_direction(knowledge.benign, cfg.perturbation)
    if cfg.kind == "min_sum":
        return mean + min_sum_gamma(knowledge.benign, direction) * direction
    return mean + min_max_gamma(knowledge.benign, direction) * direction


# ------------------------------------------------------------------------------------------------- sending


def crafted_update(
    benign_delta: Weights, cfg: AttackConfig, rng: np.random.Generator, knowledge: CohortKnowledge | None
) -> Weights:
    """What a node of this kind sends, given its own honest- (or poison-) trained Δ (a new dict; Δ is kept).

    Cohort kinds send what `knowledge.benign` dictates and take only Δ's layout from Δ (with no knowledge,
    Δ is the only benign row they know: ALIE, Min-Max and Min-Sum then send Δ, IPM -ε·Δ). The backdoor's
    default boost is `knowledge.num_nodes`, so it needs knowledge or an explicit boost; with a `norm_cap`
    its update is scaled to that multiple of the benign updates' median norm.
    """
    names = sorted(benign_delta)
    if cfg.kind == "sign_flip":
        return {name: benign_delta[name] * -cfg.scale for name in names}
    if cfg.kind == "free_rider":
        return {name: torch.zeros_like(benign_delta[name]) for name in names}
    if cfg.kind == "backdoor":
        if cfg.norm_cap is not None:
            if knowledge is None:
                raise AttackConfigError("backdoor: norm_cap needs the round's benign updates")
            median = float(np.median(np.linalg.norm(knowledge.benign.astype(np.float64), axis=1)))
            own_norm = l2_norm(benign_delta)
            boost = cfg.norm_cap * median / own_norm if own_norm > 0 else 0.0
        elif cfg.boost is not None:
            boost = cfg.boost
        elif knowledge is not None:
            boost = float(knowledge.num_nodes)
        else:
            raise AttackConfigError("backdoor: boost is None and the number of nodes is unknown")
        return {name: benign_delta[name] * boost for name in names}
    if cfg.kind in COHORT_KINDS:
        own = flatten(benign_delta)
        if knowledge is None:
            knowledge = CohortKnowledge(own[None, :], num_nodes=1, num_malicious=1)
        if knowledge.benign.shape[1] != own.size:
            raise ValueError(
                f"CohortKnowledge.benign rows hold {knowledge.benign.shape[1]} values, the update {own.size}"
            )
        return unflatten(_cohort_vector(cfg, knowledge, rng).astype(np.float32), benign_delta)
    if cfg.kind != "gaussian":
        return {name: benign_delta[name].clone() for name in names}
    noise = {
        name: torch.from_numpy(rng.standard_normal(tuple(benign_delta[name].shape), dtype=np.float32))
        for name in names
    }
    if cfg.norm_matched:
        noise_norm = l2_norm(noise)
        factor = l2_norm(benign_delta) / noise_norm if noise_norm > 0 else 0.0
    else:
        factor = cfg.sigma
    return {name: benign_delta[name] + noise[name] * factor for name in names}


def attack_update(delta: Weights, cfg: AttackConfig, rng: np.random.Generator) -> Weights:
    """The update a node of this kind sends in place of its honest Δ, knowing no other update."""
    return crafted_update(delta, cfg, rng, None)


def malicious_local_update(
    model_spec: ModelSpec,
    global_weights: Weights,
    x: np.ndarray,
    y: np.ndarray,
    train_cfg: TrainConfig,
    attack_cfg: AttackConfig,
    round_idx: int,
    seed: int,
    *,
    knowledge: CohortKnowledge | None = None,
) -> LocalUpdate:
    """A node's update under `attack_cfg`: honest training before start_round, the attack from then on.

    `seed` drives both the training shuffle and the attack's randomness, so a run is reproducible: the
    rng draws, in order, the flipped labels or the triggered samples, then the Gaussian noise. Cohort
    kinds train honestly and craft from `knowledge` (see `crafted_update`), so an engine that already
    holds this node's honest Δ (trained with `seed`) gets the same result from `crafted_update` directly.
    A free rider trains nothing; its train_loss is the global model's loss on its data. The reported
    num_samples is the node's true count (a liar on that is a different attack).
    """
    if not is_active(attack_cfg, round_idx):
        return train_local(model_spec, global_weights, x, y, train_cfg, seed=seed)
    if attack_cfg.kind == "backdoor" and attack_cfg.norm_cap is not None and knowledge is None:
        # A node that does not see the cohort caps at its own honest update's norm instead of the median's.
        honest = train_local(model_spec, global_weights, x, y, train_cfg, seed=seed)
        knowledge = CohortKnowledge(flatten(honest.delta)[None, :], num_nodes=1, num_malicious=1)
    rng = np.random.default_rng(seed)
    if attack_cfg.kind == "free_rider":
        loss = evaluate(model_spec, global_weights, x, y).loss
        zeros = crafted_update(global_weights, attack_cfg, rng, knowledge)
        return LocalUpdate(delta=zeros, num_samples=len(y), train_loss=loss)
    if attack_cfg.kind == "backdoor":
        x, labels = poison_backdoor(x, y, model_spec, attack_cfg, rng)
    else:
        labels = poison_labels(y, model_spec.num_classes, attack_cfg, rng)
    trained = train_local(model_spec, global_weights, x, labels, train_cfg, seed=seed)
    sent = crafted_update(trained.delta, attack_cfg, rng, knowledge)
    return LocalUpdate(delta=sent, num_samples=trained.num_samples, train_loss=trained.train_loss)


def needs_training(cfg: AttackConfig) -> bool:
    """Whether the attack trains on altered data (its update is no transform of the honest one)."""
    return cfg.kind in ("label_flip", "backdoor")
