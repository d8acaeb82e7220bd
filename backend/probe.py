"""Attack probe: what the shield would say about one node's attacked update, fast enough for a live gauge.

The probe simulates the attacked update of one node and screens it together with a small cohort of honest
updates from the same global model, exactly as a round would (``backend.detection.screen_round``), then
reports every feature against its threshold and the predicted verdict. Everything that does not depend on
the attack is computed once and cached per (global-model hash, dataset): the honest cohort, its root-set
logits, the trusted root update, and the attacker's own honest update (sign flipping and Gaussian noise
only transform it). What is left per call is one attack transform (or, for label flipping, a couple of
full-batch steps on the poisoned labels), one forward pass on the root set, and the cohort statistics.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from backend.detection import DefenseConfig, RootEvidence, RuleCheck, rule_checks, screen_round
from workers.attacks import AttackConfig, attack_update, is_active, poison_labels
from workers.datasets import load_builtin_split
from workers.models import ModelSpec, build_model, model_spec_for
from workers.partition import partition_indices
from workers.task import round_seed
from workers.tensors import Weights, flatten, load_state, state_of, unflatten
from workers.training import TrainConfig, train_local
from workers.wire import encode_tensors, model_hash

PROBE_TRAIN = TrainConfig(epochs=2, batch_size=128, lr=0.1)  # few full-batch steps: the simulations' kind
PROBE_COHORT = 8  # honest updates the probed one is screened with
WARMUP_ROUNDS = 3  # FedAvg rounds that give probe_setup's global model something learned
ROOT_SET_SIZE = 100
_CACHE_SIZE = 16

NodeData = tuple[np.ndarray, np.ndarray]  # (x, y)


@dataclass(frozen=True)
class ProbeReference:
    """The honest cohort and root-set signals a probed update is screened with (all attack-independent)."""

    updates: np.ndarray  # (k, d) honest updates
    num_samples: tuple[int, ...]
    update_logits: np.ndarray  # (k, m, C) root-set logits of w + Δ_j
    global_logits: np.ndarray  # (m, C) root-set logits of w
    root_x: np.ndarray  # (m, ...) root samples
    root_y: np.ndarray  # (m,)
    trusted_update: np.ndarray | None  # (d,) the orchestrator's update on the root set


@dataclass(frozen=True)
class ProbeSetup:
    """A ready-made probe for one built-in dataset: a warmed-up global model, cohort, attacker data."""

    dataset: str
    spec: ModelSpec
    global_weights: Weights
    attacker: NodeData  # the probed node's data
    cohort: tuple[NodeData, ...]  # the honest nodes' data
    root: NodeData  # the orchestrator's root set
    reference: ProbeReference


@dataclass(frozen=True)
class ProbeResult:
    """The predicted verdict on the attacked update, with every threshold test behind it."""

    accepted: bool
    rule: str | None  # the rule that would reject it
    reason: str
    checks: list[RuleCheck]  # every enabled rule against its threshold
    features: dict[str, float]
    attack_active: bool  # False when the attack would not run yet (before its start round)
    elapsed_ms: float

    def to_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "rule": self.rule,
            "reason": self.reason,
            "attack_active": self.attack_active,
            "elapsed_ms": self.elapsed_ms,
            "features": self.features,
            "checks": [
                {
                    "rule": c.rule,
                    "feature": c.feature,
                    "value": c.value,
                    "threshold": c.threshold,
                    "bound": c.bound,
                    "tripped": c.tripped,
                }
                for c in self.checks
            ],
        }


@dataclass(frozen=True)
class LatencyReport:
    p50_ms: float
    p99_ms: float
    samples: int
    dataset: str


class _LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[object, object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_or_make(self, key: object, make: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: building is slow, a duplicate build is harmless
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_references = _LRU(_CACHE_SIZE)
_honest_deltas = _LRU(4 * _CACHE_SIZE)
_setups = _LRU(_CACHE_SIZE)


def weights_key(weights: Weights) -> str:
    """The global model's hash, the cache key of everything computed from it."""
    return model_hash(encode_tensors(weights))


