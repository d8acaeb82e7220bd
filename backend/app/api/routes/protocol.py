"""The node protocol: pull the round's task, post a signed update (docs/ARCHITECTURE.md, steps 2-4)."""

from __future__ import annotations

import io
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response

from backend.app.deps import AdminDep, AdminRights, ExperimentId, OrchestratorDep, WalletQuery
from backend.engine.intake import SubmissionRejected
from backend.orchestrator.specs import ExperimentCreate
from workers.task_document import TaskDocument, UpdateAccepted

router = APIRouter(prefix="/api/experiments", tags=["node protocol"])


@router.get("/{experiment_id}/task", response_model=TaskDocument, response_model_by_alias=True)
def read_task(
    experiment_id: ExperimentId,
    orchestrator: OrchestratorDep,
    address: WalletQuery,
    operator: AdminRights,
) -> TaskDocument:
    """What the node at `address` should train now: round, base model hash, model spec, hyper-parameters.

    The simulation block (the node's share of the data, whether it attacks) goes only to the operator's own
    simulated nodes, which send the admin token when one is configured; external nodes train on their own data.
    """
    task = orchestrator.protocol.task(experiment_id, address)
    return task if operator else task.model_copy(update={"simulation": None})


@router.post(
    "/{experiment_id}/updates",
    response_model=UpdateAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        401: {"description": "signature missing or not the sender's"},
        403: {"description": "signer not registered or not staked"},
        409: {"description": "wrong round, stale base model, or second update this round"},
        410: {"description": "the round's deadline has passed"},
        413: {"description": "update too large"},
    },
)
def create_update(
    experiment_id: ExperimentId,
    orchestrator: OrchestratorDep,
    update: Annotated[UploadFile, File(description="safetensors bytes of Δ = w_local - w_global")],
    message: Annotated[
        str,
        Form(
            min_length=1,
            max_length=8192,
            description="JSON {experiment, round, baseModelHash, updateHash, numSamples}",
        ),
    ],
    signature: Annotated[str | None, Form(max_length=1000, description="0x EIP-712 signature")] = None,
    address: Annotated[str | None, Form(max_length=100, description="the sender's wallet (optional)")] = None,
) -> UpdateAccepted:
    """Post a signed update; it is checked at once and screened with its cohort when the round closes."""
    limit = orchestrator.settings.max_update_bytes
    raw = update.file.read(limit + 1)
    if len(raw) > limit:
        raise SubmissionRejected(413, f"update is over the limit of {limit} bytes")
    round_ = orchestrator.protocol.submit(experiment_id, raw, message, signature, address)
    return UpdateAccepted(accepted_for_screening=True, round=round_)


@router.get(
    "/{experiment_id}/train-data",
    response_class=Response,
    dependencies=[AdminDep],
    responses={200: {"content": {"application/octet-stream": {}}, "description": "NPZ arrays x, y"}},
)
def read_train_data(experiment_id: ExperimentId, orchestrator: OrchestratorDep) -> Response:
    """Simulated nodes of an uploaded dataset: the preprocessed training split they partition among them."""
    row = orchestrator.experiments.get(experiment_id)
    config = ExperimentCreate.model_validate(row.config)
    train = orchestrator.catalog.splits(config.dataset_id, config.seed).train
    buffer = io.BytesIO()
    np.savez(buffer, x=train.x, y=train.y)
    return Response(buffer.getvalue(), media_type="application/octet-stream")
