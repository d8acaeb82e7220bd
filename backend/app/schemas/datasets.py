"""Datasets an experiment can train on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from backend.orchestrator.data import DatasetInfo
from workers.table_schema import TableSchema


class DatasetPublic(BaseModel):
    id: str
    name: str
    source: Literal["builtin", "upload"]
    num_samples: int
    input_shape: list[int]
    num_classes: int
    is_image: bool
    class_names: list[str]
    feature_names: list[str]
    label_column: str | None = None
    table_schema: TableSchema | None = None  # tables: the schema every experiment on it applies

    @classmethod
    def of(cls, info: DatasetInfo) -> DatasetPublic:
        spec = info.spec
        return cls(
            id=info.id,
            name=spec.name,
            source="builtin" if info.source == "builtin" else "upload",
            num_samples=info.num_samples,
            input_shape=list(spec.input_shape),
            num_classes=spec.num_classes,
            is_image=spec.is_image,
            class_names=list(spec.class_names),
            feature_names=list(spec.feature_names),
            label_column=info.label_column,
            table_schema=spec.table,
        )
