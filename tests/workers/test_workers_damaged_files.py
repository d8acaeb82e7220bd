"""Damaged files of every format get a DatasetError (a 4xx at the API), never another exception (a 500)."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workers.datasets import DatasetError, load_experiment_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MUTATIONS = 40


def originals(tmp_path: Path) -> dict[str, bytes]:
    frame = pd.read_csv(EXAMPLES / "patients.csv").head(120)
    frame.to_parquet(tmp_path / "base.parquet")
    npz = io.BytesIO()
    np.savez_compressed(
        npz, x=np.random.default_rng(0).random((60, 4)).astype(np.float32), y=np.arange(60) % 2
    )
    images = io.BytesIO()
    with zipfile.ZipFile(images, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(8):
            for label in ("a", "b"):
                body = io.BytesIO()
                Image.new("RGB", (9, 7), (30 * i, 0, 90)).save(body, format="PNG" if i % 2 else "JPEG")
                archive.writestr(f"{label}/{i}.{'png' if i % 2 else 'jpg'}", body.getvalue())
    return {
        ".csv": frame.to_csv(index=False).encode(),
        ".parquet": (tmp_path / "base.parquet").read_bytes(),
        ".npz": npz.getvalue(),
        ".zip": images.getvalue(),
    }


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz", ".zip"])
def test_damaged_files_are_dataset_errors(tmp_path: Path, suffix: str) -> None:
    original = originals(tmp_path)[suffix]
    rng = random.Random(suffix)
    path = tmp_path / f"damaged{suffix}"
    refused = 0
    for _ in range(MUTATIONS):
        data = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[at] = rng.randrange(256)
            else:
                data[at:at] = rng.choice([b'"', b",", b"\n", b"\x00", b"inf", b"\xff\xfe", b"PK\x03\x04"])
        path.write_bytes(bytes(data))
        try:
            load_experiment_data(path, label_column="diagnosis" if suffix in (".csv", ".parquet") else None)
        except DatasetError:
            refused += 1
    assert refused > 0  # the mutations do break files; none of them escaped as another exception
