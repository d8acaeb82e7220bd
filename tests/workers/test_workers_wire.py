"""Wire format: safetensors roundtrip, byte-stable hashes, and a precise WireError for every bad payload."""

from __future__ import annotations

import io
import json
import pickle
import struct

import pytest
import safetensors.torch
import torch
from eth_utils import keccak

from workers.tensors import Weights, tensor_layout
from workers.wire import (
    WireError,
    decode_metadata,
    decode_tensors,
    encode_tensors,
    model_hash,
    payload_limit,
)


def sample_weights() -> Weights:
    g = torch.Generator().manual_seed(0)
    return {
        "head.weight": torch.randn(3, 4, generator=g),
        "head.bias": torch.randn(3, generator=g),
        "conv0.weight": torch.randn(2, 1, 3, 3, generator=g),
    }


WEIGHTS = sample_weights()
LAYOUT = tensor_layout(WEIGHTS)
LIMIT = payload_limit(LAYOUT)


def wire_error(data: bytes, layout: object = LAYOUT, max_bytes: int = LIMIT) -> str:
    with pytest.raises(WireError) as info:
        decode_tensors(data, layout, max_bytes=max_bytes)  # type: ignore[arg-type]
    return str(info.value)


def test_roundtrip_keeps_names_shapes_and_values() -> None:
    data = encode_tensors(WEIGHTS, {"round": "3"})
    decoded = decode_tensors(data, LAYOUT, max_bytes=LIMIT)
    assert list(decoded) == sorted(WEIGHTS)
    assert all(torch.equal(decoded[k], WEIGHTS[k]) for k in WEIGHTS)
    assert decode_metadata(data) == {"round": "3"}
    assert decode_metadata(encode_tensors(WEIGHTS)) == {}


def test_bytes_and_hash_depend_only_on_content() -> None:
    shuffled = {k: WEIGHTS[k].clone() for k in reversed(list(WEIGHTS))}
    a = encode_tensors(WEIGHTS, {"a": "1", "b": "2", "c": "3"})
    b = encode_tensors(shuffled, {"c": "3", "a": "1", "b": "2"})
    assert a == b and model_hash(a) == model_hash(b)
    changed = {**WEIGHTS, "head.bias": WEIGHTS["head.bias"] + 1e-6}
    assert model_hash(encode_tensors(changed, {"a": "1", "b": "2", "c": "3"})) != model_hash(a)


def test_encoding_matches_the_reference_writer_and_reader() -> None:
    assert encode_tensors(WEIGHTS) == safetensors.torch.save(WEIGHTS)
    loaded = safetensors.torch.load(encode_tensors(WEIGHTS, {"k": "v"}))
    assert all(torch.equal(loaded[k], WEIGHTS[k]) for k in WEIGHTS)


def test_non_contiguous_tensors_encode_as_their_values() -> None:
    transposed = {"m": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}
    decoded = decode_tensors(encode_tensors(transposed), {"m": ((3, 2), "float32")}, max_bytes=10_000)
    assert torch.equal(decoded["m"], transposed["m"])


def test_model_hash_is_0x_keccak256() -> None:
    data = encode_tensors(WEIGHTS)
    digest = model_hash(data)
    assert digest == "0x" + keccak(data).hex() and len(digest) == 66
    assert model_hash(b"") == "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_oversize_payload() -> None:
    data = encode_tensors(WEIGHTS)
    assert f"payload is {len(data)} bytes, over the limit of 100 bytes" in wire_error(data, max_bytes=100)


