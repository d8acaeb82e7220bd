"""Model factory: a small MLP for tabular samples and a small CNN for images, both built from a `ModelSpec`.

No batch norm and no dropout: every state entry is a parameter FedAvg can average, there are no running
buffers to keep in sync across nodes, and local training is deterministic under a seed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from workers.datasets import DatasetSpec

ModelKind = Literal["mlp", "cnn"]
_CNN_CHANNELS = (32, 32, 64)  # channels of successive conv blocks; digits (8x8) uses only the first


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the same architecture on any node."""

    kind: ModelKind  # "mlp" for (D,) samples, "cnn" for (C, H, W) images
    input_shape: tuple[int, ...]  # per-sample shape, as in DatasetSpec
    num_classes: int  # width of the output logits
    hidden: tuple[
        int, ...
    ]  # mlp: hidden layer widths; cnn: channels of each 3x3 conv + ReLU + 2x2 pool block

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "cnn"):
            raise ValueError(f"model kind must be 'mlp' or 'cnn', found {self.kind!r}")
        dims = 1 if self.kind == "mlp" else 3
        if len(self.input_shape) != dims or min(self.input_shape) < 1:
            raise ValueError(f"{self.kind} needs a {dims}-D positive input shape, found {self.input_shape}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, found {self.num_classes}")
        if any(h < 1 for h in self.hidden) or (self.kind == "cnn" and not self.hidden):
            raise ValueError(
                f"hidden sizes must be positive (and a cnn needs one block), found {self.hidden}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the inverse of `from_dict`."""
        return {
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "hidden": list(self.hidden),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        kind = data["kind"]
        if kind not in ("mlp", "cnn"):
            raise ValueError(f"model kind must be 'mlp' or 'cnn', found {kind!r}")
        return cls(
            kind=kind,
            input_shape=tuple(int(d) for d in data["input_shape"]),
            num_classes=int(data["num_classes"]),
            hidden=tuple(int(h) for h in data["hidden"]),
        )


def model_spec_for(spec: DatasetSpec) -> ModelSpec:
    """A model sized from the data, small enough that a CPU round takes well under a second.

    Images: a CNN with one conv block per halving that leaves at least 4x4 pixels (at most 3 blocks, at least
    1): digits (1, 8, 8) get one 32-channel block, 5.4k parameters; 28x28 images get two, ~25k.
    Tabular: an MLP with one hidden layer of the power of two at or above 2 * D, clamped to [32, 256].
    """
    if spec.is_image:
        _, h, w = spec.input_shape
        blocks, side = 0, min(h, w)
        while side // 2 >= 4 and blocks < len(_CNN_CHANNELS):
            side //= 2
            blocks += 1
        return ModelSpec("cnn", spec.input_shape, spec.num_classes, _CNN_CHANNELS[: max(blocks, 1)])
    (features,) = spec.input_shape
    width = min(256, max(32, 1 << math.ceil(math.log2(2 * features))))
    return ModelSpec("mlp", spec.input_shape, spec.num_classes, (width,))


def build_model(spec: ModelSpec, seed: int | None = None) -> nn.Module:
    """The network for `spec`; with a seed, identical initial weights every time (global RNG untouched)."""
    if seed is None:
        return _mlp(spec) if spec.kind == "mlp" else _cnn(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _mlp(spec) if spec.kind == "mlp" else _cnn(spec)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _mlp(spec: ModelSpec) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    width = spec.input_shape[0]
    for i, hidden in enumerate(spec.hidden):
        layers[f"fc{i}"] = nn.Linear(width, hidden)  # (B, width) -> (B, hidden)
        layers[f"relu{i}"] = nn.ReLU()
        width = hidden
    layers["head"] = nn.Linear(width, spec.num_classes)  # (B, num_classes) logits
    return nn.Sequential(layers)


def _cnn(spec: ModelSpec) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels, h, w = spec.input_shape
    for i, out in enumerate(spec.hidden):
        layers[f"conv{i}"] = nn.Conv2d(channels, out, kernel_size=3, padding=1)  # (B, out, h, w)
        layers[f"relu{i}"] = nn.ReLU()
        if min(h, w) >= 2:
            layers[f"pool{i}"] = nn.MaxPool2d(2)  # (B, out, h // 2, w // 2)
            h, w = h // 2, w // 2
        channels = out
    layers["flatten"] = nn.Flatten()  # (B, channels * h * w)
    layers["head"] = nn.Linear(channels * h * w, spec.num_classes)  # (B, num_classes) logits
    return nn.Sequential(layers)
