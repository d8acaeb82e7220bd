"""The orchestrator's standing pool of simulated nodes, as one experiment's page sees it."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from backend.orchestrator.specs import MAX_NODES


class SimulatedNodesAdd(BaseModel):
    count: int = Field(..., ge=1, le=MAX_NODES, description="Nodes to start for the experiment")
    attackers: int = Field(
        0, ge=0, le=MAX_NODES, description="How many of them attack (the experiment's plan, by wallet)"
    )

    @model_validator(mode="after")
    def _attackers_among_them(self) -> SimulatedNodesAdd:
        if self.attackers > self.count:
            raise ValueError(f"attackers ({self.attackers}) exceeds the nodes added ({self.count})")
        return self


class SimulatedNodesAdded(BaseModel):
    addresses: list[str]  # the wallets of the nodes started, attackers last
    attackers: list[str]


class SimulatedNodesPublic(BaseModel):
    available: bool  # the orchestrator runs a pool (`fedshield serve --fleet N` or FEDSHIELD_NODE_POOL)
    capacity: int  # wallets of the pool
    idle: int  # wallets no running node holds
    running: int  # the pool's nodes serving this experiment now
    open_slots: int  # the experiment's data slots no node holds yet
    join_command: str  # how a person's own machine joins this experiment
