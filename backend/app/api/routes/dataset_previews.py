"""Dataset previews: what an upload would become, shown before anything is stored.

`POST /api/dataset-previews` takes the same multipart form as `POST /api/datasets` and answers column
kinds, missing cells, categories, class balance and the first rows, storing nothing.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.app.api.routes.datasets import DatasetUploadDep
from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.datasets_preview import DatasetPreview

router = APIRouter(prefix="/api/dataset-previews", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetPreview,
    dependencies=[AdminDep],
    responses={413: {"description": "over a size limit"}, 422: {"description": "the file cannot be used"}},
)
def create_dataset_preview(orchestrator: OrchestratorDep, upload: DatasetUploadDep) -> DatasetPreview:
    """What the upload would become, stored nowhere: column kinds, missing counts, classes, first rows."""
    return DatasetPreview.of(orchestrator.catalog.preview(upload))
