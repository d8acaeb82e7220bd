"""How much a dataset may hold, in one place for every loader (tables, image zips, NPZ archives)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers.dataset_errors import DatasetError, DatasetTooLarge


@dataclass(frozen=True)
class DataLimits:
    """Each limit, passed, is a `DatasetTooLarge` (HTTP 413) raised before the data is inflated or decoded."""

    max_bytes: int = 64 * 1024 * 1024  # the file as given
    max_inflated_bytes: int = 256 * 1024 * 1024  # zip / NPZ entries or Parquet pages, uncompressed
    max_rows: int = 2_000_000  # table rows
    max_columns: int = 1_000  # table columns
    max_features: int = 50_000_000  # samples x features per sample: bounds the float32 matrix (200 MB)
    max_images: int = 100_000  # images in one zip
    max_entry_bytes: int = 16 * 1024 * 1024  # one image file, uncompressed
    max_pixels: int = 4096 * 4096  # one image's width x height, read from its header

    @classmethod
    def for_upload(cls, max_bytes: int) -> DataLimits:
        """Limits scaled to an upload limit: nothing may inflate past 4x the upload itself."""
        return cls(max_bytes=max_bytes, max_inflated_bytes=4 * max_bytes)


def checked_file_size(path: Path, limits: DataLimits) -> int:
    """The file's size in bytes; DatasetError if it is missing, DatasetTooLarge over ``limits.max_bytes``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found") from None
    if size > limits.max_bytes:
        raise DatasetTooLarge(f"{path.name}: {size} bytes is over the limit of {limits.max_bytes} bytes")
    return size
