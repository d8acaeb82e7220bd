"""Simulated nodes for an experiment from the orchestrator's standing pool, and how to join it by hand."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from backend.app.deps import AdminDep, ExperimentId, OrchestratorDep
from backend.app.schemas.simulated_nodes import SimulatedNodesAdd, SimulatedNodesAdded, SimulatedNodesPublic
from backend.orchestrator.errors import Conflict
from workers.cli import KEY_ENV

router = APIRouter(prefix="/api/experiments", tags=["nodes"])


def join_command(base_url: str, experiment_id: int) -> str:
    """The `fedshield worker` line that joins the experiment (the key stays in the environment, not argv)."""
    return f"{KEY_ENV}=0x… fedshield worker --orchestrator {base_url} --experiment {experiment_id}"


@router.get("/{experiment_id}/simulated-nodes", response_model=SimulatedNodesPublic)
def read_simulated_nodes(
    experiment_id: ExperimentId, orchestrator: OrchestratorDep, request: Request
) -> SimulatedNodesPublic:
    """Whether the orchestrator can start nodes for this experiment, how many, and the worker command."""
    pool = orchestrator.node_pool
    command = join_command(str(request.base_url).rstrip("/"), experiment_id)
    if pool is None:
        orchestrator.experiments.get(experiment_id)  # 404 for an unknown experiment
        return SimulatedNodesPublic(
            available=False, capacity=0, idle=0, running=0, open_slots=0, join_command=command
        )
    return SimulatedNodesPublic(
        available=True,
        capacity=pool.capacity,
        idle=pool.idle(),
        running=pool.running_for(experiment_id),
        open_slots=pool.open_slots(experiment_id),
        join_command=command,
    )


@router.post(
    "/{experiment_id}/simulated-nodes",
    response_model=SimulatedNodesAdded,
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminDep],
)
def create_simulated_nodes(
    experiment_id: ExperimentId, body: SimulatedNodesAdd, orchestrator: OrchestratorDep
) -> SimulatedNodesAdded:
    """Start `count` staked simulated nodes for the experiment, the last `attackers` of them attacking."""
    pool = orchestrator.node_pool
    if pool is None:
        raise Conflict("this orchestrator runs no simulated nodes: start it with `fedshield serve --fleet N`")
    addresses = pool.add_to(experiment_id, body.count, body.attackers)
    return SimulatedNodesAdded(addresses=addresses, attackers=addresses[len(addresses) - body.attackers :])
