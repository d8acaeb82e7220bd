"""Model factory and weight dicts: shapes, sizes, seeded init, flatten / unflatten."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from workers.datasets import DatasetSpec, load_builtin
from workers.models import ModelSpec, build_model, model_spec_for, num_parameters
from workers.tensors import (
    apply_delta,
    flatten,
    l2_norm,
    load_state,
    state_of,
    tensor_layout,
    unflatten,
    weight_delta,
)

DIGITS = load_builtin("digits").spec
WINE = load_builtin("wine").spec


def test_digits_get_a_small_cnn() -> None:
    spec = model_spec_for(DIGITS)
    model = build_model(spec, seed=0)
    assert spec.kind == "cnn" and 2_000 <= num_parameters(model) <= 20_000
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)  # (B, C) logits


def test_tabular_sets_get_an_mlp_sized_from_their_features() -> None:
    spec = model_spec_for(WINE)
    assert spec == ModelSpec("mlp", (13,), 3, (32,))
    assert build_model(spec)(torch.zeros(4, 13)).shape == (4, 3)
    wide = model_spec_for(DatasetSpec("wide", (500,), 4, False))
    assert wide.hidden == (256,)


def test_larger_images_get_more_conv_blocks() -> None:
    spec = model_spec_for(DatasetSpec("mnist-like", (1, 28, 28), 10, True))
    assert spec.hidden == (32, 32)
    model = build_model(spec, seed=0)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10) and num_parameters(model) < 30_000


def test_seeded_build_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    spec = model_spec_for(DIGITS)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = state_of(build_model(spec, seed=7)), state_of(build_model(spec, seed=7))
    assert torch.equal(torch.rand(1), expected_next)
    c = state_of(build_model(spec, seed=8))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_model_spec_roundtrips_and_validates() -> None:
    spec = model_spec_for(DIGITS)
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="mlp needs a 1-D"):
        ModelSpec("mlp", (1, 8, 8), 10, (32,))
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        ModelSpec("cnn", (1, 8, 8), 1, (32,))
    with pytest.raises(ValueError, match="'rnn'"):
        ModelSpec.from_dict({"kind": "rnn", "input_shape": [3], "num_classes": 2, "hidden": []})


def test_state_is_sorted_float32_and_flattens_in_name_order() -> None:
    weights = state_of(build_model(model_spec_for(WINE), seed=0))
    assert list(weights) == sorted(weights)
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in weights.values())
    vec = flatten(weights)
    assert vec.dtype == np.float32 and vec.shape == (sum(t.numel() for t in weights.values()),)
    first = next(iter(weights))
    assert np.array_equal(vec[: weights[first].numel()], weights[first].reshape(-1).numpy())
    back = unflatten(vec, weights)
    assert tensor_layout(back) == tensor_layout(weights)
    assert all(torch.equal(back[k], weights[k]) for k in weights)
    with pytest.raises(ValueError, match="vector has 3 values"):
        unflatten(np.zeros(3), weights)


def test_layout_lists_shapes_and_dtype_names() -> None:
    layout = tensor_layout(state_of(build_model(model_spec_for(WINE), seed=0)))
    assert layout["fc0.weight"] == ((32, 13), "float32")
    assert layout["head.bias"] == ((3,), "float32")


def test_load_state_refuses_foreign_weights() -> None:
    model = build_model(model_spec_for(WINE), seed=0)
    weights = state_of(model)
    with pytest.raises(ValueError, match=r"missing \['head.bias'\]"):
        load_state(model, {k: v for k, v in weights.items() if k != "head.bias"})
    with pytest.raises(ValueError, match=r"'head.bias' has shape \(4,\), expected \(3,\)"):
        load_state(model, {**weights, "head.bias": torch.zeros(4)})
    load_state(model, {k: v + 1 for k, v in weights.items()})
    assert torch.equal(state_of(model)["head.bias"], weights["head.bias"] + 1)


def test_delta_arithmetic_roundtrips() -> None:
    before = state_of(build_model(model_spec_for(WINE), seed=0))
    after = state_of(build_model(model_spec_for(WINE), seed=1))
    delta = weight_delta(after, before)
    restored = apply_delta(before, delta)
    assert all(torch.allclose(restored[k], after[k], atol=1e-6) for k in after)
    assert l2_norm(delta) == pytest.approx(float(np.linalg.norm(flatten(delta).astype(np.float64))), rel=1e-6)
