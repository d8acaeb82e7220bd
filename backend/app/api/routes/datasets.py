"""Datasets: the bundled ones and uploads (CSV / NPZ, checked by the dataset loader)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from backend.app.deps import AdminDep, OrchestratorDep
from backend.app.schemas.datasets import DatasetPublic
from backend.orchestrator.errors import TooLarge

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


@router.get("", response_model=list[DatasetPublic])
def read_datasets(orchestrator: OrchestratorDep) -> list[DatasetPublic]:
    """Every dataset an experiment can be created on."""
    return [DatasetPublic.of(info) for info in orchestrator.catalog.list()]


@router.get("/{dataset_id}", response_model=DatasetPublic)
def read_dataset(dataset_id: str, orchestrator: OrchestratorDep) -> DatasetPublic:
    """One dataset."""
    return DatasetPublic.of(orchestrator.catalog.get(dataset_id))


@router.post("", response_model=DatasetPublic, status_code=status.HTTP_201_CREATED, dependencies=[AdminDep])
def create_dataset(
    orchestrator: OrchestratorDep,
    file: Annotated[UploadFile, File(description=".csv (with label_column) or .npz (arrays x, y)")],
    label_column: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetPublic:
    """Upload a CSV or NPZ dataset; 413 over the size limit, 422 with the loader's exact complaint."""
    limit = orchestrator.settings.max_upload_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"upload is over the limit of {limit} bytes")
    return DatasetPublic.of(orchestrator.catalog.upload(file.filename or "upload", content, label_column))
