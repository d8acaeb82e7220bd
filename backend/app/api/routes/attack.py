"""Attack Lab's probe: would this attack be caught against the current model and cohort?"""

from __future__ import annotations

import functools

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request

from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.attack import ProbeRequest, ProbeResult

router = APIRouter(prefix="/api", tags=["attack lab"])

# Probes are CPU work (the defense's forward passes); a handful at a time use the cores fully. Waiting
# probes wait on this limiter, not on a thread of the shared pool: 100 dashboards polling the probe must not
# hold every request thread and starve the node protocol and the other reads.
PROBE_CONCURRENCY = 2


def _probe_slots(request: Request) -> anyio.CapacityLimiter:
    """The app's probe limiter, made on first use inside the app's event loop."""
    slots: anyio.CapacityLimiter | None = getattr(request.app.state, "probe_slots", None)
    if slots is None:
        slots = request.app.state.probe_slots = anyio.CapacityLimiter(PROBE_CONCURRENCY)
    return slots


@router.post("/attack-probe", response_model=ProbeResult, dependencies=[AdminDep])
async def create_attack_probe(
    body: ProbeRequest, orchestrator: OrchestratorDep, request: Request
) -> ProbeResult:
    """Score one simulated attacker's update with the defense against a cached honest cohort (fast: poll it)."""
    probe = functools.partial(orchestrator.probe.probe, body.experiment_id, body.dataset_id, body.attack)
    outcome = await anyio.to_thread.run_sync(probe, limiter=_probe_slots(request))
    return ProbeResult.model_validate(outcome, from_attributes=True)
