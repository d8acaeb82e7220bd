"""`fedshield run --data`: a simulated experiment on the user's own table or image zip, as a real process."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FEDSHIELD = str(Path(sys.executable).parent / "fedshield")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FEDSHIELD, "run", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={"COLUMNS": "200", "PATH": ""},
    )


def test_a_mixed_type_table_trains_well_above_the_majority_class(tmp_path: Path) -> None:
    out = tmp_path / "patients.json"
    done = run("--data", str(EXAMPLES / "patients.csv"), "--label-column", "diagnosis", "--nodes", "4",
               "--rounds", "10", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    with (EXAMPLES / "patients.csv").open() as fh:
        labels = Counter(row["diagnosis"] for row in csv.DictReader(fh))
    majority = max(labels.values()) / sum(labels.values())
    assert result["config"]["label_column"] == "diagnosis"
    assert result["final_accuracy"] >= majority + 0.1, (result["final_accuracy"], majority)


def test_an_image_zip_runs_and_a_bad_label_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "shapes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(40):
            for name, colour in (("red", (200 + i, 0, 0)), ("blue", (0, 0, 200 + i))):
                buffer = io.BytesIO()
                Image.new("RGB", (12 + i % 5, 12), colour).save(buffer, format="PNG")
                archive.writestr(f"{name}/{i}.png", buffer.getvalue())
    out = tmp_path / "shapes.json"
    done = run("--data", str(path), "--nodes", "3", "--rounds", "2", "--root-set", "10", "--image-size", "8",
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["final_accuracy"] == 1.0
    refused = run("--data", str(EXAMPLES / "patients.csv"), "--label-column", "nope", "--rounds", "1")
    assert refused.returncode == 2 and "missing label column 'nope'" in refused.stdout
