"""How much a dataset may hold, in one place for every loader (tables, image zips, NPZ archives)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from workers.dataset_errors import DatasetError, DatasetTooLarge


@dataclass(frozen=True)
class DataLimits:
    """Each limit, passed, is a `DatasetTooLarge` (HTTP 413) raised before the data is inflated or decoded."""

    max_bytes: int = 64 * 1024 * 1024  # the file as given
    # Zip / NPZ entries or Parquet pages, uncompressed; and a table's cells once read (counted batch by
    # batch as they are decoded: a dictionary-encoded Parquet column can expand far beyond its pages).
    max_inflated_bytes: int = 256 * 1024 * 1024
    max_rows: int = 2_000_000  # table rows
    max_columns: int = 1_000  # table columns
    max_features: int = 50_000_000  # samples x features per sample: bounds the float32 matrix (200 MB)
    max_images: int = 100_000  # images in one zip
    max_entry_bytes: int = 16 * 1024 * 1024  # one image file, uncompressed
    max_pixels: int = 4096 * 4096  # one image's width x height, read from its header
    # Decoded pixels x bit depth, from the headers: per image (what one decode holds in memory) and summed
    # over the zip (what decoding all of them costs in CPU), both checked before any pixel is decoded.
    max_image_bytes: int = 64 * 1024 * 1024
    max_decoded_bytes: int = 1024 * 1024 * 1024

    @classmethod
    def for_upload(cls, max_bytes: int) -> DataLimits:
        """Limits scaled to an upload limit: nothing may inflate past 4x the upload itself, one image decode
        holds at most the upload's size, and decoding a whole zip's images at most 16x it."""
        return cls(
            max_bytes=max_bytes,
            max_inflated_bytes=4 * max_bytes,
            max_image_bytes=max_bytes,
            max_decoded_bytes=16 * max_bytes,
        )

    @classmethod
    def unlimited(cls) -> DataLimits:
        """For a dataset checked against the limits when it was uploaded."""
        return cls(**{f.name: 1 << 62 for f in fields(cls)})


def checked_file_size(path: Path, limits: DataLimits) -> int:
    """The file's size in bytes; DatasetError if it is missing, DatasetTooLarge over ``limits.max_bytes``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatasetError(f"{path.name}: file not found") from None
    if size > limits.max_bytes:
        raise DatasetTooLarge(f"{path.name}: {size} bytes is over the limit of {limits.max_bytes} bytes")
    return size
