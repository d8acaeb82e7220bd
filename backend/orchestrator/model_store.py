"""Global models as content-addressed files: ``<keccak256 of the bytes>.safetensors``.

The name is the hash recorded on chain, so anyone can check a downloaded model against the settlement.
Files are written atomically (temp file, then rename) and before the round that produced them is
committed or settled.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from backend.orchestrator.errors import NotFound
from workers.tensors import Layout, Weights, tensor_layout
from workers.wire import decode_tensors, encode_tensors, model_hash, payload_limit

_HASH = re.compile(r"0x[0-9a-f]{64}")
_CACHE_SIZE = 64


class ModelStore:
    """Reads and writes global model files; keeps the most recently used ones decoded in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._cache: OrderedDict[str, Weights] = OrderedDict()
        self._lock = threading.Lock()

    def path_of(self, hash_: str) -> Path:
        """The file of model ``hash_``; NotFound when the hash is malformed or unknown."""
        key = hash_.lower()
        if not _HASH.fullmatch(key):
            raise NotFound(f"model hash must be 0x followed by 64 hex digits, got {hash_[:80]!r}")
        path = self.directory / f"{key}.safetensors"
        if not path.is_file():
            raise NotFound(f"no model with hash {key}")
        return path

    def save(self, weights: Weights) -> tuple[str, int]:
        """Writes ``weights`` (idempotent) and returns (hash, size in bytes)."""
        data = encode_tensors(weights)
        key = model_hash(data)
        path = self.directory / f"{key}.safetensors"
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".model-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        self._remember(key, weights)
        return key, len(data)

    def load(self, hash_: str, layout: Layout | None = None) -> Weights:
        """The weights of model ``hash_``, checked against ``layout`` when given."""
        key = hash_.lower()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        data = self.path_of(key).read_bytes()
        if model_hash(data) != key:
            raise NotFound(f"model file for {key} is corrupt: its bytes hash differently")
        if layout is None:
            import safetensors.torch

            weights: Weights = dict(sorted(safetensors.torch.load(data).items()))
        else:
            weights = decode_tensors(data, layout, max_bytes=payload_limit(layout))
        self._remember(key, weights)
        return weights

    def layout_of(self, hash_: str) -> Layout:
        return tensor_layout(self.load(hash_))

    def _remember(self, key: str, weights: Weights) -> None:
        with self._lock:
            self._cache[key] = weights
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
