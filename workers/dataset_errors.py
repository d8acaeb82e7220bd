"""The two ways a dataset can be refused, shared by every loader (tables, images, NPZ) and the API."""

from __future__ import annotations

import zipfile
import zlib


class DatasetError(ValueError):
    """A dataset file or array that cannot be used, with a message fit to show the person who gave it."""


class DatasetTooLarge(DatasetError):
    """A dataset over a size limit (bytes, decompressed bytes, rows, columns, images, pixels): HTTP 413."""


# What reading a damaged zip archive (NPZ, image zip) or one of its members raises: a bad directory or
# CRC, a truncated or undecodable stream, an unsupported or encrypted method, an unreadable file.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
)
