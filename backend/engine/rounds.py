"""The one round engine: closes a round from the cohort's signed bytes to the next global model.

Every round is closed through ``close_round``: the orchestrator's round runner, ``fedshield run`` and the
benches that simulate rounds; the Attack Lab's probe and ``fedshield bench scale`` run its screening steps
alone (``screened_cohort``, ``screen_cohort``). One round, in order [FedAvg: McMahan et al., 2017]:

1. decode and validate each update against the model's layout (shapes, dtypes, finiteness, size);
2. build the root evidence: the orchestrator's own *trusted update*, trained with the experiment's own
   local-training settings on its clean root set (data no node trains on, FLTrust's root data [Cao et al.,
   NDSS 2021]), and the root-set logits of ``w + Δ_i`` for every update;
3. screen the cohort together (``screen_cohort``: ``shield.screen_cohort_features``, then
   ``shield.judge_round`` against the nodes' history): accepted, excluded or slashed;
4. aggregate the accepted updates, each with bounded influence (``shield.aggregate_verdicts``);
5. evaluate the new global model on the held-out test split;
6. count the outcomes against the ground truth where it is known (simulated attackers).

Pure apart from torch's CPU work: nothing here reads a database, a file or the network, and ``history`` is
read, never written (the caller records the verdicts).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, vmap

from backend.engine.caching import LRUCache, array_digest
from backend.engine.cohort_logits import (
    UnsupportedLayer,
    activation_size,
    batched_forward,
    model_blocks,
    stacked_parameters,
)
from backend.engine.shield import (
    DefenseConfig,
    DefenseHistory,
    Outcome,
    RootEvidence,
    ScreenedCohort,
    UpdateVerdict,
    aggregate_verdicts,
    judge_round,
    screen_cohort_features,
)
from workers.models import ModelSpec, build_model
from workers.task import ROOT_SLOT, round_seed
from workers.tensors import Weights, flatten, tensor_layout, unflatten
from workers.training import TrainConfig, evaluate, train_local
from workers.wire import decode_tensors, encode_tensors, model_hash, payload_limit

NodeArrays = tuple[np.ndarray, np.ndarray]  # (x, y)


@dataclass(frozen=True)
class EngineSetup:
    """What stays fixed across an experiment's rounds."""

    spec: ModelSpec
    defense: DefenseConfig
    train: TrainConfig  # the experiment's local training; the trusted root update trains the same way
    root: NodeArrays | None  # the orchestrator's clean root set; None: no root-set signals
    test: NodeArrays | None  # the held-out test split; None: no evaluation (the probe)
    seed: int  # the experiment's seed; every round's seeds derive from it


@dataclass(frozen=True)
class Candidate:
    """One update of the round as it arrived: the node, the signed bytes, the claimed sample count."""

    node_id: Hashable
    payload: bytes  # safetensors bytes of Δ
    num_samples: int
    attacking: bool | None = None  # ground truth for simulated nodes; None: unknown


@dataclass(frozen=True)
class OutcomeCounts:
    """A round's outcomes, and where the ground truth is known, how they fell."""

    accepted: int
    excluded: int
    slashed: int
    tp: int  # attackers not accepted (excluded or slashed)
    fp: int  # honest nodes not accepted
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted
    honest_slashed: int  # the worst outcome the product can produce
    attackers_slashed: int


@dataclass(frozen=True)
class ClosedRound:
    """Everything a closed round produced."""

    round: int  # 1-based, as in the protocol
    defense: DefenseConfig  # what screened it: the experiment's defense with its task's calibrated thresholds
    verdicts: list[UpdateVerdict]  # in candidate order
    new_weights: Weights
    model_hash: str  # keccak256 of the new global model's safetensors bytes
    accuracy: float | None  # of the new global model on the test split; None without one
    loss: float | None
    counts: OutcomeCounts


