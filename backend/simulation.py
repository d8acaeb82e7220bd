"""In-process federated simulation: many nodes, one orchestrator, the real wire format and the shield.

Every round runs the data path of the real system [FedAvg: McMahan et al., 2017]: each node trains from
the global model on its own slice (or attacks, for the malicious ones), encodes ``Δ`` as safetensors bytes;
the orchestrator decodes them against the model's layout (shapes, dtypes, finiteness, size), screens the
cohort with ``backend.detection``, aggregates the accepted updates and evaluates the new global model on
the held-out test split. The orchestrator also holds a small clean *root set* carved from the training
split before partitioning (FLTrust's assumption [Cao et al., NDSS 2021]); no node trains on it.

The round logic is split so the orchestrator service can reuse it: ``prepare`` builds a
``SimulationState``, ``collect_submissions`` is the node side, ``run_round`` the orchestrator side.
Everything is seeded: the same ``ExperimentConfig`` gives the same ``SimulationResult``, bit for bit.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from backend.detection import (
    DefenseConfig,
    DefenseHistory,
    RootEvidence,
    UpdateVerdict,
    aggregate_accepted,
    screen_round,
)
from workers.attacks import AttackConfig, is_active, malicious_local_update
from workers.datasets import load_experiment_data
from workers.models import ModelSpec, build_model, model_spec_for
from workers.partition import PartitionScheme, partition_indices
from workers.task import round_seed
from workers.tensors import Layout, Weights, flatten, load_state, state_of, tensor_layout, unflatten
from workers.training import TrainConfig, evaluate, train_local
from workers.wire import decode_tensors, encode_tensors, model_hash, payload_limit

# Local training the simulations default to: a few full-batch steps. Each honest update is then the
# node's own gradient direction rather than minibatch noise, which is what lets the shield keep skewed
# honest nodes apart from label flippers (see backend.detection); it also learns digits in ~5 rounds.
DEFAULT_TRAIN = TrainConfig(epochs=5, batch_size=128, lr=0.1)

ROOT_SLOT = 2**31 - 1  # seed slot of the orchestrator's own root training (nodes use 0..n-1)

PeerAggregate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (n, d) updates, (n,) samples -> (d,)


@dataclass(frozen=True)
class ExperimentConfig:
    """One simulated experiment, JSON-serializable through ``to_dict``."""

    dataset: str = "digits"  # a built-in set (digits, breast_cancer, wine) or a table / image zip / NPZ path
    label_column: str | None = None  # a table's label column (default: guessed by name, else the last)
    image_size: int = 32  # an image zip's images are resized to image_size x image_size
    num_nodes: int = 10
    partition: PartitionScheme = "iid"  # "iid" | "dirichlet" | "shards"
    alpha: float = 0.5  # Dirichlet concentration (smaller: more label skew)
    shards_per_node: int = 2  # shards scheme only
    rounds: int = 10
    train: TrainConfig = DEFAULT_TRAIN  # local training every node runs
    malicious: int = 0  # how many nodes attack (chosen by seed), unless malicious_indices names them
    malicious_indices: tuple[int, ...] | None = None
    attack: AttackConfig = field(default_factory=AttackConfig)  # what the malicious nodes do
    defense: DefenseConfig = field(default_factory=lambda: DefenseConfig())
    seed: int = 0
    root_set_size: int = 100  # clean samples the orchestrator keeps (FLTrust root set); 0 for none
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.num_nodes < 1 or self.rounds < 1:
            raise ValueError(f"need at least one node and one round, found {self.num_nodes}, {self.rounds}")
        if self.malicious_indices is None and not 0 <= self.malicious <= self.num_nodes:
            raise ValueError(f"malicious must lie in 0..{self.num_nodes}, found {self.malicious}")
        bad = [i for i in self.malicious_indices or () if not 0 <= i < self.num_nodes]
        if bad:
            raise ValueError(f"malicious indices {bad} are outside 0..{self.num_nodes - 1}")
        if self.root_set_size < 0:
            raise ValueError(f"root_set_size must be >= 0, found {self.root_set_size}")

    def malicious_nodes(self) -> frozenset[int]:
        """The attacking nodes: the named indices, or ``malicious`` of them drawn by the seed."""
        if self.malicious_indices is not None:
            return frozenset(self.malicious_indices)
        rng = np.random.default_rng([self.seed, 7919])
        return frozenset(int(i) for i in rng.choice(self.num_nodes, size=self.malicious, replace=False))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form of the whole configuration."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["train"] = self.train.to_dict()
        data["attack"] = self.attack.to_dict()
        data["defense"] = self.defense.model_dump()
        data["malicious_indices"] = sorted(self.malicious_nodes())
        return data


@dataclass(frozen=True)
class Submission:
    """What one node posts in a round: its update as safetensors bytes and its sample count."""

    node_id: int
    payload: bytes
    num_samples: int


@dataclass(frozen=True)
class RoundResult:
    """Metrics and verdicts of one round; tp/fp/tn/fn count rejections against the ground truth."""

    round: int  # 1-based
    accuracy: float  # of the new global model on the test split
    loss: float
    accepted: int
    rejected: int
    verdicts: list[UpdateVerdict]  # in node order
    attacking: list[bool]  # ground truth per node: misbehaving in this round
    tp: int  # attackers rejected
    fp: int  # honest nodes rejected
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted
    model_hash: str  # keccak256 of the new global model's safetensors bytes

    def to_dict(self, *, with_verdicts: bool = True) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "verdicts"}
        if with_verdicts:
            data["verdicts"] = [asdict(v) for v in self.verdicts]
        return data


@dataclass(frozen=True)
class SimulationResult:
    config: ExperimentConfig
    rounds: list[RoundResult]

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy if self.rounds else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "final_accuracy": self.final_accuracy,
            "rounds": [r.to_dict() for r in self.rounds],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """One row per round (verdict details stay in the JSON form)."""
        out = io.StringIO()
        columns = ["round", "accuracy", "loss", "accepted", "rejected", "tp", "fp", "tn", "fn", "model_hash"]
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in self.rounds:
            writer.writerow({c: getattr(r, c) for c in columns})
        return out.getvalue()


@dataclass
class SimulationState:
    """Everything that persists between rounds."""

    config: ExperimentConfig
    spec: ModelSpec
    template: Weights  # layout carrier: the initial model's state
    layout: Layout
    global_weights: np.ndarray  # (d,) flattened w_r
    node_data: list[tuple[np.ndarray, np.ndarray]]  # per node (x, y); never leaves the node
    malicious: frozenset[int]
    root_x: np.ndarray
    root_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    history: DefenseHistory = field(default_factory=DefenseHistory)
    round_idx: int = 0  # 0-based index of the next round


def prepare(config: ExperimentConfig) -> SimulationState:
    """Loads and splits the data (test, root set, node slices) and builds the initial model."""
    data = load_experiment_data(
        config.dataset,
        label_column=config.label_column,
        image_size=config.image_size,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )
    train = data.train
    order = np.random.default_rng([config.seed, 104729]).permutation(len(train.y))
    if config.root_set_size >= len(order) - config.num_nodes:
        raise ValueError(f"root_set_size {config.root_set_size} leaves too little data for the nodes")
    root_idx, pool = np.sort(order[: config.root_set_size]), np.sort(order[config.root_set_size :])
    parts = partition_indices(
        train.y[pool],
        config.num_nodes,
        config.partition,
        alpha=config.alpha,
        shards_per_node=config.shards_per_node,
        seed=config.seed,
    )
    spec = model_spec_for(train.spec)
    template = state_of(build_model(spec, seed=config.seed))
    return SimulationState(
        config=config,
        spec=spec,
        template=template,
        layout=tensor_layout(template),
        global_weights=flatten(template),
        node_data=[(train.x[pool[p]], train.y[pool[p]]) for p in parts],
        malicious=config.malicious_nodes(),
        root_x=train.x[root_idx],
        root_y=train.y[root_idx],
        test_x=data.test.x,
        test_y=data.test.y,
    )


def collect_submissions(state: SimulationState) -> list[Submission]:
    """The node side of one round: every node trains (or attacks) and posts its encoded update."""
    cfg = state.config
    global_weights = unflatten(state.global_weights, state.template)
    submissions = []
    for node, (x, y) in enumerate(state.node_data):
        seed = round_seed(cfg.seed, state.round_idx, node)
        if node in state.malicious:
            update = malicious_local_update(
                state.spec, global_weights, x, y, cfg.train, cfg.attack, state.round_idx, seed
            )
        else:
            update = train_local(state.spec, global_weights, x, y, cfg.train, seed=seed)
        submissions.append(Submission(node, encode_tensors(update.delta), update.num_samples))
    return submissions


def decode_updates(state: SimulationState, submissions: Sequence[Submission]) -> np.ndarray:
    """The orchestrator's intake: each payload checked against the model's layout, stacked ``(n, d)``."""
    limit = payload_limit(state.layout)
    return np.stack([flatten(decode_tensors(s.payload, state.layout, max_bytes=limit)) for s in submissions])


@torch.no_grad()
def root_logits(spec: ModelSpec, template: Weights, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits of each flattened model in ``weights`` ``(k, d)`` on ``x``: ``(k, m, classes)``."""
    model = build_model(spec, seed=0)
    model.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = []
    for row in weights:
        load_state(model, unflatten(row, template))
        out.append(model(inputs).numpy())
    return np.stack(out)


