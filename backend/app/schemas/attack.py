"""The Attack Lab's probe: would this attack be caught right now?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.engine.shield import Outcome
from backend.orchestrator.specs import DATASET_ID_PATTERN, AttackPlan


class ProbeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"dataset_id": "wine", "attack": {"kind": "sign_flip", "num_attackers": 1, "scale": 2}},
                {"experiment_id": 1, "attack": {"kind": "gaussian", "sigma": 0.5, "num_attackers": 1}},
            ],
            # The probe needs a cohort to score against: an experiment's, or a fresh one on a dataset.
            "anyOf": [
                {"required": ["experiment_id"], "properties": {"experiment_id": {"type": "integer"}}},
                {"required": ["dataset_id"], "properties": {"dataset_id": {"type": "string"}}},
            ],
        },
    )

    experiment_id: int | None = Field(None, ge=1, le=2**31 - 1)
    dataset_id: str | None = Field(None, min_length=1, max_length=64, pattern=DATASET_ID_PATTERN)
    attack: AttackPlan


class ProbeFeature(BaseModel):
    name: str
    value: float | None
    threshold: float | None  # the exclusion threshold
    slash_threshold: float | None  # the mean evidence over the slash window that slashes; None: never
    comparison: Literal["max", "min", "both"]  # "max": caught above the threshold; "min": below it
    caught: bool  # past the exclusion threshold
    outcome: Outcome  # what tripping this rule leads to on its own in one round
    rule: str  # the defense rule that tests this feature


class ProbeResult(BaseModel):
    predicted: Outcome  # for the attack sustained over the slash window
    first_round: Outcome  # in its first attacking round, before evidence accumulates
    rule: str | None
    reason: str
    features: list[ProbeFeature]
    latency_ms: float
    cached: bool