def count_outcomes(verdicts: Sequence[UpdateVerdict], attacking: Sequence[bool | None]) -> OutcomeCounts:
    """Tallies the outcomes, and against the ground truth for the candidates whose truth is known."""
    tally = {o: sum(v.outcome is o for v in verdicts) for o in Outcome}
    tp = fp = tn = fn = honest_slashed = attackers_slashed = 0
    for verdict, truth in zip(verdicts, attacking, strict=True):
        if truth is None:
            continue
        slashed = verdict.outcome is Outcome.SLASHED
        if truth:
            tp, fn = tp + (not verdict.accepted), fn + verdict.accepted
            attackers_slashed += slashed
        else:
            fp, tn = fp + (not verdict.accepted), tn + verdict.accepted
            honest_slashed += slashed
    return OutcomeCounts(
        tally[Outcome.ACCEPTED],
        tally[Outcome.EXCLUDED],
        tally[Outcome.SLASHED],
        tp,
        fp,
        tn,
        fn,
        honest_slashed,
        attackers_slashed,
    )


def decode_cohort(template: Weights, candidates: Sequence[Candidate]) -> np.ndarray:
    """Each payload checked against the model's layout and stacked: ``(n, d)`` float32."""
    layout = tensor_layout(template)
    limit = payload_limit(layout)
    return np.stack([flatten(decode_tensors(c.payload, layout, max_bytes=limit)) for c in candidates])


@torch.no_grad()
def model_logits(
    spec: ModelSpec, template: Weights, models: np.ndarray, x: np.ndarray, *, base: np.ndarray | None = None
) -> np.ndarray:
    """Logits of each flattened model in ``models`` ``(k, d)`` (of ``base + models[i]`` with a ``base``) on
    ``x``: ``(k, m, classes)``.

    Batched over the models (``backend.engine.cohort_logits``: one matrix product per layer for a block of
    models), with ``torch.func.vmap`` for an architecture it does not know. A block at a time, so memory
    stays bounded and the ``k`` shifted models are never all materialized.
    """
    model = build_model(spec, seed=0)
    model.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    names = sorted(template)
    shapes = [tuple(template[name].shape) for name in names]
    activations = len(inputs) * activation_size(model, inputs[:1])
    out = np.empty((0,), dtype=np.float32)
    for block in model_blocks(len(models), activations, models.shape[1]):
        rows = models[block] if base is None else base[None, :] + models[block]
        params = stacked_parameters(
            torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)), names, shapes
        )
        try:
            logits = batched_forward(model, params, inputs)
        except UnsupportedLayer:
            logits = vmap(lambda p: functional_call(model, p, (inputs,)))(params)
        if block.start == 0:
            out = np.empty((len(models), *logits.shape[1:]), dtype=np.float32)
        out[block] = logits.numpy()
    return out


_trusted: LRUCache[np.ndarray] = LRUCache(32)  # the probe asks for the same trusted update many times


def trusted_update(setup: EngineSetup, global_weights: Weights, round_: int, base_hash: str) -> np.ndarray:
    """The orchestrator's own update on its root set [Cao et al., FLTrust, NDSS 2021], flattened ``(d,)``."""
    assert setup.root is not None
    seed = round_seed(setup.seed, round_, ROOT_SLOT)
    root = setup.root
    key = (base_hash, setup.train, seed, array_digest(root[0]))
    return _trusted.get_or_make(
        key,
        lambda: flatten(
            train_local(setup.spec, global_weights, root[0], root[1], setup.train, seed=seed).delta
        ),
    )


def root_evidence(setup: EngineSetup, global_weights: Weights, updates: np.ndarray) -> RootEvidence:
    """Root-set logits of ``w`` and of every ``w + Δ_i`` (the label-alignment signal's input)."""
    assert setup.root is not None
    base = flatten(global_weights)  # (d,)
    x = setup.root[0]
    global_logits = model_logits(setup.spec, global_weights, base[None, :], x)[0]  # (m, k)
    update_logits = model_logits(setup.spec, global_weights, updates, x, base=base)  # (n, m, k)
    return RootEvidence(labels=setup.root[1], global_logits=global_logits, update_logits=update_logits)


