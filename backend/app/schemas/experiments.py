"""Experiments: `ExperimentCreate` (input) -> stored row -> `ExperimentPublic`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from backend.db.models import ExperimentRow, RoundRow
from backend.engine.shield import DefenseConfig
from backend.orchestrator.specs import AttackPlan, ExperimentCreate, ModelChoice
from workers.partition import PartitionScheme
from workers.statuses import ExperimentStatus

__all__ = ["AttackPlan", "ExperimentCreate", "ExperimentPublic"]


class ExperimentPublic(BaseModel):
    id: int
    name: str
    status: ExperimentStatus
    current_round: int  # the round open or last opened (0: not started)
    completed_rounds: int
    rounds: int
    dataset_id: str
    num_nodes: int
    registered_nodes: int
    partition: PartitionScheme
    alpha: float
    local_epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str
    model: ModelChoice
    model_spec: dict[str, Any]
    defense: DefenseConfig
    attack: AttackPlan | None
    seed: int
    round_deadline_s: float
    reward_flt: str  # FLT minted per accepted node per round, in force at creation
    slash_flt: str  # FLT slashed per caught node per round
    initial_model_hash: str
    current_model_hash: str  # the newest global model (the initial one before round 1 completes)
    accuracy: float | None  # of the newest global model on the held-out test split
    loss: float | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, row: ExperimentRow, last_completed: RoundRow | None, registered_nodes: int, deadline_s: float
    ) -> ExperimentPublic:
        config = ExperimentCreate.model_validate(row.config)
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            current_round=row.current_round,
            completed_rounds=last_completed.round if last_completed is not None else 0,
            rounds=row.rounds,
            dataset_id=row.dataset_id,
            num_nodes=config.num_nodes,
            registered_nodes=registered_nodes,
            partition=config.partition,
            alpha=config.alpha,
            local_epochs=config.local_epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            optimizer=config.optimizer,
            model=config.model,
            model_spec=row.model_spec,
            defense=config.defense,
            attack=AttackPlan.model_validate(row.attack) if row.attack else None,
            seed=config.seed,
            round_deadline_s=deadline_s,
            reward_flt=row.reward_flt,
            slash_flt=row.slash_flt,
            initial_model_hash=row.initial_model_hash,
            current_model_hash=(
                last_completed.model_hash
                if last_completed is not None and last_completed.model_hash
                else row.initial_model_hash
            ),
            accuracy=last_completed.accuracy if last_completed is not None else None,
            loss=last_completed.loss if last_completed is not None else None,
            error=row.error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