def root_signals(
    state: SimulationState, updates: np.ndarray
) -> tuple[np.ndarray | None, RootEvidence | None]:
    """The trusted root update and the root-set logits the shield screens with (None without a root set)."""
    cfg = state.config
    if cfg.root_set_size == 0 or not cfg.defense.enabled:
        return None, None
    global_weights = unflatten(state.global_weights, state.template)
    trusted = train_local(
        state.spec,
        global_weights,
        state.root_x,
        state.root_y,
        cfg.train,
        seed=round_seed(cfg.seed, state.round_idx, ROOT_SLOT),
    )
    models = np.vstack([state.global_weights[None, :], state.global_weights[None, :] + updates])
    logits = root_logits(state.spec, state.template, models, state.root_x)  # (1 + n, m, k)
    evidence = RootEvidence(labels=state.root_y, global_logits=logits[0], update_logits=logits[1:])
    return flatten(trusted.delta), evidence


def run_round(
    state: SimulationState, submissions: Sequence[Submission], *, peer_aggregate: PeerAggregate | None = None
) -> RoundResult:
    """The orchestrator side of one round: decode, screen, aggregate, evaluate; advances ``state``.

    ``peer_aggregate`` replaces the shield with a plain aggregation rule over every update (the bench
    uses it to run Flower's aggregators on identical rounds).
    """
    cfg = state.config
    updates = decode_updates(state, submissions)
    counts = np.array([s.num_samples for s in submissions], dtype=np.int64)
    node_ids = [s.node_id for s in submissions]
    if peer_aggregate is not None:
        verdicts = [
            UpdateVerdict(i, True, None, "no screening (peer aggregator)", {}) for i in range(len(counts))
        ]
        aggregated = peer_aggregate(updates, counts).astype(np.float32)
    else:
        trusted, evidence = root_signals(state, updates)
        verdicts = screen_round(
            updates,
            counts.tolist(),
            state.global_weights,
            cfg.defense,
            trusted_update=trusted,
            root_evidence=evidence,
            history=state.history,
            node_ids=node_ids,
        )
        accepted = [v.index for v in verdicts if v.accepted]
        aggregated = aggregate_accepted(updates, counts.tolist(), accepted, cfg.defense)
        state.history.record(node_ids, verdicts)
    state.global_weights = (state.global_weights + aggregated).astype(np.float32)
    new_weights = unflatten(state.global_weights, state.template)
    metrics = evaluate(state.spec, new_weights, state.test_x, state.test_y)
    attacking = [n in state.malicious and is_active(cfg.attack, state.round_idx) for n in node_ids]
    digest = model_hash(encode_tensors(new_weights))
    result = _round_result(state.round_idx + 1, metrics.accuracy, metrics.loss, verdicts, attacking, digest)
    state.round_idx += 1
    return result