def _data_key(data: NodeData) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in data:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@torch.no_grad()
def _logits(spec: ModelSpec, weights: Weights, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Root logits of ``w + Δ`` for each row Δ of ``rows`` ``(k, d)``: ``(k, m, C)``."""
    model = build_model(spec, seed=0)
    model.eval()
    base = flatten(weights)
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = []
    for row in rows:
        load_state(model, unflatten(base + row, weights))
        out.append(model(inputs).numpy())
    return np.stack(out)


def honest_reference(
    spec: ModelSpec,
    global_weights: Weights,
    cohort: Sequence[NodeData],
    root: NodeData,
    *,
    train_config: TrainConfig = PROBE_TRAIN,
    seed: int = 0,
) -> ProbeReference:
    """Trains the honest cohort and the trusted root update from ``global_weights`` (the slow part)."""
    updates = np.stack(
        [
            flatten(train_local(spec, global_weights, x, y, train_config, seed=round_seed(seed, 0, i)).delta)
            for i, (x, y) in enumerate(cohort)
        ]
    )
    trusted = flatten(train_local(spec, global_weights, root[0], root[1], train_config, seed=seed).delta)
    logits = _logits(spec, global_weights, np.vstack([np.zeros_like(updates[:1]), updates]), root[0])
    return ProbeReference(
        updates=updates,
        num_samples=tuple(len(y) for _, y in cohort),
        update_logits=logits[1:],
        global_logits=logits[0],
        root_x=root[0],
        root_y=root[1],
        trusted_update=trusted,
    )


def probe_setup(dataset: str = "digits", *, seed: int = 0) -> ProbeSetup:
    """A cached probe for a built-in dataset: a few FedAvg rounds from scratch, then its cohort."""
    made = _setups.get_or_make((dataset, seed), lambda: _build_setup(dataset, seed))
    assert isinstance(made, ProbeSetup)
    return made


def _build_setup(dataset: str, seed: int) -> ProbeSetup:
    data = load_builtin_split(dataset, seed=seed)
    train = data.train
    order = np.random.default_rng([seed, 104729]).permutation(len(train.y))
    root_size = min(ROOT_SET_SIZE, len(order) // 4)
    root_idx, pool = order[:root_size], order[root_size:]
    parts = partition_indices(train.y[pool], PROBE_COHORT + 1, "dirichlet", alpha=0.5, seed=seed)
    nodes = [(train.x[pool[p]], train.y[pool[p]]) for p in parts]
    spec = model_spec_for(train.spec)
    weights = state_of(build_model(spec, seed=seed))
    for r in range(WARMUP_ROUNDS):
        deltas = [
            train_local(spec, weights, x, y, PROBE_TRAIN, seed=round_seed(seed, r, i)).delta
            for i, (x, y) in enumerate(nodes)
        ]
        counts = np.array([len(y) for _, y in nodes], dtype=np.float64)
        mean = (counts / counts.sum()) @ np.stack([flatten(d) for d in deltas])
        weights = unflatten(flatten(weights) + mean, weights)
    root = (train.x[root_idx], train.y[root_idx])
    reference = _reference_for(spec, weights, nodes[1:], root, seed)
    return ProbeSetup(dataset, spec, weights, nodes[0], tuple(nodes[1:]), root, reference)


def _reference_for(
    spec: ModelSpec, weights: Weights, cohort: Sequence[NodeData], root: NodeData, seed: int
) -> ProbeReference:
    key = ("reference", weights_key(weights), tuple(_data_key(d) for d in cohort), _data_key(root), seed)
    made = _references.get_or_make(key, lambda: honest_reference(spec, weights, cohort, root, seed=seed))
    assert isinstance(made, ProbeReference)
    return made


def _honest_delta(
    spec: ModelSpec, weights: Weights, model_key: str, data: NodeData, config: TrainConfig, seed: int
) -> Weights:
    key = (model_key, _data_key(data), config, seed)
    made = _honest_deltas.get_or_make(key, lambda: train_local(spec, weights, *data, config, seed=seed).delta)
    assert isinstance(made, dict)
    return made


def attacked_update(
    spec: ModelSpec,
    global_weights: Weights,
    attack: AttackConfig,
    node_data: NodeData,
    *,
    seed: int = 0,
    train_config: TrainConfig = PROBE_TRAIN,
    model_key: str | None = None,
) -> np.ndarray:
    """The flattened update the node would send under ``attack`` (honest when the attack is "none")."""
    key = model_key or weights_key(global_weights)
    rng = np.random.default_rng(seed)
    if attack.kind == "label_flip":
        labels = poison_labels(node_data[1], spec.num_classes, attack, rng)
        return flatten(train_local(spec, global_weights, node_data[0], labels, train_config, seed=seed).delta)
    honest = _honest_delta(spec, global_weights, key, node_data, train_config, seed)
    return flatten(attack_update(honest, attack, rng))


def probe_attack(
    model_spec: ModelSpec,
    global_weights: Weights,
    attack_cfg: AttackConfig,
    node_data: NodeData,
    reference: ProbeReference | None = None,
    defense_config: DefenseConfig | None = None,
    *,
    seed: int = 0,
    dataset: str = "digits",
    round_idx: int | None = None,
    train_config: TrainConfig = PROBE_TRAIN,
) -> ProbeResult:
    """Screens the node's attacked update with the honest ``reference`` cohort; predicts the verdict.

    Without a ``reference``, a few honest updates are trained from ``global_weights`` on ``dataset``'s
    probe cohort and cached per (model hash, dataset). ``round_idx`` (0-based) only matters for
    ``attack_cfg.start_round``: before it the node is honest; by default the attack is taken as active.
    """
    started = time.perf_counter()
    config = defense_config or DefenseConfig()
    if reference is None:
        setup = probe_setup(dataset, seed=seed)
        reference = _reference_for(model_spec, global_weights, setup.cohort, setup.root, seed)
    active = True if round_idx is None else is_active(attack_cfg, round_idx)
    attack = attack_cfg if active else AttackConfig()
    probed = attacked_update(
        model_spec, global_weights, attack, node_data, seed=seed, train_config=train_config
    )
    updates = np.vstack([reference.updates, probed[None, :]])  # the probed update is the last row
    probed_logits = _logits(model_spec, global_weights, probed[None, :], reference.root_x)
    evidence = RootEvidence(
        labels=reference.root_y,
        global_logits=reference.global_logits,
        update_logits=np.concatenate([reference.update_logits, probed_logits]),
    )
    verdicts = screen_round(
        updates,
        [*reference.num_samples, len(node_data[1])],
        flatten(global_weights),
        config,
        trusted_update=reference.trusted_update,
        root_evidence=evidence,
    )
    verdict = verdicts[-1]
    return ProbeResult(
        accepted=verdict.accepted,
        rule=verdict.rule,
        reason=verdict.reason,
        checks=rule_checks(verdict.features, config),
        features=verdict.features,
        attack_active=active,
        elapsed_ms=1000 * (time.perf_counter() - started),
    )


def probe_dataset(
    dataset: str, attack: AttackConfig, defense_config: DefenseConfig | None = None, *, seed: int = 0
) -> ProbeResult:
    """``probe_attack`` on a built-in dataset's cached setup (what the CLI and the bench call)."""
    setup = probe_setup(dataset, seed=seed)
    return probe_attack(
        setup.spec, setup.global_weights, attack, setup.attacker, setup.reference, defense_config
    )


def _latency_attacks(step: int) -> tuple[AttackConfig, ...]:
    """Every attack kind, with parameters that move each step like a dashboard slider."""
    return (
        AttackConfig(kind="sign_flip", scale=1.0 + 0.25 * step),
        AttackConfig(kind="gaussian", sigma=0.1 + 0.05 * step),
        AttackConfig(kind="gaussian", norm_matched=True),
        AttackConfig(kind="label_flip", flip_fraction=0.5 + 0.5 * ((step % 5) + 1) / 5),
    )


def measure_probe_latency(dataset: str = "digits", *, repeats: int = 25, seed: int = 0) -> LatencyReport:
    """p50 / p99 of a probe once the dataset's setup is cached, cycling through the attack kinds.

    The attack parameters change every call (a dashboard slider moving), so the attacked update is always
    recomputed; the one-off setup (warm-up rounds, honest cohort) is excluded, as in the live service.
    """
    setup = probe_setup(dataset, seed=seed)
    times = []
    for i in range(repeats):
        for attack in _latency_attacks(i):
            started = time.perf_counter()
            probe_attack(setup.spec, setup.global_weights, attack, setup.attacker, setup.reference, seed=seed)
            times.append(1000 * (time.perf_counter() - started))
    return LatencyReport(
        float(np.percentile(times, 50)), float(np.percentile(times, 99)), len(times), dataset
    )
