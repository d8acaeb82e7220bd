"""The node protocol's bodies (docs/ARCHITECTURE.md, steps 2-4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Eip712Public(BaseModel):
    domain: dict[str, Any]
    types: dict[str, list[dict[str, str]]]
    primaryType: str


class SimulationPublic(BaseModel):
    """How a simulated node recomputes its share of the data (and whether it attacks this round)."""

    dataset: str
    test_fraction: float
    split_seed: int
    partition: str
    alpha: float
    shards_per_node: int
    min_samples: int | None
    seed: int
    num_nodes: int
    node_index: int
    attack: dict[str, Any] | None
    data_url: str | None


class TaskPublic(BaseModel):
    experiment_id: int
    status: str
    round: int | None  # the round open for updates; None between rounds or when not running
    base_model_hash: str | None
    model_spec: dict[str, Any]
    train_config: dict[str, Any]
    deadline: str | None
    eip712: Eip712Public
    schema_: dict[str, Any] = Field(..., alias="schema")  # the experiment's DatasetSpec
    standardizer: dict[str, Any] | None
    simulation: SimulationPublic | None
    registered: bool
    submitted: bool
    poll_after_s: float

    model_config = ConfigDict(populate_by_name=True)


class UpdateAccepted(BaseModel):
    accepted_for_screening: bool
    round: int
