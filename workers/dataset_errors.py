"""The two ways a dataset can be refused, shared by every loader (tables, images, NPZ) and the API."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file or array that cannot be used, with a message fit to show the person who gave it."""


class DatasetTooLarge(DatasetError):
    """A dataset over a size limit (bytes, decompressed bytes, rows, columns, images, pixels): HTTP 413."""
