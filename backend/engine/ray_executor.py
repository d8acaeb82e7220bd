"""The node side of simulated rounds on Ray: one actor per CPU, each holding a contiguous group of nodes.

An actor receives its nodes' data shards once, when it is created, and keeps them for the whole run; each
round only the global model (one ``ray.put``, shared by every actor) travels out and the group's flattened
updates travel back. Each actor trains with one torch thread, like a fleet process, so the updates are
the same bits the local executor computes. Ray is imported here only: the rest of the engine runs without
it (``pip install .[ray]`` adds it).

``connect`` starts a private local Ray (``address=None``: ``num_cpus`` CPUs, no dashboard, worker logs kept
out of the driver's terminal) or joins a cluster (``"auto"`` on a machine of a cluster started with
``ray start``, or a ``ray://host:10001`` client address).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from backend.engine.executors import NodeArrays, NodeGroup, NodeTask, NodeUpdates, split_nodes
from workers.attacks import CohortKnowledge
from workers.tensors import layout_size, tensor_layout

OBJECT_STORE_BYTES = 2 * 1024**3  # a local Ray's shared memory: rounds of 5,000 small updates fit


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Makes sure this process is connected to Ray; True when this call started (and so owns) it."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    if address is None:  # "local": a fresh instance, never some other user's cluster on this machine
        options |= {"address": "local", "num_cpus": num_cpus, "object_store_memory": OBJECT_STORE_BYTES}
    else:
        options["address"] = address
    ray.init(**options)
    return True


def cluster_cpus() -> int:
    """CPUs of the connected Ray cluster."""
    return int(ray.cluster_resources().get("CPU", 1))


class NodeGroupActor(NodeGroup):
    """A ``NodeGroup`` living in a Ray worker process, training with one torch thread."""

    def __init__(self, task: NodeTask, shards: dict[int, NodeArrays]) -> None:
        import torch

        torch.set_num_threads(1)
        super().__init__(task, shards)

    def ready(self) -> int:
        """How many nodes this actor holds; answering it means the actor is up."""
        return len(self.shards)


class RayExecutor:
    """Every node on Ray actors, many nodes per actor, ``actors`` of them (default: one per cluster CPU)."""

    def __init__(
        self,
        task: NodeTask,
        node_data: Sequence[NodeArrays],
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        actors: int | None = None,
    ) -> None:
        self._owns_ray = connect(address, num_cpus)
        self.task = task
        self.dim = layout_size(tensor_layout(task.template))
        remote = ray.remote(NodeGroupActor).options(num_cpus=1)
        self.groups = split_nodes(len(node_data), actors or cluster_cpus())
        self.actors: list[Any] = []
        try:
            self.actors = [remote.remote(task, {n: node_data[n] for n in group}) for group in self.groups]
            # Up, shards in place: a failure to start shows here, not in the middle of a round.
            ray.get([actor.ready.remote() for actor in self.actors])
        except BaseException:
            self.close()
            raise

    def honest(self, round_idx: int, global_flat: np.ndarray) -> NodeUpdates:
        model = ray.put(global_flat)
        parts = ray.get([actor.honest.remote(round_idx, model) for actor in self.actors])
        return NodeUpdates.concat(parts, self.dim)

    def attacks(
        self, round_idx: int, global_flat: np.ndarray, knowledge: CohortKnowledge | None
    ) -> NodeUpdates:
        busy = [
            actor
            for actor, group in zip(self.actors, self.groups, strict=True)
            if any(self.task.attacking(n, round_idx) for n in group)
        ]
        if not busy:
            return NodeUpdates.empty(self.dim)
        model, cohort = ray.put(global_flat), ray.put(knowledge)
        return NodeUpdates.concat(
            ray.get([actor.attacks.remote(round_idx, model, cohort) for actor in busy]), self.dim
        )

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