def _round_result(
    number: int,
    accuracy: float,
    loss: float,
    verdicts: list[UpdateVerdict],
    attacking: list[bool],
    digest: str,
) -> RoundResult:
    rejected = [not v.accepted for v in verdicts]
    tp = sum(r and a for r, a in zip(rejected, attacking, strict=True))
    fp = sum(r and not a for r, a in zip(rejected, attacking, strict=True))
    fn = sum(a for a in attacking) - tp
    tn = len(verdicts) - tp - fp - fn
    return RoundResult(
        number,
        accuracy,
        loss,
        len(verdicts) - sum(rejected),
        sum(rejected),
        verdicts,
        attacking,
        tp,
        fp,
        tn,
        fn,
        digest,
    )


def run_simulation(
    config: ExperimentConfig,
    *,
    on_round: Callable[[RoundResult], None] | None = None,
    peer_aggregate: PeerAggregate | None = None,
) -> SimulationResult:
    """Runs every round of ``config``; ``on_round`` sees each result as it lands."""
    state = prepare(config)
    rounds = []
    for _ in range(config.rounds):
        result = run_round(state, collect_submissions(state), peer_aggregate=peer_aggregate)
        rounds.append(result)
        if on_round is not None:
            on_round(result)
    return SimulationResult(config, rounds)
