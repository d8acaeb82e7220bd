"""Federated simulation: many nodes, one orchestrator, the real wire format and the one engine.

Each round, every node trains from the global model on its own slice (or attacks, for the malicious
ones) and its ``Δ`` is encoded as safetensors bytes. Where the nodes train is the executor's business
(``backend.engine.executors``: in this process, or on Ray actors); the orchestrator side always runs here
and is ``backend.engine.rounds.close_round``, the same function the service's round runner calls. The root
set is carved from the training split before partitioning (``workers.task.carve_root``), exactly as the
service does; seeds follow the protocol's 1-based round numbers, exactly as served simulated nodes do.
Everything is seeded: the same ``ExperimentConfig`` gives the same ``SimulationResult``, bit for bit, on
either executor.

Attackers are omniscient here: those whose attack needs the cohort (ALIE, IPM, Min-Max) see the round's
honest updates before they craft theirs, the strongest setting of their papers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend.engine.executors import (
    ExecutorFactory,
    LocalExecutor,
    NodeArrays,
    NodeExecutor,
    NodeTask,
    NodeUpdates,
)
from backend.engine.rounds import (
    Candidate,
    ClosedRound,
    EngineSetup,
    close_round,
    count_outcomes,
    decode_cohort,
)
from backend.engine.shield import DefenseConfig, DefenseHistory, Outcome, UpdateVerdict
from backend.engine.shield.calibration import Calibration, calibrated_setup, typical_node_samples
from workers.attacks import AttackConfig, CohortKnowledge, is_active
from workers.datasets import load_experiment_data
from workers.models import ModelSpec, build_model, model_spec_for
from workers.partition import PartitionScheme, partition_indices
from workers.task import ROOT_SET_SIZE, carve_root
from workers.tensors import Weights, flatten, state_of, unflatten
from workers.training import DEFAULT_TRAIN, TrainConfig, evaluate
from workers.wire import encode_tensors, model_hash

PeerAggregate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (n, d) updates, (n,) samples -> (d,)


@dataclass(frozen=True)
class ExperimentConfig:
    """One simulated experiment, JSON-serializable through ``to_dict``."""

    dataset: str = (
        "digits"  # a built-in set (workers.datasets.BUILTIN_DATASETS) or a table / image zip / NPZ path
    )
    label_column: str | None = None  # a table's label column (default: guessed by name, else the last)
    image_size: int = 32  # an image zip's images are resized to image_size x image_size
    num_nodes: int = 10
    partition: PartitionScheme = "iid"  # "iid" | "dirichlet" | "shards"
    alpha: float = 0.5  # Dirichlet concentration (smaller: more label skew)
    shards_per_node: int = 2  # shards scheme only
    rounds: int = 10
    train: TrainConfig = DEFAULT_TRAIN  # local training every node runs: the product's default
    malicious: int = 0  # how many nodes attack (chosen by seed), unless malicious_indices names them
    malicious_indices: tuple[int, ...] | None = None
    attack: AttackConfig = field(default_factory=AttackConfig)  # what the malicious nodes do
    defense: DefenseConfig = field(default_factory=lambda: DefenseConfig())
    seed: int = 0
    root_set_size: int = ROOT_SET_SIZE  # clean samples the orchestrator keeps (FLTrust root set); 0: none
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
    """Metrics and verdicts of one round; tp/fp/tn/fn count non-acceptance against the ground truth."""

    round: int  # 1-based
    accuracy: float  # of the new global model on the test split
    loss: float
    accepted: int
    excluded: int
    slashed: int
    verdicts: list[UpdateVerdict]  # in node order
    attacking: list[bool]  # ground truth per node: misbehaving in this round
    tp: int  # attackers excluded or slashed
    fp: int  # honest nodes excluded or slashed
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted
    honest_slashed: int
    attackers_slashed: int
    model_hash: str  # keccak256 of the new global model's safetensors bytes

    @property
    def rejected(self) -> int:
        return self.excluded + self.slashed

    def to_dict(self, *, with_verdicts: bool = True) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "verdicts"}
        if with_verdicts:
            data["verdicts"] = [
                {**asdict(v), "outcome": v.outcome.value, "accepted": v.accepted} for v in self.verdicts
            ]
        return data


@dataclass(frozen=True)
class SimulationResult:
    config: ExperimentConfig
    rounds: list[RoundResult]
    calibration: Calibration | None = None  # the task's thresholds, fit before round 1
    final_weights: np.ndarray = field(
        repr=False, compare=False, default_factory=lambda: np.zeros(0, np.float32)
    )

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy if self.rounds else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "calibration": self.calibration.model_dump() if self.calibration is not None else None,
            "final_accuracy": self.final_accuracy,
            "rounds": [r.to_dict() for r in self.rounds],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """One row per round (verdict details stay in the JSON form)."""
        out = io.StringIO()
        columns = ["round", "accuracy", "loss", "accepted", "excluded", "slashed", "tp", "fp", "tn", "fn",
                   "honest_slashed", "attackers_slashed", "model_hash"]  # fmt: skip
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in self.rounds:
            writer.writerow({c: getattr(r, c) for c in columns})
        return out.getvalue()


@dataclass
class SimulationState:
    """Everything that persists between rounds."""

    config: ExperimentConfig
    setup: EngineSetup  # its defense is the calibrated one
    calibration: Calibration  # the task's thresholds, fit before round 1
    template: Weights  # layout carrier: the initial model's state
    global_weights: np.ndarray  # (d,) flattened w_r
    node_data: list[NodeArrays]  # per node (x, y); never leaves the node
    malicious: frozenset[int]
    history: DefenseHistory = field(default_factory=DefenseHistory)
    round_idx: int = 0  # 0-based index of the next round

    @property
    def spec(self) -> ModelSpec:
        return self.setup.spec

    @property
    def round_number(self) -> int:
        """The next round as the protocol counts it, from 1."""
        return self.round_idx + 1

    @property
    def node_task(self) -> NodeTask:
        """What every node shares, for an executor."""
        cfg = self.config
        return NodeTask(self.spec, self.template, cfg.train, cfg.attack, self.malicious, cfg.seed)


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
    if config.root_set_size:
        root_idx, pool = carve_root(train.y, config.seed, config.root_set_size)
    else:
        root_idx, pool = np.zeros(0, dtype=np.int64), np.arange(len(train.y))
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
    setup = EngineSetup(
        spec=spec,
        defense=config.defense,
        train=config.train,
        root=(train.x[root_idx], train.y[root_idx]) if len(root_idx) else None,
        test=(data.test.x, data.test.y),
        seed=config.seed,
    )
    samples = typical_node_samples(len(pool), config.num_nodes)
    setup, calibration = calibrated_setup(setup, config.partition, config.alpha, samples)
    return SimulationState(
        config=config,
        setup=setup,
        calibration=calibration,
        template=template,
        global_weights=flatten(template),
        node_data=[(train.x[pool[p]], train.y[pool[p]]) for p in parts],
        malicious=config.malicious_nodes(),
    )


def collect_submissions(state: SimulationState, nodes: NodeExecutor | None = None) -> list[Submission]:
    """The node side of one round: honest nodes train; attackers then craft theirs, seeing the cohort.

    ``nodes`` runs the nodes (default: in this process, one after another); every executor gives the
    same bytes for the same round.
    """
    cfg = state.config
    nodes = nodes or LocalExecutor(state.node_task, state.node_data)
    honest = nodes.honest(state.round_idx, state.global_weights)
    knowledge = None
    if 0 < len(honest.nodes) < cfg.num_nodes:  # someone attacks; omniscient: the honest updates, n and f
        knowledge = CohortKnowledge(
            benign=honest.deltas, num_nodes=cfg.num_nodes, num_malicious=len(state.malicious)
        )
    crafted = nodes.attacks(state.round_idx, state.global_weights, knowledge)
    every = NodeUpdates.concat([honest, crafted], len(state.global_weights))
    return [
        Submission(int(n), encode_tensors(unflatten(delta, state.template)), int(k))
        for n, delta, k in zip(every.nodes, every.deltas, every.num_samples, strict=True)
    ]


def run_round(
    state: SimulationState, submissions: list[Submission], *, peer_aggregate: PeerAggregate | None = None
) -> RoundResult:
    """The orchestrator side of one round, through the one engine; advances ``state``.

    ``peer_aggregate`` replaces the shield with a plain aggregation rule over every update (the bench
    uses it to run Flower's aggregators on identical rounds).
    """
    cfg = state.config
    global_weights = unflatten(state.global_weights, state.template)
    attacking = [s.node_id in state.malicious and is_active(cfg.attack, state.round_idx) for s in submissions]
    candidates = [
        Candidate(s.node_id, s.payload, s.num_samples, a) for s, a in zip(submissions, attacking, strict=True)
    ]
    if peer_aggregate is not None:
        closed = _peer_round(state, global_weights, candidates, peer_aggregate)
    else:
        closed = close_round(state.setup, global_weights, state.round_number, candidates, state.history)
        state.history.record([c.node_id for c in candidates], closed.verdicts)
    state.global_weights = flatten(closed.new_weights)
    state.round_idx += 1
    c = closed.counts
    return RoundResult(
        closed.round, closed.accuracy or 0.0, closed.loss or 0.0, c.accepted, c.excluded, c.slashed,
        closed.verdicts, attacking, c.tp, c.fp, c.tn, c.fn, c.honest_slashed, c.attackers_slashed,
        closed.model_hash,
    )  # fmt: skip


def _peer_round(
    state: SimulationState, global_weights: Weights, candidates: list[Candidate], aggregate: PeerAggregate
) -> ClosedRound:
    """A baseline round: the engine's decoding and evaluation around a peer's aggregation rule."""
    updates = decode_cohort(global_weights, candidates)
    counts = np.array([c.num_samples for c in candidates], dtype=np.int64)
    new_flat = (flatten(global_weights) + aggregate(updates, counts).astype(np.float32)).astype(np.float32)
    new_weights = unflatten(new_flat, global_weights)
    verdicts = [
        UpdateVerdict(i, Outcome.ACCEPTED, None, "no screening (peer aggregator)", {})
        for i in range(len(candidates))
    ]
    assert state.setup.test is not None
    metrics = evaluate(state.spec, new_weights, *state.setup.test)
    return ClosedRound(
        state.round_number, state.setup.defense, verdicts, new_weights, model_hash(encode_tensors(new_weights)), metrics.accuracy,
        metrics.loss, count_outcomes(verdicts, [c.attacking for c in candidates]),
    )  # fmt: skip


def run_simulation(
    config: ExperimentConfig,
    *,
    on_round: Callable[[RoundResult], None] | None = None,
    peer_aggregate: PeerAggregate | None = None,
    executor: ExecutorFactory = LocalExecutor,
) -> SimulationResult:
    """Runs every round of ``config``; ``on_round`` sees each result as it lands.

    ``executor`` places the nodes (``backend.engine.executors.executor_factory``: in this process or on
    Ray); the orchestrator side always runs here.
    """
    state = prepare(config)
    nodes = executor(state.node_task, state.node_data)
    rounds = []
    try:
        for _ in range(config.rounds):
            result = run_round(state, collect_submissions(state, nodes), peer_aggregate=peer_aggregate)
            rounds.append(result)
            if on_round is not None:
                on_round(result)
    finally:
        nodes.close()
    return SimulationResult(config, rounds, state.calibration, state.global_weights)
