"""Hostile input over real HTTP (uvicorn): bodies are refused with 413 while they are still streaming in,
integers outside their type are a 422 naming the field, an upload at its limit stays within 4x its size in
memory, and nothing refused leaves a row, a file or an event behind."""

from __future__ import annotations

import json
import re
import socket
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from backend.app.main import MULTIPART_OVERHEAD_BYTES, create_app
from backend.engine.intake import MAX_NUM_SAMPLES
from backend.orchestrator.service import Orchestrator
from tests.api.conftest import ApiChain, make_settings
from tests.api.helpers import (
    create_experiment,
    experiment_body,
    honest_delta,
    open_task,
    post,
    register,
    sign,
    start,
)
from tests.support.server import live_server
from workers.datasets import BUILTIN_DATASETS

CHUNK = 64 * 1024


@dataclass
class Served:
    url: str
    orchestrator: Orchestrator
    client: httpx.Client


@contextmanager
def serve(tmp_path: Path, db_url: str, chain: ApiChain, **overrides: object) -> Iterator[Served]:
    """The orchestrator under uvicorn on a loopback port, with an HTTP client for it."""
    orchestrator = Orchestrator(make_settings(tmp_path, db_url, chain, **overrides))
    try:
        with live_server(create_app(orchestrator=orchestrator)) as url, httpx.Client(base_url=url) as client:
            yield Served(url, orchestrator, client)
    finally:
        orchestrator.stop()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fedshield.db'}"


# ----------------------------------------------------------------------------------- streamed bodies


def open_ended_post(url: str, path: str, headers: dict[str, str], head: bytes, total: int) -> tuple[int, Any]:
    """POSTs `head` and then filler, `total` bytes in chunked encoding, and never ends the body.

    Whatever the server answers, it answers while the body is still open: a server that read the body to
    its end first would leave this waiting until the socket times out.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Transfer-Encoding: chunked"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent, piece = 0, head
        while sent < total:
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: its answer is waiting
            sent += len(piece)
            piece = b"0" * CHUNK
        return _response(sock)


def declared_post(url: str, path: str, headers: dict[str, str], declared: int) -> tuple[int, Any]:
    """POSTs only headers declaring a `declared`-byte body, and no body at all."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {declared}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return _response(sock)


def _response(sock: socket.socket) -> tuple[int, Any]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed before a response: {data!r}"
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    assert length is not None, head
    while len(body) < int(length.group(1)):
        body += sock.recv(65536)
    return int(head.split()[1]), json.loads(body)


