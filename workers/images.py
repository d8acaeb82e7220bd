"""Image folders: a zip of `class_name/*.png|jpg` (torchvision's ImageFolder layout), read with Pillow.

Nothing is inflated or decoded beyond the limits: the zip's central directory gives every entry's
uncompressed size, checked before any entry is read, and each image's header gives its pixel count,
checked before its pixels are decoded. Every image is converted to one channel (when all of them are
grayscale) or RGB, resized to the size the user picked and scaled to [0, 1]. A file that Pillow cannot read
is named in the error, with every other bad file.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from pydantic import BaseModel

from workers.data_limits import DataLimits, checked_file_size
from workers.dataset_errors import ZIP_ERRORS, DatasetError, DatasetTooLarge
from workers.table_schema import class_order, names_of

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
DEFAULT_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256  # the side an image may be resized to
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "P;L"})
# Bits per pixel a decode of each Pillow mode holds (modes not named: 32, the most of any 8-bit mode).
_MODE_BITS = {
    "1": 1,
    "L": 8,
    "P": 8,
    "LA": 16,
    "La": 16,
    "PA": 16,
    "RGB": 24,
    "YCbCr": 24,
    "LAB": 24,
    "HSV": 24,
}
_MODE_BITS |= dict.fromkeys(("I;16", "I;16B", "I;16L", "I;16N"), 16)


class ClassCount(BaseModel):
    value: str
    count: int


class ImageProfile(BaseModel):
    """What an image zip holds: the dashboard's preview of it."""

    file_name: str
    images: int
    class_balance: list[ClassCount]
    channels: int  # 1 when every image is grayscale, else 3 (RGB)
    size: int  # every image is resized to size x size
    modes: dict[str, int]  # Pillow mode -> images
    sizes: dict[str, int]  # "WxH" as stored -> images (the ten most common)
    skipped: list[str]  # entries that are not images (README files, __MACOSX, ...)


@dataclass(frozen=True)
class ImageFolder:
    """An image zip decoded: (N, C, S, S) float32 in [0, 1], labels, class names, and its profile."""

    x: np.ndarray
    y: np.ndarray  # (N,) int64
    class_names: tuple[str, ...]
    profile: ImageProfile


def load_image_zip(
    path: str | Path,
    *,
    size: int = DEFAULT_IMAGE_SIZE,
    channels: int | None = None,
    limits: DataLimits = DataLimits(),
) -> ImageFolder:
    """Reads an ImageFolder zip; `channels` None picks 1 if every image is grayscale, else 3."""
    path = Path(path)
    if not 1 <= size <= MAX_IMAGE_SIZE:
        raise DatasetError(f"image size must lie in 1..{MAX_IMAGE_SIZE}, found {size}")
    if channels not in (None, 1, 3):
        raise DatasetError(f"images must have 1 or 3 channels, found {channels}")
    checked_file_size(path, limits)
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise DatasetError(f"{path.name}: not a readable zip archive ({exc})") from None
    with archive:
        entries, skipped = _image_entries(path.name, archive, limits)
        headers, bad = _read_headers(archive, entries, limits)
        modes = Counter(mode for mode, _ in headers.values())
        if channels is None:
            channels = 1 if set(modes) <= _GRAY_MODES else 3
        cells = len(entries) * channels * size * size
        if cells > limits.max_features:
            raise DatasetTooLarge(
                f"{path.name}: {len(entries)} images of {channels}x{size}x{size} is {cells} values, over the "
                f"limit of {limits.max_features}; pick a smaller size"
            )
        x = np.empty((len(entries), channels, size, size), dtype=np.float32)
        for i, info in enumerate(entries):
            if info.filename not in headers:
                continue
            try:
                with Image.open(io.BytesIO(archive.read(info))) as image:
                    x[i] = _pixels(image, channels, size)
            except Exception as exc:
                bad.append((info.filename, _reason(exc)))
        if bad:
            bad.sort()
            raise DatasetError(
                f"{path.name}: {len(bad)} file{'s' if len(bad) > 1 else ''} cannot be read as images: "
                + "; ".join(f"{name} ({why})" for name, why in bad[:12])
                + ("; ..." if len(bad) > 12 else "")
            )
    sizes = Counter(f"{w}x{h}" for _, (w, h) in headers.values())
    class_of = {info.filename: PurePosixPath(info.filename).parts[-2] for info in entries}
    classes = class_order(list(set(class_of.values())))
    index = {name: k for k, name in enumerate(classes)}
    y = np.array([index[class_of[info.filename]] for info in entries], dtype=np.int64)
    counts = Counter(y.tolist())
    profile = ImageProfile(
        file_name=path.name,
        images=len(entries),
        class_balance=[ClassCount(value=c, count=counts[k]) for k, c in enumerate(classes)],
        channels=channels,
        size=size,
        modes=dict(modes),
        sizes=dict(sizes.most_common(10)),
        skipped=skipped[:20],
    )
    return ImageFolder(x, y, tuple(classes), profile)