@dataclass(frozen=True)
class RootSignals:
    """What the root set says about a cohort: the trusted update and the logits of every ``w + Δ_i``."""

    trusted: np.ndarray  # (d,)
    evidence: RootEvidence


def root_signals(
    setup: EngineSetup,
    global_weights: Weights,
    round_: int,
    updates: np.ndarray,
    base_hash: str | None = None,
) -> RootSignals | None:
    """Step 2: the trusted root update and the root evidence; None without a root set or a defense."""
    if setup.root is None or not setup.defense.enabled:
        return None
    key = base_hash or model_hash(encode_tensors(global_weights))
    return RootSignals(
        trusted_update(setup, global_weights, round_, key), root_evidence(setup, global_weights, updates)
    )


def screen_cohort(
    setup: EngineSetup,
    global_weights: Weights,
    round_: int,
    updates: np.ndarray,
    num_samples: Sequence[int],
    node_ids: Sequence[Hashable],
    history: DefenseHistory | None,
    *,
    base_hash: str | None = None,
    signals: RootSignals | None = None,
) -> list[UpdateVerdict]:
    """Steps 2 and 3: root signals (unless given, for these very updates), then the shield's verdicts."""
    screened = screened_cohort(
        setup, global_weights, round_, updates, num_samples, base_hash=base_hash, signals=signals
    )
    return judge_round(screened, history, node_ids)


def screened_cohort(
    setup: EngineSetup,
    global_weights: Weights,
    round_: int,
    updates: np.ndarray,
    num_samples: Sequence[int],
    *,
    base_hash: str | None = None,
    signals: RootSignals | None = None,
) -> ScreenedCohort:
    """``screen_cohort`` up to the verdicts: the cohort's features, checks and exclusions, which no
    history changes (``judge_round`` gives the verdicts against one)."""
    if signals is None:
        signals = root_signals(setup, global_weights, round_, updates, base_hash)
    steps = [setup.train.epochs * math.ceil(max(int(n), 1) / setup.train.batch_size) for n in num_samples]
    return screen_cohort_features(
        updates,
        list(num_samples),
        flatten(global_weights),
        setup.defense,
        trusted_update=signals.trusted if signals is not None else None,
        root_evidence=signals.evidence if signals is not None else None,
        local_steps=steps,
    )


def close_round(
    setup: EngineSetup,
    global_weights: Weights,
    round_: int,
    candidates: Sequence[Candidate],
    history: DefenseHistory | None,
    *,
    base_hash: str | None = None,
    evaluate_model: bool = True,
) -> ClosedRound:
    """Closes round ``round_`` (1-based) of the experiment: decode, screen, aggregate, evaluate, count."""
    if not candidates:
        raise ValueError("a round closes with at least one update")
    updates = decode_cohort(global_weights, candidates)  # (n, d)
    counts = [c.num_samples for c in candidates]
    ids = [c.node_id for c in candidates]
    verdicts = screen_cohort(
        setup, global_weights, round_, updates, counts, ids, history, base_hash=base_hash
    )
    aggregated = aggregate_verdicts(updates, counts, verdicts, setup.defense)
    new_flat = (flatten(global_weights) + aggregated).astype(np.float32)
    new_weights = unflatten(new_flat, global_weights)
    accuracy = loss = None
    if evaluate_model and setup.test is not None:
        metrics = evaluate(setup.spec, new_weights, setup.test[0], setup.test[1])
        accuracy, loss = metrics.accuracy, metrics.loss
    return ClosedRound(
        round=round_,
        defense=setup.defense,
        verdicts=verdicts,
        new_weights=new_weights,
        model_hash=model_hash(encode_tensors(new_weights)),
        accuracy=accuracy,
        loss=loss,
        counts=count_outcomes(verdicts, [c.attacking for c in candidates]),
    )
