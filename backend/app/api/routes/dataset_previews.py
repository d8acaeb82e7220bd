"""Dataset previews: what an upload would become, shown before anything is stored.

`POST /api/dataset-previews` takes the same multipart form as `POST /api/datasets` and answers column
kinds, missing cells, categories, class balance and the first rows, storing nothing.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.app.api.routes.datasets import (
    ExcludeColumns,
    ImageSize,
    LabelColumn,
    UploadFileField,
    read_limited,
)
from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.datasets_preview import DatasetPreview
from workers.images import DEFAULT_IMAGE_SIZE

router = APIRouter(prefix="/api/dataset-previews", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetPreview,
    dependencies=[AdminDep],
    responses={413: {"description": "over a size limit"}, 422: {"description": "the file cannot be used"}},
)
def create_dataset_preview(
    orchestrator: OrchestratorDep,
    file: UploadFileField,
    label_column: LabelColumn = None,
    exclude_columns: ExcludeColumns = None,
    image_size: ImageSize = DEFAULT_IMAGE_SIZE,
) -> DatasetPreview:
    """What the upload would become, stored nowhere: column kinds, missing counts, classes, first rows."""
    content = read_limited(orchestrator, file)
    found = orchestrator.catalog.preview(
        file.filename or "upload", content, label_column, tuple(exclude_columns or ()), image_size
    )
    return DatasetPreview.of(found)
