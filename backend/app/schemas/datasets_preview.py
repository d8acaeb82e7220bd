"""What an upload would become, shown before anything is stored (`POST /api/dataset-previews`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from backend.orchestrator.data import Inspection
from workers.images import ImageProfile
from workers.tables import TableProfile


class DatasetPreview(BaseModel):
    """A table's columns (kind, missing cells, categories), its classes and first rows; or an image zip's."""

    kind: Literal["table", "images", "arrays"]
    name: str
    num_samples: int
    input_shape: list[int]
    num_classes: int
    class_names: list[str]
    label_column: str | None
    table: TableProfile | None = None
    images: ImageProfile | None = None

    @classmethod
    def of(cls, found: Inspection) -> DatasetPreview:
        spec = found.spec
        kind: Literal["table", "images", "arrays"] = (
            "table" if found.table is not None else "images" if found.images is not None else "arrays"
        )
        return cls(
            kind=kind,
            name=spec.name,
            num_samples=found.num_samples,
            input_shape=list(spec.input_shape),
            num_classes=spec.num_classes,
            class_names=list(spec.class_names),
            label_column=found.label_column,
            table=found.table,
            images=found.images,
        )