def test_pickle_and_torch_save_payloads_are_rejected_unread() -> None:
    buffer = io.BytesIO()
    torch.save(WEIGHTS, buffer)
    for payload in (pickle.dumps(WEIGHTS), buffer.getvalue()):
        assert wire_error(payload, max_bytes=10**9).startswith("not safetensors")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "payload is 0 bytes, shorter than the 8-byte length prefix"),
        (b"\x05\x00\x00\x00\x00\x00\x00\x00{}", "header length 5 exceeds the 2 bytes after the prefix"),
        (struct.pack("<Q", 4) + b"{no}", "header is not valid JSON"),
        (struct.pack("<Q", 2) + b"[]", "header is a JSON list, expected an object"),
        (struct.pack("<Q", 2) + b"\xff\xfe", "header is not valid JSON"),
    ],
)
def test_garbage_is_not_safetensors(payload: bytes, expected: str) -> None:
    assert expected in wire_error(payload)


def test_missing_and_extra_tensors_are_named() -> None:
    partial = {k: v for k, v in WEIGHTS.items() if k != "head.bias"}
    assert "missing ['head.bias'], unexpected []" in wire_error(encode_tensors(partial))
    extra = {**WEIGHTS, "backdoor": torch.zeros(1)}
    assert "missing [], unexpected ['backdoor']" in wire_error(encode_tensors(extra))


def test_wrong_shape_and_dtype_are_named() -> None:
    reshaped = {**WEIGHTS, "head.weight": WEIGHTS["head.weight"].reshape(4, 3)}
    assert "tensor 'head.weight' has shape (4, 3), expected (3, 4)" in wire_error(encode_tensors(reshaped))
    widened = {**WEIGHTS, "head.bias": WEIGHTS["head.bias"].double()}
    assert "tensor 'head.bias' has dtype float64, expected float32" in wire_error(encode_tensors(widened))


def test_non_finite_values_are_counted_per_tensor() -> None:
    bad = {k: v.clone() for k, v in WEIGHTS.items()}
    bad["head.weight"][0, :2] = float("nan")
    bad["head.weight"][1, 0] = float("inf")
    bad["conv0.weight"][0, 0, 0, 0] = float("-inf")
    message = wire_error(encode_tensors(bad))
    assert "tensor 'head.weight' holds 2 NaN and 1 Inf values" in message
    assert "tensor 'conv0.weight' holds 0 NaN and 1 Inf values" in message
    assert "head.bias" not in message


def test_truncated_or_padded_data_is_corrupt() -> None:
    data = encode_tensors(WEIGHTS)
    size = 4 * sum(t.numel() for t in WEIGHTS.values())
    assert f"describes {size} bytes of tensor data, the payload holds {size - 4}" in wire_error(data[:-4])
    assert f"describes {size} bytes of tensor data, the payload holds {size + 4}" in wire_error(
        data + bytes(4)
    )


def test_header_lying_about_offsets_is_corrupt() -> None:
    data = encode_tensors({"a": torch.zeros(2), "b": torch.zeros(2)})
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header["b"]["data_offsets"] = [0, 8]  # overlaps "a"
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    forged = struct.pack("<Q", len(text)) + text + data[8 + length :]
    layout = {"a": ((2,), "float32"), "b": ((2,), "float32")}
    assert "tensor 'b' occupies bytes [0, 8), expected [8, 16)" in wire_error(forged, layout)


def test_malformed_entries_and_duplicate_keys() -> None:
    entry = b'{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'
    assert "entry for tensor 'a' is malformed" in wire_error(struct.pack("<Q", len(entry)) + entry)
    dup = b'{"a":{},"a":{}}'
    assert "duplicate keys ['a']" in wire_error(struct.pack("<Q", len(dup)) + dup)


def test_encode_refuses_what_it_cannot_write() -> None:
    with pytest.raises(WireError, match="unsupported dtype bfloat16"):
        encode_tensors({"a": torch.zeros(2, dtype=torch.bfloat16)})
    with pytest.raises(WireError, match="reserved"):
        encode_tensors({"__metadata__": torch.zeros(1)})
    with pytest.raises(WireError, match="must be bytes"):
        decode_tensors("text", LAYOUT, max_bytes=LIMIT)  # type: ignore[arg-type]
