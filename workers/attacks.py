"""Byzantine node behaviours for simulations: what a dishonest node sends instead of its honest update.

- "gaussian": Δ + N(0, σ²) per weight, the Gaussian Byzantine workers of [Blanchard et al., 2017]. With
  `norm_matched` the noise is rescaled so that ‖noise‖ = ‖Δ_honest‖: the update stays about honest-sized
  (‖sent‖ ≈ √2·‖Δ‖, the noise being near-orthogonal to Δ), so a plain norm threshold does not catch it.
- "label_flip": trains honestly on poisoned labels, y -> C-1-y (or `label_map`) for a fraction of the data
  [Tolpegin et al., 2020, "Data Poisoning Attacks Against Federated Learning Systems"]; the update itself
  is sent as trained.
- "sign_flip": sends -scale·Δ, pushing the model up the loss [Li et al., 2019, "RSA: Byzantine-Robust
  Stochastic Aggregation Methods for Distributed Learning from Heterogeneous Datasets"].

All functions are pure: randomness comes from the `np.random.Generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from workers.models import ModelSpec
from workers.tensors import Weights, l2_norm
from workers.training import LocalUpdate, TrainConfig, train_local

AttackKind = Literal["none", "gaussian", "label_flip", "sign_flip"]
ATTACK_KINDS: tuple[AttackKind, ...] = ("none", "gaussian", "label_flip", "sign_flip")


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

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise AttackConfigError(f"kind must be one of {list(ATTACK_KINDS)}, found {self.kind!r}")
        for name in ("sigma", "flip_fraction", "scale", "start_round"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AttackConfigError(f"{name} must be a number, found {value!r}")
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


@dataclass(frozen=True)
class CohortKnowledge:
    """What a colluding or omniscient attacker knows of the round's benign updates."""

    benign: np.ndarray  # (k, d) float32 flattened updates the attacker knows are benign (k >= 1)
    num_nodes: int  # n of the round
    num_malicious: int  # f of the round


def needs_cohort(cfg: AttackConfig) -> bool:
    """Whether the attack crafts its update from the benign updates of the round."""
    return False


def needs_training(cfg: AttackConfig) -> bool:
    """Whether the attack trains on altered data (its update is not a transform of the honest one)."""
    return cfg.kind in ("label_flip", "backdoor")


def crafted_update(
    benign_delta: Weights, cfg: AttackConfig, rng: np.random.Generator, knowledge: CohortKnowledge | None
) -> Weights:
    """What the attacker sends in place of its own (honest- or poison-trained) ``benign_delta``."""
    return attack_update(benign_delta, cfg, rng)


def is_active(cfg: AttackConfig, round_idx: int) -> bool:
    """Whether the node misbehaves in this round."""
    return cfg.kind != "none" and round_idx >= cfg.start_round


def check_classes(cfg: AttackConfig, num_classes: int) -> None:
    """Raises AttackConfigError if label_map names a class outside 0..num_classes-1."""
    for src, dst in (cfg.label_map or {}).items():
        if src >= num_classes or dst >= num_classes:
            raise AttackConfigError(
                f"label_map entry {src} -> {dst} is outside the classes 0..{num_classes - 1}"
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


def attack_update(delta: Weights, cfg: AttackConfig, rng: np.random.Generator) -> Weights:
    """The update a node of this kind sends in place of its honest Δ (a new dict; Δ is not modified)."""
    if cfg.kind == "sign_flip":
        return {name: delta[name] * -cfg.scale for name in sorted(delta)}
    if cfg.kind != "gaussian":
        return {name: delta[name].clone() for name in sorted(delta)}
    noise = {
        name: torch.from_numpy(rng.standard_normal(tuple(delta[name].shape), dtype=np.float32))
        for name in sorted(delta)
    }
    if cfg.norm_matched:
        noise_norm = l2_norm(noise)
        factor = l2_norm(delta) / noise_norm if noise_norm > 0 else 0.0
    else:
        factor = cfg.sigma
    return {name: delta[name] + noise[name] * factor for name in sorted(delta)}


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

    `seed` drives both the training shuffle and the attack's randomness, so a run is reproducible.
    The reported num_samples is the node's true count (a liar on that is a different attack).
    """
    if not is_active(attack_cfg, round_idx):
        return train_local(model_spec, global_weights, x, y, train_cfg, seed=seed)
    rng = np.random.default_rng(seed)
    labels = poison_labels(y, model_spec.num_classes, attack_cfg, rng)
    honest = train_local(model_spec, global_weights, x, labels, train_cfg, seed=seed)
    sent = attack_update(honest.delta, attack_cfg, rng)
    return LocalUpdate(delta=sent, num_samples=honest.num_samples, train_loss=honest.train_loss)
