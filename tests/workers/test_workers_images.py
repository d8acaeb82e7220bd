"""Image-folder zips and NPZ archives: decoded within limits, bombs refused before they inflate."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workers.data_limits import DataLimits
from workers.datasets import (
    DatasetError,
    DatasetSpec,
    DatasetTooLarge,
    load_experiment_data,
    load_file,
    load_for_spec,
    load_npz,
)
from workers.images import load_image_zip


def png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def image_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def mixed_images() -> dict[str, bytes]:
    """Two classes, four sizes, five Pillow modes, a JPEG, and files that are not images."""
    return {
        "cats/a.png": png(Image.new("RGB", (40, 30), (255, 0, 0))),
        "cats/b.png": png(Image.new("L", (8, 8), 128)),
        "cats/c.jpg": png(Image.new("RGB", (64, 64), (0, 0, 255)), "JPEG"),
        "dogs/d.png": png(Image.new("RGBA", (10, 20), (0, 255, 0, 128))),
        "dogs/e.png": png(Image.new("P", (16, 16), 3)),
        "dogs/f.png": png(Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 200)),
        "dogs/.DS_Store": b"junk",
        "README.txt": b"two classes",
    }


def error_of(call: object, *args: object, **kwargs: object) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def test_images_of_mixed_sizes_and_modes_become_one_shape(tmp_path: Path) -> None:
    folder = load_image_zip(image_zip(tmp_path / "pets.zip", mixed_images()), size=12)
    assert folder.x.shape == (6, 3, 12, 12) and folder.x.dtype == np.float32
    assert folder.class_names == ("cats", "dogs") and folder.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert folder.x.min() >= 0.0 and folder.x.max() <= 1.0
    assert folder.x[0, 0].mean() == pytest.approx(1.0) and folder.x[0, 1].mean() == pytest.approx(0.0)  # red
    assert folder.profile.modes == {"RGB": 2, "L": 1, "RGBA": 1, "P": 1, "I;16": 1}
    assert set(folder.profile.skipped) == {"dogs/.DS_Store", "README.txt"}
    gray = load_image_zip(
        image_zip(
            tmp_path / "g.zip",
            {"a/1.png": png(Image.new("L", (5, 5))), "b/2.png": png(Image.new("L", (9, 3)))},
        )
    )
    assert gray.x.shape == (2, 1, 32, 32)  # all grayscale: one channel; the default size


def test_an_image_zip_is_an_experiment_and_a_nodes_file(tmp_path: Path) -> None:
    files = {
        f"{c}/{i}.png": png(Image.new("RGB", (20, 20), (i * 20, 0, 0))) for c in ("a", "b") for i in range(6)
    }
    path = image_zip(tmp_path / "exp.zip", files)
    data = load_experiment_data(path, image_size=8)
    assert data.train.spec.is_image and data.train.spec.input_shape == (3, 8, 8) and data.standardizer is None
    node = image_zip(tmp_path / "node.zip", {"b/x.png": png(Image.new("L", (50, 10)))})
    local, _ = load_for_spec(node, data.train.spec)
    assert local.x.shape == (1, 3, 8, 8) and local.y.tolist() == [
        1
    ]  # node's only class is the experiment's "b"


def test_bad_files_are_all_named(tmp_path: Path) -> None:
    good = png(Image.new("RGB", (8, 8)))
    files = {
        "a/ok.png": good,
        "a/broken.png": b"\x89PNG not really",
        "b/cut.png": good[: len(good) // 2],
        "b/ok.jpg": png(Image.new("RGB", (8, 8)), "JPEG"),
    }
    message = str(error_of(load_image_zip, image_zip(tmp_path / "bad.zip", files)))
    assert "2 files cannot be read as images" in message
    assert "a/broken.png" in message and "b/cut.png" in message and "ok.png" not in message


def test_layout_problems_say_what_is_expected(tmp_path: Path) -> None:
    loose = image_zip(
        tmp_path / "loose.zip", {"x.png": png(Image.new("L", (4, 4))), "a/y.png": png(Image.new("L", (4, 4)))}
    )
    assert "are not in a class folder" in str(error_of(load_image_zip, loose))
    empty = image_zip(tmp_path / "empty.zip", {"notes.txt": b"hi"})
    assert "no .png or .jpg images found" in str(error_of(load_image_zip, empty))
    (tmp_path / "nozip.zip").write_bytes(b"hello")
    assert "not a readable zip archive" in str(error_of(load_image_zip, tmp_path / "nozip.zip"))
    single = image_zip(tmp_path / "one.zip", {"a/1.png": png(Image.new("L", (4, 4)))})
    assert "fewer than 2 classes" in str(error_of(load_file, single))


def test_nothing_is_decoded_beyond_the_limits(tmp_path: Path) -> None:
    big = png(Image.new("L", (3000, 3000)))  # a few kB that decode to 9 MP
    path = image_zip(tmp_path / "big.zip", {"a/big.png": big, "b/small.png": png(Image.new("L", (4, 4)))})
    too_many_pixels = error_of(load_image_zip, path, limits=DataLimits(max_pixels=1_000_000))
    assert isinstance(too_many_pixels, DatasetTooLarge) and "a/big.png: 3000x3000 pixels" in str(
        too_many_pixels
    )
    bomb = image_zip(tmp_path / "bomb.zip", {"a/zeros.png": bytes(50_000_000), "b/x.png": b""})
    assert bomb.stat().st_size < 200_000
    inflated = error_of(load_image_zip, bomb, limits=DataLimits(max_inflated_bytes=10_000_000))
    assert isinstance(inflated, DatasetTooLarge) and "inflate to 50000000 bytes" in str(inflated)
    entry = error_of(load_image_zip, bomb, limits=DataLimits(max_entry_bytes=1_000_000))
    assert "a/zeros.png inflates to 50000000 bytes" in str(entry)
    many = error_of(load_image_zip, path, size=64, limits=DataLimits(max_features=1000))
    assert "pick a smaller size" in str(many)


def test_an_npz_bomb_is_refused_from_the_central_directory(tmp_path: Path) -> None:
    np.savez_compressed(
        tmp_path / "bomb.npz", x=np.zeros((12_500, 1000), dtype=np.float32), y=np.zeros(12_500)
    )
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000  # 50 MB of floats in well under 1 MB
    error = error_of(load_npz, tmp_path / "bomb.npz", limits=DataLimits(max_inflated_bytes=20_000_000))
    assert isinstance(error, DatasetTooLarge) and "inflate to" in str(error)


def test_an_npz_whose_header_claims_more_than_it_holds_is_refused(tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 8)}
    )
    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(64))
        archive.writestr("y.npy", header.getvalue())
    assert "declares 32000000000 bytes" in str(error_of(load_npz, tmp_path / "liar.npz"))


def test_spec_of_an_image_zip_roundtrips(tmp_path: Path) -> None:
    files = {f"{c}/{i}.png": png(Image.new("L", (6, 6), i)) for c in ("0", "1", "10") for i in range(2)}
    ds = load_file(image_zip(tmp_path / "n.zip", files), image_size=4)
    assert ds.spec.class_names == ("0", "1", "10")  # numeric folder names sort numerically
    assert DatasetSpec.from_dict(ds.spec.to_dict()) == ds.spec