def _image_entries(
    file: str, archive: zipfile.ZipFile, limits: DataLimits
) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """The image entries, checked against the limits from the central directory alone (nothing inflated)."""
    infos = archive.infolist()
    inflated = sum(info.file_size for info in infos)
    if inflated > limits.max_inflated_bytes:
        raise DatasetTooLarge(
            f"{file}: its entries inflate to {inflated} bytes, over the limit of {limits.max_inflated_bytes}"
        )
    entries: list[zipfile.ZipInfo] = []
    skipped: list[str] = []
    for info in infos:
        name = PurePosixPath(info.filename)
        if info.is_dir():
            continue
        hidden = any(part.startswith((".", "__MACOSX")) for part in name.parts)
        if hidden or name.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(info.filename)
            continue
        if info.file_size > limits.max_entry_bytes:
            raise DatasetTooLarge(
                f"{file}: {info.filename} inflates to {info.file_size} bytes, over the limit of "
                f"{limits.max_entry_bytes} per image"
            )
        entries.append(info)
    if not entries:
        raise DatasetError(
            f"{file}: no .png or .jpg images found; expected the layout class_name/image.png "
            f"(entries: {names_of(skipped)})"
        )
    if len(entries) > limits.max_images:
        raise DatasetTooLarge(f"{file}: {len(entries)} images is over the limit of {limits.max_images}")
    entries.sort(key=lambda info: info.filename)
    depths = {len(PurePosixPath(info.filename).parts) for info in entries}
    if 1 in depths:
        loose = [info.filename for info in entries if len(PurePosixPath(info.filename).parts) == 1]
        raise DatasetError(
            f"{file}: images {names_of(loose)} are not in a class folder; expected class_name/image.png"
        )
    if len(depths) > 1:
        raise DatasetError(f"{file}: images lie at different folder depths; expected class_name/image.png")
    return entries, skipped


def _read_headers(
    archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limits: DataLimits
) -> tuple[dict[str, tuple[str, tuple[int, int]]], list[tuple[str, str]]]:
    """Each image's mode and size from its header alone (no pixel decoded), and the files that fail, with why."""
    headers: dict[str, tuple[str, tuple[int, int]]] = {}
    bad: list[tuple[str, str]] = []
    decoded = 0
    for info in entries:
        try:
            with Image.open(io.BytesIO(archive.read(info))) as image:
                mode, dims, bits = image.mode, image.size, decoded_bits_per_pixel(image)
        except Exception as exc:
            # One bad file among many: a damaged zip member (ZIP_ERRORS) or any of the many exceptions
            # Pillow's parsers raise on corrupt input (OSError, SyntaxError, struct.error, IndexError...).
            # Each names that file in the error, with every other bad file.
            bad.append((info.filename, _reason(exc)))
            continue
        if dims[0] * dims[1] > limits.max_pixels:
            raise DatasetTooLarge(
                f"{info.filename}: {dims[0]}x{dims[1]} pixels is over the limit of {limits.max_pixels} per image"
            )
        image_bytes = dims[0] * dims[1] * bits // 8
        if image_bytes > limits.max_image_bytes:
            raise DatasetTooLarge(
                f"{info.filename}: {dims[0]}x{dims[1]} pixels of {bits} bits decode to {image_bytes} bytes, over "
                f"the limit of {limits.max_image_bytes} per image"
            )
        decoded += image_bytes
        if decoded > limits.max_decoded_bytes:
            raise DatasetTooLarge(
                f"its images decode to more than {limits.max_decoded_bytes} bytes (pixels x bit depth), the "
                "limit; use fewer or smaller images"
            )
        headers[info.filename] = (mode, dims)
    return headers, bad


def decoded_bits_per_pixel(image: Image.Image) -> int:
    """Bits per pixel decoding ``image`` goes through, from its header: its mode's, doubled for a 16-bit
    sample depth that Pillow reduces to 8 bits only after decoding (16-bit RGB PNGs)."""
    bits = _MODE_BITS.get(image.mode, 32)
    raw_modes = [
        tile[3][0] if isinstance(tile[3], tuple) else tile[3]
        for tile in getattr(image, "tile", [])
        if tile[3]
    ]
    if bits <= 32 and any(isinstance(raw, str) and ";16" in raw for raw in raw_modes) and bits % 16:
        bits *= 2
    return bits


def _pixels(image: Image.Image, channels: int, size: int) -> np.ndarray:
    """(C, size, size) float32 in [0, 1]."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float grayscale: scale to 8 bits by the image's own range before converting.
        array = np.array(image, dtype=np.float32)  # a writable float32 copy, scaled in place
        low, high = float(array.min()), float(array.max())
        if high > low:
            array -= low
            array *= 255.0 / (high - low)
        else:
            array[:] = 0
        image = Image.fromarray(array.astype(np.uint8), mode="L")
    converted = image.convert("L" if channels == 1 else "RGB")
    resized = converted.resize((size, size), Image.Resampling.BILINEAR)
    pixels = np.asarray(resized, dtype=np.float32) / 255.0  # (S, S) or (S, S, 3)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