def _multipart_head(boundary: str, filename: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def test_bodies_over_their_limit_are_413_while_still_streaming(tmp_path: Path, api_chain: ApiChain) -> None:
    upload_limit = 256 * 1024
    with serve(tmp_path, _sqlite(tmp_path), api_chain, max_upload_bytes=upload_limit) as served:
        json_limit = served.orchestrator.settings.max_json_bytes
        status, body = open_ended_post(
            served.url,
            "/api/experiments",
            {"Content-Type": "application/json"},
            b'{"name": "',
            16 * json_limit,
        )
        assert status == 413, body
        assert f"over the limit of {json_limit} bytes" in body["detail"]

        upload_body_limit = upload_limit + MULTIPART_OVERHEAD_BYTES
        boundary = "fedshield-test-boundary"
        status, body = open_ended_post(
            served.url,
            "/api/datasets",
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            _multipart_head(boundary, "big.csv"),
            4 * upload_body_limit,
        )
        assert status == 413, body
        assert f"over the limit of {upload_body_limit} bytes for /api/datasets" in body["detail"]

        status, body = declared_post(
            served.url, "/api/datasets", {"Content-Type": "text/csv"}, 50 * 1024 * 1024
        )
        assert status == 413 and str(upload_body_limit) in body["detail"], body

        unreadable = served.client.post(
            "/api/datasets",
            files={"file": ("broken.npz", b"PK\x03\x04 not a zip", "application/octet-stream")},
        )
        assert unreadable.status_code == 422, unreadable.text
        # Nothing of the refused uploads is kept: no dataset row, no file.
        assert len(served.client.get("/api/datasets").json()) == len(BUILTIN_DATASETS)
        upload_dir = served.orchestrator.settings.resolved_upload_dir
        assert not [p for p in upload_dir.rglob("*") if p.is_file()]


def test_update_over_its_limit_is_413_while_streaming_and_stores_nothing(
    tmp_path: Path, api_chain: ApiChain
) -> None:
    update_limit = 128 * 1024
    (wallet,) = api_chain.staked_wallets(1)
    with serve(tmp_path, _sqlite(tmp_path), api_chain, max_update_bytes=update_limit) as served:
        experiment = create_experiment(served.client)
        register(served.client, experiment["id"], wallet)
        start(served.client, experiment["id"])
        open_task(served.client, experiment["id"], wallet)
        boundary = "fedshield-update-boundary"
        status, body = open_ended_post(
            served.url,
            f"/api/experiments/{experiment['id']}/updates",
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            _multipart_head(boundary, "update.safetensors"),
            4 * update_limit,
        )
        assert status == 413, body
        assert f"over the limit of {update_limit + MULTIPART_OVERHEAD_BYTES} bytes" in body["detail"]
        assert _received(served.client) == 0


def flood_after_refusal(
    url: str, path: str, headers: dict[str, str], head: bytes, cap: int
) -> tuple[int, float]:
    """Sends a chunked body of filler without end (up to `cap` bytes) as fast as the server takes it.

    Returns the bytes the socket took before the server closed the connection, and the seconds that took.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    piece = f"{16 * CHUNK:x}\r\n".encode() + b"0" * (16 * CHUNK) + b"\r\n"
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Transfer-Encoding: chunked"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        sent = len(head)
        while sent < cap:
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
    return sent, time.monotonic() - started


def test_connection_is_closed_after_a_413_and_the_rest_is_not_read(
    tmp_path: Path, api_chain: ApiChain
) -> None:
    cap = 1024 * 2**20  # what a server that keeps reading after its answer would take here, in seconds
    with serve(tmp_path, _sqlite(tmp_path), api_chain) as served:
        json_limit = served.orchestrator.settings.max_json_bytes
        update_limit = served.orchestrator.settings.max_update_bytes + MULTIPART_OVERHEAD_BYTES
        for path, limit in (("/api/experiments", json_limit), ("/api/experiments/1/updates", update_limit)):
            boundary = "flood"
            sent, seconds = flood_after_refusal(
                served.url,
                path,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                _multipart_head(boundary, "update.safetensors"),
                cap,
            )
            # The limit, plus what the kernel's socket buffers hold on both sides (a few MiB on loopback).
            print(f"{path}: {sent / 2**20:.1f} MiB taken in {seconds:.2f}s (limit {limit / 2**20:.2f} MiB)")
            assert sent < limit + 32 * 2**20, f"{path}: the server kept reading: {sent} bytes"
            assert seconds < 5, f"{path}: {seconds:.1f}s"
        assert served.client.get("/api/health").status_code == 200  # other connections unharmed


# ------------------------------------------------------------------------------------------ integers


def _received(client: httpx.Client) -> int:
    events = client.get("/api/events/log", params={"limit": 1000}).json()["events"]
    return sum(e["kind"] == "update.received" for e in events)


OUT_OF_TYPE_QUERIES = [
    ("/api/experiments/2147483648", "experiment_id"),  # above the 32-bit id columns
    (f"/api/experiments/{2**64}", "experiment_id"),
    ("/api/experiments/-1", "experiment_id"),
    (f"/api/experiments/1/rounds/{2**64}", "round_number"),
    (f"/api/experiments/1/rounds/{2**63}/verdicts", "round_number"),
    (f"/api/experiments/{2**63}/nodes", "experiment_id"),
    (f"/api/events/log?after={2**64}", "after"),
    (f"/api/events/log?before={2**63}", "before"),
    ("/api/events/log?limit=0", "limit"),
    (f"/api/events?after={2**64}", "after"),
    (f"/api/chain/transactions?experiment_id={2**64}", "experiment_id"),
    ("/api/chain/transactions?round=-1", "round"),
]

OUT_OF_TYPE_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("/api/experiments", {"num_nodes": 2**64}, "num_nodes"),
    ("/api/experiments", {"num_nodes": -1}, "num_nodes"),
    ("/api/experiments", {"rounds": True}, "rounds"),  # no bool for an integer, though pydantic would take it
    ("/api/experiments", {"seed": 2**63}, "seed"),
    ("/api/experiments", {"learning_rate": "0.1"}, "learning_rate"),
    ("/api/experiments", {"attack": {"kind": "sign_flip", "start_round": 0}}, "start_round"),
    ("/api/experiments", {"defense": {"min_cohort": False}}, "min_cohort"),
]


def test_integers_outside_their_type_are_422_naming_the_field(tmp_path: Path, api_chain: ApiChain) -> None:
    with serve(tmp_path, _sqlite(tmp_path), api_chain) as served:
        for path, field in OUT_OF_TYPE_QUERIES:
            response = served.client.get(path)
            assert response.status_code == 422, (path, response.text)
            assert field in response.json()["detail"], (path, response.text)
        for path, overrides, field in OUT_OF_TYPE_BODIES:
            response = served.client.post(path, json=experiment_body(**overrides))
            assert response.status_code == 422, (overrides, response.text)
            assert field in response.json()["detail"], (overrides, response.text)
        probe = served.client.post(
            "/api/attack-probe", json={"experiment_id": 2**64, "attack": {"kind": "sign_flip"}}
        )
        assert probe.status_code == 422 and "experiment_id" in probe.json()["detail"], probe.text
        # A JSON number with a zero fraction is an integer, as JSON Schema counts it.
        assert served.client.post("/api/experiments", json=experiment_body(rounds=2.0)).status_code == 201
        assert len(served.client.get("/api/experiments").json()) == 1


def test_num_samples_outside_its_range_is_422_and_stores_nothing(
    tmp_path: Path, db_url: str, api_chain: ApiChain
) -> None:
    (wallet,) = api_chain.staked_wallets(1)
    with serve(tmp_path, db_url, api_chain) as served:
        client = served.client
        experiment = create_experiment(client)
        register(client, experiment["id"], wallet)
        start(client, experiment["id"])
        task = open_task(client, experiment["id"], wallet)
        delta, samples = honest_delta(client, task)
        # Signed as uint256, but beyond what a submission can hold (PostgreSQL INTEGER, SQLite's int64).
        for num_samples in (2**64, 2**64 - 1, 2**63, MAX_NUM_SAMPLES + 1):
            response = post(client, experiment["id"], sign(task, wallet, delta, num_samples))
            assert response.status_code == 422, (num_samples, response.text)
            assert f"numSamples must be at most {MAX_NUM_SAMPLES}" in response.json()["detail"]
        signed = sign(task, wallet, delta, samples)
        negative = json.dumps({**signed.message.to_eip712(), "numSamples": -1})
        response = post(client, experiment["id"], signed, message=negative)
        assert response.status_code == 422 and "numSamples" in response.json()["detail"], response.text
        assert _received(client) == 0
        # No half-written submission stands in the way of the real one.
        assert post(client, experiment["id"], signed).status_code == 202
        assert _received(client) == 1


# ------------------------------------------------------------------------------------- memory at limit


def _npz_at(limit: int, path: Path) -> int:
    """An uncompressed float32 NPZ dataset of just under `limit` bytes; returns its size."""
    features = 64
    rows = (limit - 4096) // (features * 4 + 8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    y = (np.arange(rows) % 3).astype(np.int64)
    np.savez(path, x=x, y=y)
    size = path.stat().st_size
    assert limit - 8192 < size <= limit
    return size


def test_dataset_upload_at_the_limit_uses_at_most_4x_its_size_in_memory(
    tmp_path: Path, api_chain: ApiChain
) -> None:
    with serve(tmp_path, _sqlite(tmp_path), api_chain) as served:
        limit = served.orchestrator.settings.max_upload_bytes
        dataset = tmp_path / "at-limit.npz"
        size = _npz_at(limit, dataset)
        assert len(served.client.get("/api/datasets").json()) == len(
            BUILTIN_DATASETS
        )  # built-ins loaded first
        with dataset.open("rb") as handle:
            tracemalloc.start()  # server and client share this process: the client streams from disk
            try:
                response = served.client.post(
                    "/api/datasets",
                    files={"file": ("at-limit.npz", handle, "application/octet-stream")},
                    timeout=120,
                )
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert response.status_code == 201, response.text
        print(f"upload of {size / 2**20:.1f} MiB peaked at {peak / 2**20:.1f} MiB ({peak / size:.2f}x)")
        assert peak <= 4 * size, f"{peak / size:.2f}x the upload's size"
