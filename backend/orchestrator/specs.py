"""What an experiment is made of: its configuration and its attack plan, as validated input."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.engine.shield import DefenseConfig
from workers.attacks import AttackConfig, AttackKind, Perturbation
from workers.partition import PartitionScheme
from workers.training import DEFAULT_TRAIN, OptimizerName, TrainConfig

NodeKind = Literal["simulated", "external"]  # simulated: the orchestrator trains it on a data slot
ModelChoice = Literal["auto", "mlp", "cnn"]
MAX_NODES = 256
MIN_ROUND_DEADLINE_S = 1.0
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
DATASET_ID_PATTERN = r"^[A-Za-z0-9_.-]+$"


class AttackPlan(BaseModel):
    """Which simulated nodes attack, how, and from which round (the Attack Lab's settings)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: AttackKind = "none"
    sigma: float = Field(1.0, ge=0, le=1e6)  # gaussian: noise scale
    norm_matched: bool = True  # gaussian: rescale noise to the honest update's norm
    flip_fraction: float = Field(1.0, ge=0, le=1)  # label_flip: share of labels flipped
    scale: float = Field(1.0, gt=0, le=1e6)  # sign_flip: Δ -> -scale * Δ
    epsilon: float = Field(0.5, gt=0, le=1e6)  # ipm: Δ -> -epsilon * mean of the benign updates
    z: float | None = Field(None, ge=0, le=100)  # alie: μ - z·std; None: the paper's z_max for n and f
    perturbation: Perturbation = "std"  # min_max, min_sum: the direction, -unit(μ) / -std / -sign(μ)
    boost: float | None = Field(None, gt=0, le=1e6)  # backdoor: Δ -> boost * Δ; None: the number of nodes
    norm_cap: float | None = Field(None, gt=0, le=100)  # backdoor: Δ scaled to this x the median honest norm
    target_label: int = Field(0, ge=0, le=10_000)  # backdoor: class the trigger leads to
    poison_fraction: float = Field(0.5, gt=0, le=1)  # backdoor: share of the attacker's samples triggered
    num_attackers: int = Field(
        default=0, ge=0, le=MAX_NODES
    )  # the last N simulated slots, unless `nodes` is given
    start_round: int = Field(1, ge=1)  # first round in which the attackers attack
    # Explicit attackers by wallet address (extension); overrides num_attackers when given.
    nodes: list[Annotated[str, Field(pattern=ADDRESS_PATTERN)]] | None = Field(
        default=None, max_length=MAX_NODES
    )

    @property
    def active(self) -> bool:
        return self.kind != "none" and (self.num_attackers > 0 or bool(self.nodes))

    def attack_config(self, *, start_round: int = 0) -> AttackConfig:
        """The `workers.attacks.AttackConfig` an attacker of this plan runs (0-based `start_round`)."""
        shared = self.model_dump(include=_SHARED_OPTIONS)
        # The plan allows flip_fraction 0 (a no-op), the attack does not.
        shared["flip_fraction"] = max(self.flip_fraction, 1e-6)
        return AttackConfig(**shared, start_round=start_round)

    def check_classes(self, num_classes: int) -> None:
        """Raises ValueError if the backdoor's target_label is not one of the dataset's classes."""
        if self.kind == "backdoor" and self.target_label >= num_classes:
            raise ValueError(
                f"attack.target_label {self.target_label} is not a class of the dataset "
                f"(classes 0..{num_classes - 1})"
            )


# The options a plan hands its attackers' AttackConfig, by name; the config's own defaults for the rest.
_SHARED_OPTIONS = {f.name for f in dataclasses.fields(AttackConfig)} & set(AttackPlan.model_fields) - {
    "start_round"
}


class ExperimentCreate(BaseModel):
    """Everything that defines an experiment; stored as given (defaults filled) and recorded per round."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "name": "digits under attack",
                    "dataset_id": "digits",
                    "num_nodes": 5,
                    "rounds": 5,
                    "attack": {"kind": "sign_flip", "num_attackers": 1},
                },
                {"name": "wine", "dataset_id": "wine", "num_nodes": 3, "rounds": 2, "partition": "dirichlet"},
            ]
        },
    )

    name: str = Field(..., min_length=1, max_length=200)
    dataset_id: str = Field(..., min_length=1, max_length=64, pattern=DATASET_ID_PATTERN)
    num_nodes: int = Field(5, ge=1, le=MAX_NODES)
    partition: PartitionScheme = "iid"
    alpha: float = Field(0.5, gt=0, le=1000)  # Dirichlet concentration (partition="dirichlet")
    rounds: int = Field(10, ge=1, le=10_000)
    # Local training: the product's one default (workers.training.DEFAULT_TRAIN), what the bench measures.
    local_epochs: int = Field(DEFAULT_TRAIN.epochs, ge=1, le=100)
    batch_size: int = Field(DEFAULT_TRAIN.batch_size, ge=1, le=4096)
    learning_rate: float = Field(DEFAULT_TRAIN.lr, gt=0, le=10)
    optimizer: OptimizerName = DEFAULT_TRAIN.optimizer
    momentum: float = Field(DEFAULT_TRAIN.momentum, ge=0, lt=1)  # SGD only
    model: ModelChoice = "auto"  # "auto": a CNN for images, an MLP otherwise
    defense: DefenseConfig = Field(default_factory=lambda: DefenseConfig.model_validate({}))
    attack: AttackPlan | None = None
    seed: int = Field(0, ge=0, le=2**31 - 1)
    # Seconds a round waits for updates after opening (at least 1 s: nodes need time to train and post);
    # None: the orchestrator's default.
    round_deadline_s: float | None = Field(None, ge=MIN_ROUND_DEADLINE_S, le=86_400)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("name must not be blank")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError("name must not contain control characters")
        return name

    def train_config(self) -> TrainConfig:
        """The local training every node of this experiment runs (published in each task)."""
        return TrainConfig(
            epochs=self.local_epochs, batch_size=self.batch_size, lr=self.learning_rate,
            optimizer=self.optimizer, momentum=self.momentum,
        )  # fmt: skip

    @model_validator(mode="after")
    def _attackers_fit(self) -> ExperimentCreate:
        if self.attack is not None and self.attack.num_attackers > self.num_nodes:
            raise ValueError(
                f"attack.num_attackers ({self.attack.num_attackers}) exceeds num_nodes ({self.num_nodes})"
            )
        return self
