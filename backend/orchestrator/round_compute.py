"""The numeric heart of closing a round: screen the cohort, aggregate the accepted, evaluate the result.

Pure apart from torch's CPU work: inputs in, a `RoundComputation` out; the round runner calls it on its
own thread (never the event loop) and persists the result.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from backend.detection import DefenseConfig, DefenseHistory, RootEvidence, UpdateVerdict, defend_and_aggregate
from backend.simulation import root_logits
from workers.datasets import Dataset
from workers.models import ModelSpec
from workers.tensors import Weights, flatten, unflatten
from workers.training import TrainConfig, evaluate, train_local


@dataclass(frozen=True)
class CohortMember:
    """One update of the round, as the defense sees it."""

    address: str
    num_samples: int
    delta: Weights
    malicious: bool | None  # ground truth for simulated nodes (None: unknown)


@dataclass(frozen=True)
class RoundComputation:
    verdicts: list[UpdateVerdict]  # in cohort order
    new_weights: Weights
    accuracy: float
    loss: float
    tp: int  # attackers rejected
    fp: int  # honest nodes rejected
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted


def root_evidence(
    spec: ModelSpec, global_weights: Weights, updates: np.ndarray, root: Dataset
) -> RootEvidence:
    """Logits of w_global and of each w_global + Δ_i on the root set (for the label-alignment rule)."""
    global_flat = flatten(global_weights)  # (d,)
    models = np.vstack([global_flat[None, :], global_flat[None, :] + updates])  # (1 + n, d)
    logits = root_logits(spec, global_weights, models, root.x)  # (1 + n, m, k)
    return RootEvidence(labels=root.y, global_logits=logits[0], update_logits=logits[1:])


def trusted_update(
    spec: ModelSpec, global_weights: Weights, root: Dataset, config: TrainConfig, seed: int
) -> Weights:
    """The orchestrator's own update on its clean root set [Cao et al., FLTrust, NDSS 2021]."""
    return train_local(spec, global_weights, root.x, root.y, config, seed=seed).delta


def compute_round(
    *,
    spec: ModelSpec,
    global_weights: Weights,
    cohort: Sequence[CohortMember],
    defense: DefenseConfig,
    history: DefenseHistory,
    root: Dataset,
    test: Dataset,
    train_config: TrainConfig,
    seed: int,
) -> RoundComputation:
    """Scores the cohort together, aggregates the accepted updates into w_{r+1} and evaluates it."""
    assert cohort, "a round closes with at least one update"
    updates = np.stack([flatten(m.delta) for m in cohort])  # (n, d)
    global_flat = flatten(global_weights)  # (d,)
    trusted = flatten(trusted_update(spec, global_weights, root, train_config, seed))
    evidence = root_evidence(spec, global_weights, updates, root)
    ids: list[Hashable] = [m.address for m in cohort]
    outcome = defend_and_aggregate(
        updates,
        [m.num_samples for m in cohort],
        global_flat,
        defense,
        trusted_update=trusted,
        root_evidence=evidence,
        history=history,
        node_ids=ids,
    )
    new_weights = unflatten(global_flat + outcome.aggregated_delta, global_weights)
    result = evaluate(spec, new_weights, test.x, test.y)
    tp = fp = tn = fn = 0
    for member, verdict in zip(cohort, outcome.verdicts, strict=True):
        if member.malicious is None:
            continue
        if member.malicious:
            tp, fn = tp + (not verdict.accepted), fn + verdict.accepted
        else:
            fp, tn = fp + (not verdict.accepted), tn + verdict.accepted
    return RoundComputation(outcome.verdicts, new_weights, result.accuracy, result.loss, tp, fp, tn, fn)
