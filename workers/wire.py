"""Wire format for weights and updates: safetensors bytes, checked tensor by tensor before use.

Never pickle and never `torch.load` on bytes from the network: safetensors is a JSON header plus raw
little-endian buffers, so decoding runs no code. The encoder writes the canonical layout itself (header keys
in a fixed order, compact JSON, tensors in sorted-name order) because the reference writer emits
`__metadata__` in hash-map order, which would make equal tensors hash differently; its output is still read
back with the reference `safetensors` parser. Hashes are keccak256, the hash the settlement contract uses.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import Any

import safetensors.torch
import torch
from eth_utils import keccak

from workers.tensors import Layout, Weights, dtype_name

_CODES: dict[torch.dtype, str] = {  # torch dtype -> safetensors dtype code
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_NAMES = {code: dtype_name(dtype) for dtype, code in _CODES.items()}  # "F32" -> "float32"
_ITEMSIZE = {code: torch.empty(0, dtype=dtype).element_size() for dtype, code in _CODES.items()}
_METADATA = "__metadata__"
_HEADER_SLACK = 64 * 1024  # bytes allowed for the JSON header on top of the raw tensor data


class WireError(ValueError):
    """A payload that is not an acceptable update, with the reason a sender can act on."""


def encode_tensors(weights: Mapping[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """Safetensors bytes for `weights`; equal tensors and metadata always give equal bytes."""
    header: dict[str, Any] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise WireError("metadata keys and values must all be strings")
        header[_METADATA] = dict(sorted(metadata.items()))
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(weights):
        if name == _METADATA:
            raise WireError(f"{_METADATA!r} is reserved and cannot name a tensor")
        tensor = weights[name].detach().to("cpu").contiguous()
        if tensor.dtype not in _CODES:
            raise WireError(f"tensor {name!r} has unsupported dtype {dtype_name(tensor.dtype)}")
        array = tensor.numpy()
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": _CODES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8-byte alignment with spaces
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def decode_tensors(data: bytes, expected_layout: Layout, *, max_bytes: int) -> Weights:
    """Tensors from safetensors bytes, only if they match `expected_layout` exactly and are all finite.

    Raises WireError naming the problem: oversize, not safetensors or a corrupt header, missing or extra
    tensor names, a wrong shape or dtype, or NaN / Inf values (which tensors, and how many).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireError(f"payload must be bytes, found {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise WireError(f"payload is {len(data)} bytes, over the limit of {max_bytes} bytes")
    entries = _tensor_entries(_read_header(data))
    missing = sorted(set(expected_layout) - set(entries))
    extra = sorted(set(entries) - set(expected_layout))
    if missing or extra:
        raise WireError(f"tensor names do not match the model: missing {missing}, unexpected {extra}")
    for name, (shape, dtype) in sorted(expected_layout.items()):
        found_dtype = _NAMES.get(entries[name]["dtype"], entries[name]["dtype"])
        if found_dtype != dtype:
            raise WireError(f"tensor {name!r} has dtype {found_dtype}, expected {dtype}")
        if tuple(entries[name]["shape"]) != tuple(shape):
            raise WireError(
                f"tensor {name!r} has shape {tuple(entries[name]['shape'])}, expected {tuple(shape)}"
            )
    _check_offsets(entries, len(data) - 8 - struct.unpack("<Q", data[:8])[0])
    try:
        loaded = safetensors.torch.load(data)
    except Exception as exc:  # the reference parser's own checks; its error type is not public API
        raise WireError(f"corrupt safetensors payload: {exc}") from None
    problems = [_non_finite(name, loaded[name]) for name in sorted(loaded)]
    reported = [p for p in problems if p]
    if reported:
        raise WireError("non-finite values: " + "; ".join(reported))
    return {name: loaded[name].contiguous() for name in sorted(loaded)}


def decode_metadata(data: bytes) -> dict[str, str]:
    """The string metadata stored in a payload's header (empty if none)."""
    header = _read_header(bytes(data))
    metadata = header.get(_METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise WireError(f"corrupt safetensors header: {_METADATA!r} must map strings to strings")
    return dict(metadata)


def model_hash(data: bytes) -> str:
    """'0x' + keccak256 of the payload bytes in hex: the hash committed on chain."""
    return "0x" + keccak(bytes(data)).hex()


def payload_limit(layout: Layout) -> int:
    """A sensible max_bytes for payloads of `layout`: the raw tensor data plus room for the header."""
    itemsize = {_NAMES[code]: size for code, size in _ITEMSIZE.items()}
    return (
        8 + _HEADER_SLACK + sum(math.prod(shape) * itemsize.get(dtype, 8) for shape, dtype in layout.values())
    )


def _read_header(data: bytes) -> dict[str, Any]:
    if len(data) < 8:
        raise WireError(
            f"not safetensors: payload is {len(data)} bytes, shorter than the 8-byte length prefix"
        )
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise WireError(
            f"not safetensors: header length {header_len} exceeds the {len(data) - 8} bytes after the prefix"
        )
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not safetensors: header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WireError(f"not safetensors: header is a JSON {type(header).__name__}, expected an object")
    return header


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def _tensor_entries(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Header entries other than metadata, each checked to have a dtype, a shape and two offsets."""
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in header.items():
        if name == _METADATA:
            continue
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("dtype"), str)
            and _is_index_list(entry.get("shape"))
            and _is_index_list(entry.get("data_offsets"))
            and len(entry["data_offsets"]) == 2
        )
        if not ok:
            raise WireError(f"corrupt safetensors header: entry for tensor {name!r} is malformed")
        entries[name] = entry
    return entries


def _check_offsets(entries: dict[str, dict[str, Any]], data_len: int) -> None:
    """Buffers must tile the data section exactly, each sized to its dtype and shape."""
    position = 0
    for name, entry in sorted(entries.items(), key=lambda item: tuple(item[1]["data_offsets"])):
        begin, end = entry["data_offsets"]
        size = _ITEMSIZE.get(entry["dtype"], 0) * math.prod(entry["shape"])
        if begin != position or end - begin != size:
            raise WireError(
                f"corrupt safetensors payload: tensor {name!r} occupies bytes [{begin}, {end}), "
                f"expected [{position}, {position + size})"
            )
        position = end
    if position != data_len:
        raise WireError(
            f"corrupt safetensors payload: the header describes {position} bytes of tensor data, "
            f"the payload holds {data_len}"
        )


def _is_index_list(value: Any) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _non_finite(name: str, tensor: torch.Tensor) -> str:
    if not tensor.is_floating_point():
        return ""
    nan = int(torch.isnan(tensor).sum())
    inf = int(torch.isinf(tensor).sum())
    return f"tensor {name!r} holds {nan} NaN and {inf} Inf values" if nan or inf else ""
