"""How much a dataset may hold, in one place for every loader (tables, image zips, NPZ archives)."""

from __future__ import annotations

from dataclasses import dataclass


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
