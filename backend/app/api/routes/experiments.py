"""Experiments: create, list, read, start / pause / resume / stop, and their rounds, verdicts and export."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from backend.app.deps import AdminDep, ExperimentId, OrchestratorDep, RoundNumber, SessionDep
from backend.app.read_cache import ReadCacheDep
from backend.app.schemas.experiments import AttackPlan, ExperimentCreate, ExperimentPublic
from backend.app.schemas.rounds import RoundPublic, VerdictPublic
from backend.db import repository as repo
from backend.db.models import ExperimentRow
from backend.orchestrator.errors import NotFound
from backend.orchestrator.service import Orchestrator

router = APIRouter(prefix="/api/experiments", tags=["experiments"])


def experiment_public(orchestrator: Orchestrator, session: Session, row: ExperimentRow) -> ExperimentPublic:
    return ExperimentPublic.of(
        row,
        repo.last_completed_round(session, row.id),
        repo.node_count(session, row.id),
        orchestrator.experiments.deadline_s(row),
    )


def _experiment(session: Session, experiment_id: ExperimentId) -> ExperimentRow:
    row = session.get(ExperimentRow, experiment_id)
    if row is None:
        raise NotFound(f"no experiment {experiment_id}")
    return row


@router.get("", response_model=list[ExperimentPublic])
def read_experiments(orchestrator: OrchestratorDep, session: SessionDep) -> list[ExperimentPublic]:
    """Every experiment, oldest first."""
    return [experiment_public(orchestrator, session, row) for row in repo.experiments(session)]


@router.post(
    "", response_model=ExperimentPublic, status_code=status.HTTP_201_CREATED, dependencies=[AdminDep]
)
def create_experiment(
    body: ExperimentCreate, orchestrator: OrchestratorDep, session: SessionDep
) -> ExperimentPublic:
    """Create an experiment and provision its initial global model (v1)."""
    row = orchestrator.experiments.create(body)
    return experiment_public(orchestrator, session, _experiment(session, row.id))


@router.get("/{experiment_id}", response_model=ExperimentPublic)
async def read_experiment(
    experiment_id: ExperimentId, orchestrator: OrchestratorDep, cache: ReadCacheDep
) -> Response:
    """One experiment with its latest accuracy and model."""

    def build() -> bytes:  # what a dashboard polls: built once per committed change (app/read_cache.py)
        with orchestrator.sessions() as session:
            public = experiment_public(orchestrator, session, _experiment(session, experiment_id))
        return public.model_dump_json(by_alias=True).encode()

    return await cache.response(orchestrator.bus, ("experiment", experiment_id), build)


TRANSITIONS = {
    "start": "Start a created experiment: round 1 opens for the nodes.",
    "pause": "Pause: the open round waits; no update is taken until resume.",
    "resume": "Resume a paused (or failed) experiment from its last completed round.",
    "stop": "Stop for good; an open round is cancelled (recorded rounds still settle).",
}


def _add_transition_route(action: str, summary: str) -> None:
    def transition(
        experiment_id: ExperimentId, orchestrator: OrchestratorDep, session: SessionDep
    ) -> ExperimentPublic:
        orchestrator.experiments.transition(experiment_id, action)
        if action in ("start", "resume") and orchestrator.node_pool is not None:
            orchestrator.node_pool.fill_soon(experiment_id)  # nodes at once for an experiment of the page
        return experiment_public(orchestrator, session, _experiment(session, experiment_id))

    router.add_api_route(
        f"/{{experiment_id}}/{action}",
        transition,
        methods=["POST"],
        name=f"{action}_experiment",
        description=summary,
        response_model=ExperimentPublic,
        dependencies=[AdminDep],
    )


for _action, _summary in TRANSITIONS.items():
    _add_transition_route(_action, _summary)


@router.put("/{experiment_id}/attack", response_model=ExperimentPublic, dependencies=[AdminDep])
def update_attack(
    experiment_id: ExperimentId, body: AttackPlan, orchestrator: OrchestratorDep, session: SessionDep
) -> ExperimentPublic:
    """Attack Lab: which simulated nodes attack, how, from which round (applies from the next round opened)."""
    orchestrator.experiments.set_attack(experiment_id, body)
    return experiment_public(orchestrator, session, _experiment(session, experiment_id))


@router.get("/{experiment_id}/rounds", response_model=list[RoundPublic])
def read_rounds(experiment_id: ExperimentId, session: SessionDep) -> list[RoundPublic]:
    """Every round with its metrics and settlement."""
    _experiment(session, experiment_id)
    settlements = {s.round: s for s in repo.settlements_of(session, experiment_id)}
    return [RoundPublic.of(r, settlements.get(r.round)) for r in repo.rounds_of(session, experiment_id)]


@router.get("/{experiment_id}/rounds/{round_number}", response_model=RoundPublic)
def read_round(experiment_id: ExperimentId, round_number: RoundNumber, session: SessionDep) -> RoundPublic:
    """One round."""
    _experiment(session, experiment_id)
    row = repo.round_row(session, experiment_id, round_number)
    if row is None:
        raise NotFound(f"experiment {experiment_id} has no round {round_number}")
    return RoundPublic.of(row, repo.settlement(session, experiment_id, round_number))


@router.get("/{experiment_id}/rounds/{round_number}/verdicts", response_model=list[VerdictPublic])
def read_verdicts(
    experiment_id: ExperimentId, round_number: RoundNumber, session: SessionDep
) -> list[VerdictPublic]:
    """The defense's verdict on each update of a round, with every feature and the deciding rule."""
    _experiment(session, experiment_id)
    if repo.round_row(session, experiment_id, round_number) is None:
        raise NotFound(f"experiment {experiment_id} has no round {round_number}")
    return [VerdictPublic.of(v) for v in repo.verdicts(session, experiment_id, round_number)]


@router.get(
    "/{experiment_id}/export",
    dependencies=[AdminDep],
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}, "description": "rounds and verdicts"}
    },
)
def export_experiment(
    experiment_id: ExperimentId,
    orchestrator: OrchestratorDep,
    session: SessionDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Rounds and verdicts as JSON, or one CSV row per verdict."""
    experiment = experiment_public(orchestrator, session, _experiment(session, experiment_id))
    settlements = {s.round: s for s in repo.settlements_of(session, experiment_id)}
    rounds = [RoundPublic.of(r, settlements.get(r.round)) for r in repo.rounds_of(session, experiment_id)]
    verdicts = repo.verdicts(session, experiment_id)
    if format == "json":
        body = {
            "experiment": experiment.model_dump(mode="json"),
            "rounds": [r.model_dump(mode="json") for r in rounds],
            "verdicts": [{"round": v.round, **VerdictPublic.of(v).model_dump(mode="json")} for v in verdicts],
        }
        return JSONResponse(
            body, headers={"Content-Disposition": f'attachment; filename="experiment-{experiment_id}.json"'}
        )
    by_round = {r.round: r for r in rounds}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "round",
            "node_address",
            "node_label",
            "outcome",
            "rule",
            "reason",
            "malicious",
            "round_accuracy",
            "round_loss",
            "model_hash",
            "tx_hash",
        ]
    )
    for v in verdicts:
        r = by_round.get(v.round)
        tx = r.settlement.tx_hash if r is not None and r.settlement is not None else None
        writer.writerow(
            [
                v.round,
                v.node_address,
                v.node_label,
                v.outcome,
                v.rule or "",
                v.reason,
                "" if v.malicious is None else v.malicious,
                r.accuracy if r else "",
                r.loss if r else "",
                r.model_hash if r else "",
                tx or "",
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="experiment-{experiment_id}.csv"'},
    )
