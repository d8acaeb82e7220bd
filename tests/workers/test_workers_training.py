"""Local training and evaluation with real torch: loss goes down, runs repeat exactly, FedAvg learns digits."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from workers.datasets import ExperimentData, load_builtin_split
from workers.models import ModelSpec, build_model, model_spec_for
from workers.partition import partition_indices
from workers.tensors import Weights, apply_delta, state_of, tensor_layout
from workers.training import LocalUpdate, TrainConfig, evaluate, train_local


def fedavg(updates: list[LocalUpdate]) -> Weights:
    """Sample-weighted mean of the deltas, the plain FedAvg rule [McMahan et al., 2017]."""
    total = sum(u.num_samples for u in updates)
    return {k: sum(u.delta[k] * (u.num_samples / total) for u in updates) for k in updates[0].delta}  # type: ignore[misc]


def initial(spec: ModelSpec) -> Weights:
    return state_of(build_model(spec, seed=0))


def test_local_training_lowers_the_nodes_loss(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = initial(spec)
    x, y = digits.train.x[:300], digits.train.y[:300]
    before = evaluate(spec, weights, x, y)
    update = train_local(spec, weights, x, y, TrainConfig(epochs=3), seed=0)
    after = evaluate(spec, apply_delta(weights, update.delta), x, y)
    assert after.loss < before.loss * 0.8 and after.accuracy > before.accuracy
    assert update.num_samples == 300 and update.train_loss < before.loss
    assert tensor_layout(update.delta) == tensor_layout(weights)


def test_training_is_deterministic_under_seed_and_leaves_inputs_alone(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    weights = initial(spec)
    snapshot = {k: v.clone() for k, v in weights.items()}
    x, y = digits.train.x[:100], digits.train.y[:100]
    a = train_local(spec, weights, x, y, TrainConfig(), seed=1)
    b = train_local(spec, weights, x, y, TrainConfig(), seed=1)
    c = train_local(spec, weights, x, y, TrainConfig(), seed=2)
    assert all(torch.equal(a.delta[k], b.delta[k]) for k in a.delta) and a.train_loss == b.train_loss
    assert not all(torch.equal(a.delta[k], c.delta[k]) for k in a.delta)
    assert all(torch.equal(weights[k], snapshot[k]) for k in weights)


def test_adam_and_tabular_models_train() -> None:
    train, test, _ = load_builtin_split("breast_cancer")
    spec = model_spec_for(train.spec)
    weights = initial(spec)
    update = train_local(
        spec, weights, train.x, train.y, TrainConfig(optimizer="adam", lr=0.01, epochs=3), seed=0
    )
    assert evaluate(spec, apply_delta(weights, update.delta), test.x, test.y).accuracy > 0.9


def test_fedavg_on_iid_digits_reaches_85_percent_in_10_rounds(digits: ExperimentData) -> None:
    train, test, _ = digits
    spec = model_spec_for(train.spec)
    weights = initial(spec)
    parts = partition_indices(train.y, 10, "iid", seed=0)
    started = time.perf_counter()
    accuracy = []
    for round_idx in range(10):
        updates = [
            train_local(spec, weights, train.x[p], train.y[p], TrainConfig(), seed=100 * round_idx + node)
            for node, p in enumerate(parts)
        ]
        weights = apply_delta(weights, fedavg(updates))
        accuracy.append(evaluate(spec, weights, test.x, test.y).accuracy)
    elapsed = time.perf_counter() - started
    print(
        f"FedAvg digits, 10 IID nodes: accuracy per round {np.round(accuracy, 3).tolist()} in {elapsed:.2f}s"
    )
    assert accuracy[-1] >= 0.85


def test_evaluate_reports_accuracy_and_mean_loss(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    result = evaluate(spec, initial(spec), digits.test.x, digits.test.y)
    assert 0.0 <= result.accuracy <= 0.3 and result.loss == pytest.approx(np.log(10), rel=0.1)


def test_inputs_that_do_not_fit_the_model_are_refused(digits: ExperimentData) -> None:
    spec = model_spec_for(digits.train.spec)
    with pytest.raises(ValueError, match=r"samples have shape \(64,\), the model expects \(1, 8, 8\)"):
        train_local(
            spec, initial(spec), digits.train.x.reshape(-1, 64), digits.train.y, TrainConfig(), seed=0
        )
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        evaluate(spec, initial(spec), digits.test.x[:2], np.array([0, 10]))


def test_train_config_validates_and_roundtrips() -> None:
    config = TrainConfig(epochs=2, optimizer="adam", lr=1e-3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown training options \\['lr_decay'\\]"):
        TrainConfig.from_dict({"lr_decay": 0.5})
    bad_options = [
        ({"lr": 0.0}, "lr must be positive"),
        ({"lr": "0.1"}, "lr must be a finite number, found '0.1'"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"optimizer": "rmsprop"}, "optimizer must be 'sgd' or 'adam'"),
        ({"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
        ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
    ]
    for bad, expected in bad_options:
        with pytest.raises(ValueError, match=expected):
            TrainConfig.from_dict(bad)
