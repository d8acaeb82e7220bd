"""Datasets: the bundled ones and uploads (tables, image-folder zips, NPZ), checked by the dataset loader.

`POST /api/dataset-previews` (routes/dataset_previews.py) answers what an upload would become (column kinds, missing cells, categories,
class balance, first rows) without storing it; `POST /api/datasets` stores it with the same choices.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile, status

from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.datasets import DatasetPublic
from backend.orchestrator.data import DatasetUpload
from backend.orchestrator.errors import TooLarge
from workers.images import DEFAULT_IMAGE_SIZE, MAX_IMAGE_SIZE

UploadFileField = Annotated[
    UploadFile, File(description=".csv / .tsv / .parquet table, .zip of class_name/*.png|jpg, or .npz (x, y)")
]
LabelColumn = Annotated[
    str | None, Form(max_length=200, description="tables: the label column (default: guessed)")
]
ExcludeColumns = Annotated[
    list[str] | None, Form(description="tables: columns to leave out (repeat the field for each)")
]
ImageSize = Annotated[
    int, Form(ge=4, le=MAX_IMAGE_SIZE, description="image zips: every image is resized to this square size")
]


def dataset_upload(
    orchestrator: OrchestratorDep,
    file: UploadFileField,
    label_column: LabelColumn = None,
    exclude_columns: ExcludeColumns = None,
    image_size: ImageSize = DEFAULT_IMAGE_SIZE,
) -> DatasetUpload:
    """The multipart form both `POST /api/datasets` and `POST /api/dataset-previews` take."""
    limit = orchestrator.settings.max_upload_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"upload is over the limit of {limit} bytes")
    return DatasetUpload(
        file.filename or "upload", content, label_column, tuple(exclude_columns or ()), image_size
    )


DatasetUploadDep = Annotated[DatasetUpload, Depends(dataset_upload)]

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


@router.get("", response_model=list[DatasetPublic])
def read_datasets(orchestrator: OrchestratorDep) -> list[DatasetPublic]:
    """Every dataset an experiment can be created on."""
    return [DatasetPublic.of(info) for info in orchestrator.catalog.list()]


@router.get("/{dataset_id}", response_model=DatasetPublic)
def read_dataset(dataset_id: str, orchestrator: OrchestratorDep) -> DatasetPublic:
    """One dataset."""
    return DatasetPublic.of(orchestrator.catalog.get(dataset_id))


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminDep],
    responses={413: {"description": "over a size limit"}, 422: {"description": "the file cannot be used"}},
)
def create_dataset(orchestrator: OrchestratorDep, upload: DatasetUploadDep) -> DatasetPublic:
    """Upload a dataset; 413 over a size limit, 422 with the loader's exact complaint."""
    return DatasetPublic.of(orchestrator.catalog.upload(upload))
