"""Global models by hash: the safetensors bytes whose keccak256 is the hash recorded on chain."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from backend.app.deps import OrchestratorDep

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get(
    "/{model_hash}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "safetensors bytes"}},
)
def read_model(model_hash: str, orchestrator: OrchestratorDep) -> FileResponse:
    """Download a global model; keccak256 of the body equals `model_hash`."""
    path = orchestrator.models.path_of(model_hash)
    key = model_hash.lower()
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{key}.safetensors",
        headers={"X-Model-Hash": key, "Cache-Control": "public, max-age=31536000, immutable"},
    )
