"""Where the node side of a simulated round runs: in this process, or spread over Ray actors.

A ``NodeExecutor`` answers two questions a round asks of its nodes: "train on this global model" (every
node not attacking in the round) and "craft your attacks, knowing this cohort" (the attackers). Both return
a ``NodeUpdates``: the nodes' flattened Δ in node order. ``NodeGroup`` is the work itself, one group of nodes
with their data shards; the local executor holds one group with every node, the Ray executor
(``backend.engine.ray_executor``) one group per actor. Every update is seeded by
``workers.task.round_seed(seed, round, node)``, never by a process's RNG state, so where a node trains does
not change what it sends: the same experiment gives the same result, bit for bit, on either executor.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from workers.attacks import AttackConfig, CohortKnowledge, is_active, malicious_local_update
from workers.models import ModelSpec
from workers.task import round_seed
from workers.tensors import Weights, flatten, layout_size, tensor_layout, unflatten
from workers.training import TrainConfig, train_local

NodeArrays = tuple[np.ndarray, np.ndarray]  # one node's (x, y)
Engine = Literal["local", "ray"]
ENGINES: tuple[Engine, ...] = ("local", "ray")


@dataclass(frozen=True)
class NodeUpdates:
    """Some nodes' updates of one round, in node order."""

    nodes: np.ndarray  # (k,) int64 node indices, ascending
    deltas: np.ndarray  # (k, d) float32 flattened Δ
    num_samples: np.ndarray  # (k,) int64

    @classmethod
    def empty(cls, dim: int) -> NodeUpdates:
        return cls(np.zeros(0, np.int64), np.zeros((0, dim), np.float32), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, parts: Sequence[NodeUpdates], dim: int) -> NodeUpdates:
        """The parts' updates together, in node order (parts may come in any order)."""
        parts = [p for p in parts if len(p.nodes)]
        if not parts:
            return cls.empty(dim)
        nodes = np.concatenate([p.nodes for p in parts])
        order = np.argsort(nodes, kind="stable")
        deltas = np.concatenate([p.deltas for p in parts])[order]
        return cls(nodes[order], deltas, np.concatenate([p.num_samples for p in parts])[order])


@dataclass(frozen=True)
class NodeTask:
    """What every node of an experiment shares: the model, local training, the attack and the seed."""

    spec: ModelSpec
    template: Weights  # layout carrier for the flattened global model
    train: TrainConfig
    attack: AttackConfig
    malicious: frozenset[int]
    seed: int

    def attacking(self, node: int, round_idx: int) -> bool:
        return node in self.malicious and is_active(self.attack, round_idx)


class NodeGroup:
    """Some nodes of an experiment and their data shards, which stay here for the whole run."""

    def __init__(self, task: NodeTask, shards: dict[int, NodeArrays]) -> None:
        self.task = task
        self.shards = shards

    def honest(self, round_idx: int, global_flat: np.ndarray) -> NodeUpdates:
        """Every node of the group not attacking in round ``round_idx`` (0-based) trains from the model."""
        t = self.task
        weights = unflatten(global_flat, t.template)
        nodes = [n for n in sorted(self.shards) if not t.attacking(n, round_idx)]
        seeds = [round_seed(t.seed, round_idx + 1, n) for n in nodes]  # protocol rounds count from 1
        updates = [
            train_local(t.spec, weights, *self.shards[n], t.train, seed=s)
            for n, s in zip(nodes, seeds, strict=True)
        ]
        return self._pack(nodes, [flatten(u.delta) for u in updates], [u.num_samples for u in updates])

    def attacks(
        self, round_idx: int, global_flat: np.ndarray, knowledge: CohortKnowledge | None
    ) -> NodeUpdates:
        """Every node of the group attacking in round ``round_idx`` crafts its update, seeing ``knowledge``."""
        t = self.task
        weights = unflatten(global_flat, t.template)
        nodes = [n for n in sorted(self.shards) if t.attacking(n, round_idx)]
        sent = [
            malicious_local_update(
                t.spec, weights, *self.shards[n], t.train, t.attack, round_idx,
                round_seed(t.seed, round_idx + 1, n), knowledge=knowledge,
            )
            for n in nodes
        ]  # fmt: skip
        return self._pack(nodes, [flatten(u.delta) for u in sent], [u.num_samples for u in sent])

    def _pack(self, nodes: list[int], deltas: list[np.ndarray], counts: list[int]) -> NodeUpdates:
        if not nodes:
            return NodeUpdates.empty(layout_size(tensor_layout(self.task.template)))
        return NodeUpdates(np.array(nodes, np.int64), np.stack(deltas), np.array(counts, np.int64))


class NodeExecutor(Protocol):
    """Runs the node side of a round wherever the nodes live."""

    def honest(self, round_idx: int, global_flat: np.ndarray) -> NodeUpdates: ...

    def attacks(
        self, round_idx: int, global_flat: np.ndarray, knowledge: CohortKnowledge | None
    ) -> NodeUpdates: ...

    def close(self) -> None: ...


class LocalExecutor(NodeGroup):
    """Every node in this process, trained one after another."""

    def __init__(self, task: NodeTask, node_data: Sequence[NodeArrays]) -> None:
        super().__init__(task, dict(enumerate(node_data)))

    def close(self) -> None:
        pass


def split_nodes(num_nodes: int, groups: int) -> list[range]:
    """Nodes 0..num_nodes-1 cut into at most ``groups`` contiguous, near-equal, non-empty ranges."""
    groups = max(1, min(groups, num_nodes))
    bounds = np.linspace(0, num_nodes, groups + 1).round().astype(int)
    return [range(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


ExecutorFactory = Callable[[NodeTask, Sequence[NodeArrays]], NodeExecutor]


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here; the text says what to install."""


def executor_factory(
    engine: Engine = "local", *, address: str | None = None, num_cpus: int | None = None
) -> ExecutorFactory:
    """How to place an experiment's nodes: ``local`` (this process) or ``ray`` (actors; see ray_executor)."""
    if engine == "local":
        return LocalExecutor
    if engine != "ray":
        raise ValueError(f"engine must be one of {ENGINES}, found {engine!r}")
    try:
        from backend.engine.ray_executor import RayExecutor
    except ImportError as exc:
        raise EngineUnavailable(f"the ray engine needs Ray: pip install '.[ray]' ({exc})") from None
    return functools.partial(RayExecutor, address=address, num_cpus=num_cpus)
