"""Model weights as plain data: `dict[str, Tensor]`, float32 on CPU, keys in sorted order.

Sorted names fix one order for flattening, hashing and the wire, whatever order a module registers its
parameters in. The same helpers serve whole weights and updates (deltas), which share a layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

Weights = dict[str, torch.Tensor]
Layout = dict[str, tuple[tuple[int, ...], str]]  # name -> (shape, dtype name such as "float32")


def state_of(model: nn.Module) -> Weights:
    """A detached float32 CPU copy of the model's state, keys sorted."""
    state = model.state_dict()
    return {name: state[name].detach().to("cpu", torch.float32).clone() for name in sorted(state)}


def load_state(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Copies `weights` into the model, refusing any difference in names or shapes."""
    check_same_layout(tensor_layout(model.state_dict()), tensor_layout(weights), what="weights")
    model.load_state_dict(dict(weights), strict=True)


def flatten(weights: Mapping[str, torch.Tensor]) -> np.ndarray:
    """All values as one float32 vector, tensors concatenated in sorted-name order: (P,)."""
    if not weights:
        return np.zeros(0, dtype=np.float32)
    parts = [weights[name].detach().to("cpu", torch.float32).reshape(-1) for name in sorted(weights)]
    return torch.cat(parts).numpy().copy()


def unflatten(vec: np.ndarray, template: Mapping[str, torch.Tensor]) -> Weights:
    """Inverse of `flatten`: cuts a (P,) vector into tensors shaped like `template`."""
    vec = np.asarray(vec, dtype=np.float32).reshape(-1)
    sizes = [template[name].numel() for name in sorted(template)]
    if vec.size != sum(sizes):
        raise ValueError(f"vector has {vec.size} values, the template holds {sum(sizes)}")
    out: Weights = {}
    start = 0
    for name, size in zip(sorted(template), sizes, strict=True):
        chunk = torch.from_numpy(vec[start : start + size].copy())
        out[name] = chunk.reshape(template[name].shape)
        start += size
    return out


def tensor_layout(weights: Mapping[str, torch.Tensor]) -> Layout:
    """Name -> (shape, dtype name) for every tensor, keys sorted; what a receiver checks updates against."""
    return {name: (tuple(weights[name].shape), dtype_name(weights[name].dtype)) for name in sorted(weights)}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def layout_size(layout: Layout) -> int:
    """Number of values a tensor dict of this layout holds."""
    return sum(math.prod(shape) for shape, _ in layout.values())


def check_same_layout(expected: Layout, found: Layout, *, what: str = "tensors") -> None:
    """Raises ValueError naming the missing, unexpected or misshapen tensors."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise ValueError(f"{what} do not match the model: missing {missing}, unexpected {extra}")
    for name, (shape, _) in expected.items():
        if found[name][0] != shape:
            raise ValueError(f"{what}: tensor {name!r} has shape {found[name][0]}, expected {shape}")


def weight_delta(after: Mapping[str, torch.Tensor], before: Mapping[str, torch.Tensor]) -> Weights:
    """after - before, per tensor (a node's update is local minus global)."""
    check_same_layout(tensor_layout(before), tensor_layout(after))
    return {name: (after[name] - before[name]).to(torch.float32) for name in sorted(before)}


def apply_delta(weights: Mapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor]) -> Weights:
    """weights + delta, per tensor."""
    check_same_layout(tensor_layout(weights), tensor_layout(delta))
    return {name: (weights[name] + delta[name]).to(torch.float32) for name in sorted(weights)}


def l2_norm(weights: Mapping[str, torch.Tensor]) -> float:
    """Euclidean norm of all values together, accumulated in float64."""
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in weights.values()))
