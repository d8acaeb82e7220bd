"""Local training and evaluation: what a node runs each round, and what the orchestrator scores models with.

A node starts from the global weights w_r, runs `epochs` passes of minibatch SGD (or Adam) over its own
data and reports Δ = w_local - w_r [FedAvg: McMahan et al., 2017]. Optimizer state starts fresh every round,
as in FedAvg. Everything is deterministic under `seed` and leaves torch's global RNG and thread count alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workers.models import ModelSpec, build_model
from workers.tensors import Weights, load_state, state_of, weight_delta

OptimizerName = Literal["sgd", "adam"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters the orchestrator publishes with each round.

    The defaults are the product's one local training: the API, the dashboard's presets, ``fedshield run``
    and every bench start from ``DEFAULT_TRAIN``, so a measured figure is what a user gets by default.
    """

    epochs: int = 2  # local passes over the node's data per round
    batch_size: int = 32  # a few steps per epoch on the 70-150 samples a simulated node holds
    lr: float = 0.05  # SGD step size; use ~1e-2 with "adam"
    optimizer: OptimizerName = "sgd"  # "sgd" (with momentum) or "adam"
    momentum: float = 0.9  # SGD only; the buffer restarts from zero each round
    weight_decay: float = 0.0  # L2 penalty; off, the models are small and rounds are few

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, found {value!r}")
        for name in ("lr", "momentum", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, found {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, found {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), found {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, found {self.weight_decay}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', found {self.optimizer!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown training options {unknown}")
        return cls(**data)


DEFAULT_TRAIN = TrainConfig()


@dataclass
class LocalUpdate:
    """What a node sends back: its weight change, how much data produced it, and its training loss."""

    delta: Weights  # w_local - w_global, float32, same layout as the model
    num_samples: int  # FedAvg weight of this update
    train_loss: float  # mean cross-entropy over the last local epoch


@dataclass(frozen=True)
class EvalResult:
    accuracy: float  # fraction of samples classified correctly
    loss: float  # mean cross-entropy


def train_local(
    model_spec: ModelSpec,
    global_weights: Weights,
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    *,
    seed: int,
) -> LocalUpdate:
    """Trains a copy of the global model on (x, y) and returns Δ = w_local - w_global."""
    inputs, labels = _as_tensors(model_spec, x, y)  # (N, *input_shape), (N,)
    if len(labels) == 0:
        raise ValueError("a node needs at least one sample to train")
    model = _model_with(model_spec, global_weights)
    optimizer = _optimizer(model, config)
    shuffle = torch.Generator().manual_seed(seed)
    model.train()
    epoch_loss = 0.0
    for _ in range(config.epochs):
        order = torch.randperm(len(labels), generator=shuffle)  # (N,)
        epoch_loss = 0.0
        for start in range(0, len(labels), config.batch_size):
            batch = order[start : start + config.batch_size]  # (B,)
            logits = model(inputs[batch])  # (B, C)
            loss = F.cross_entropy(logits, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() * len(batch)
    delta = weight_delta(state_of(model), global_weights)
    return LocalUpdate(delta=delta, num_samples=len(labels), train_loss=epoch_loss / len(labels))


@torch.no_grad()
def evaluate(
    model_spec: ModelSpec, weights: Weights, x: np.ndarray, y: np.ndarray, *, batch_size: int = 1024
) -> EvalResult:
    """Accuracy and mean cross-entropy of `weights` on (x, y)."""
    inputs, labels = _as_tensors(model_spec, x, y)
    if len(labels) == 0:
        raise ValueError("cannot evaluate on zero samples")
    model = _model_with(model_spec, weights)
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = model(inputs[start : start + batch_size])  # (B, C)
        target = labels[start : start + batch_size]  # (B,)
        loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    return EvalResult(accuracy=correct / len(labels), loss=loss_sum / len(labels))


def _model_with(model_spec: ModelSpec, weights: Weights) -> nn.Module:
    model = build_model(model_spec, seed=0)  # the seed only spares the global RNG; weights are replaced
    load_state(model, weights)
    return model


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def _as_tensors(model_spec: ModelSpec, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape[1:] != model_spec.input_shape:
        raise ValueError(f"samples have shape {x.shape[1:]}, the model expects {model_spec.input_shape}")
    if y.shape != (len(x),):
        raise ValueError(f"expected {len(x)} labels in a 1-D array, found shape {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= model_spec.num_classes):
        raise ValueError(f"labels must lie in 0..{model_spec.num_classes - 1}")
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    labels = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    return inputs, labels
