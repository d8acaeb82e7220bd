"""Decompression bombs over real HTTP: files of a few KiB that expand to gigabytes once decoded (a Parquet
column of one 1 MiB string repeated, zips of large blank 16-bit PNGs) are refused with 413 from what their
headers and running counts say, within bounded memory and CPU, on the preview and the upload alike."""

from __future__ import annotations

import io
import resource
import time
import zipfile
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from backend.app.main import create_app
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.support.server import live_server
from workers.datasets import BUILTIN_DATASETS

UPLOAD_LIMIT = 20 * 1024 * 1024  # the orchestrator's default
MAX_CPU_S = 2.0  # for any refused upload (issue #21's target)


def parquet_bomb(rows: int = 1600, value_bytes: int = 1 << 20, *, arrow_schema: bool = True) -> bytes:
    """Under 1 KiB: one `value_bytes` string, dictionary-encoded and zstd-compressed, in every row."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * value_bytes]))
    table = pa.table({"note": column, "label": pa.array([0, 1] * (rows // 2))})
    out = io.BytesIO()
    pq.write_table(table, out, use_dictionary=True, compression="zstd", store_schema=arrow_schema)
    return out.getvalue()


def png_zip_bomb(images: int, side: int) -> bytes:
    """`images` black `side` x `side` 16-bit PNGs (one encoding, stored again and again) in two classes."""
    png = io.BytesIO()
    Image.new("I;16", (side, side)).save(png, "PNG")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(images):
            archive.writestr(f"class{i % 2}/{i}.png", png.getvalue())
    return out.getvalue()


def _status_kib(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field))
    return int(line.split()[1])


def test_bombs_are_413_within_bounded_memory_and_cpu(tmp_path: Path, api_chain: ApiChain) -> None:
    bombs = {
        "notes.parquet": parquet_bomb(),
        "notes-no-arrow-schema.parquet": parquet_bomb(arrow_schema=False),
        "big-pngs.zip": png_zip_bomb(40, 4096),  # each image alone decodes past the limit
        "many-pngs.zip": png_zip_bomb(64, 2048),  # together they do
    }
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'fedshield.db'}", api_chain, max_upload_bytes=UPLOAD_LIMIT
    )
    orchestrator = Orchestrator(settings)
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url, httpx.Client(base_url=url) as http:
            assert http.get("/api/datasets").status_code == 200  # the built-ins loaded before measuring
            for name, content in bombs.items():
                assert len(content) < 64 * 1024, (name, len(content))
                for path in ("/api/dataset-previews", "/api/datasets"):
                    # Server and client share this process: its peak resident memory is reset, then read.
                    Path("/proc/self/clear_refs").write_text("5")
                    before_kib = _status_kib("VmRSS")
                    cpu = resource.getrusage(resource.RUSAGE_SELF)
                    started = time.monotonic()
                    answer = http.post(path, files={"file": (name, content)}, timeout=60)
                    seconds = time.monotonic() - started
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
                    grown = (_status_kib("VmHWM") - before_kib) * 1024
                    print(
                        f"{path} {name}: {answer.status_code} in {seconds:.2f}s, {cpu_s:.2f}s CPU, +{grown >> 20} MiB"
                    )
                    assert answer.status_code == 413, (path, name, answer.text)
                    assert "limit" in answer.json()["detail"]
                    assert cpu_s < MAX_CPU_S, (path, name, cpu_s)
                    assert grown < 4 * UPLOAD_LIMIT, (path, name, grown)
            assert len(http.get("/api/datasets").json()) == len(BUILTIN_DATASETS)  # nothing stored
    finally:
        orchestrator.stop()
