"""Where the heavy numeric work runs: a worker process (default) or, with no processes, the caller's thread.

Closing a round (screening, aggregation, evaluation) and building the probe's honest reference are pure
Python-and-torch work on small models, dominated by interpreter time: in the server's own process they
would hold the GIL against the request threads and the event loop. A spawned worker process keeps them
apart, so API latency stays flat while rounds close. Jobs are plain module-level functions over picklable
inputs (the worker loads dataset splits itself, cached per process).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import ParamSpec, TypeVar

from backend.engine.probe import ProbeReference, build_reference
from backend.engine.rounds import Candidate, ClosedRound, EngineSetup, close_round
from backend.engine.shield import DefenseConfig, DefenseHistory
from backend.engine.shield.calibration import calibrated_setup, typical_node_samples
from backend.orchestrator.data import DatasetInfo, experiment_splits
from workers.models import ModelSpec
from workers.partition import PartitionScheme, partition_indices
from workers.tensors import Weights
from workers.training import TrainConfig

log = logging.getLogger("fedshield.compute")
P = ParamSpec("P")
T = TypeVar("T")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one core's worth: the nodes train on the others


class ComputePool:
    """Runs a job in the worker process (``processes`` > 0) or inline; recreates a worker that died."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                )
            return self._executor

    def run(self, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._processes <= 0:
            return job(*args, **kwargs)
        try:
            return self._pool().submit(job, *args, **kwargs).result()
        except BrokenProcessPool:
            log.error("the compute worker died; starting a new one for the next job")
            with self._lock:
                self._executor = None
            raise

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class RoundJob:
    """Everything needed to close a round, picklable."""

    spec: ModelSpec
    global_weights: Weights
    base_hash: str
    round: int
    candidates: list[Candidate]
    defense: DefenseConfig
    history: DefenseHistory
    dataset: DatasetInfo
    train_config: TrainConfig
    seed: int  # the experiment's seed: its splits and every round's seeds derive from it
    partition: PartitionScheme  # how its simulated nodes' data is split: the calibration rehearses it
    alpha: float
    num_nodes: int


def engine_setup(
    spec: ModelSpec,
    defense: DefenseConfig,
    train: TrainConfig,
    dataset: DatasetInfo,
    seed: int,
    *,
    partition: PartitionScheme,
    alpha: float,
    num_nodes: int,
) -> EngineSetup:
    """The one engine's set-up for an experiment: its root set and test split, from its seed, and its
    defense calibrated to the task (``backend.engine.shield.calibration``, cached per experiment)."""
    splits = experiment_splits(dataset, seed)
    setup = EngineSetup(
        spec=spec,
        defense=defense,
        train=train,
        root=(splits.root.x, splits.root.y),
        test=(splits.test.x, splits.test.y),
        seed=seed,
    )
    return calibrated_setup(setup, partition, alpha, typical_node_samples(len(splits.train), num_nodes))[0]


def close_round_job(job: RoundJob) -> ClosedRound:
    setup = engine_setup(
        job.spec, job.defense, job.train_config, job.dataset, job.seed,
        partition=job.partition, alpha=job.alpha, num_nodes=job.num_nodes,
    )  # fmt: skip
    return close_round(
        setup, job.global_weights, job.round, job.candidates, job.history, base_hash=job.base_hash
    )


@dataclass(frozen=True)
class ProbeJob:
    """An experiment's probe reference: every node of its partition, honest, from the current model."""

    spec: ModelSpec
    global_weights: Weights
    round: int
    dataset: DatasetInfo
    seed: int
    partition: PartitionScheme
    alpha: float
    num_nodes: int
    defense: DefenseConfig
    train_config: TrainConfig


def probe_reference_job(job: ProbeJob) -> ProbeReference:
    setup = engine_setup(
        job.spec, job.defense, job.train_config, job.dataset, job.seed,
        partition=job.partition, alpha=job.alpha, num_nodes=job.num_nodes,
    )  # fmt: skip
    train = experiment_splits(job.dataset, job.seed).train
    parts = partition_indices(train.y, job.num_nodes, job.partition, alpha=job.alpha, seed=job.seed)
    nodes = [(train.x[p], train.y[p]) for p in parts]
    return build_reference(replace(setup, test=None), job.global_weights, nodes, round_=job.round)
