"""Attack Lab's probe: would this attack be caught against the current model and cohort?"""

from __future__ import annotations

from fastapi import APIRouter

from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.attack import ProbeRequest, ProbeResult

router = APIRouter(prefix="/api", tags=["attack lab"])


@router.post("/attack-probe", response_model=ProbeResult, dependencies=[AdminDep])
def create_attack_probe(body: ProbeRequest, orchestrator: OrchestratorDep) -> ProbeResult:
    """Score one simulated attacker's update with the defense against a cached honest cohort (fast: poll it)."""
    return ProbeResult.model_validate(
        orchestrator.probe.probe(body.experiment_id, body.dataset_id, body.attack), from_attributes=True
    )
