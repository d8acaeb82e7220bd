"""The Attack Lab's probe, served fast: `backend.probe.probe_attack` against cached, never-awaited inputs.

For an experiment, the probe screens one simulated attacker's update against an honest cohort trained from
the experiment's *current* global model on its own partition, its root set and training settings; for a
bare dataset, against `backend.probe.probe_setup` (a warmed-up model of a built-in set). The honest
reference is the slow part: it is built once per model on a background thread and, when the experiment's
model moves on, rebuilt there while probes keep using the previous one (stale-while-revalidate), so a probe
never waits for training or for a round to close — only the very first probe of an experiment waits.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from backend.db import repository as repo
from backend.db.base import SessionFactory
from backend.db.models import ExperimentRow
from backend.detection import DefenseConfig
from backend.orchestrator.compute import ComputePool, ProbeJob, probe_reference_job
from backend.orchestrator.data import DatasetCatalog
from backend.orchestrator.errors import InvalidInput, NotFound
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.runner import train_config_of
from backend.orchestrator.specs import AttackPlan, ExperimentCreate
from backend.probe import (
    PROBE_COHORT,
    PROBE_TRAIN,
    ProbeReference,
    honest_reference,
    probe_attack,
    probe_setup,
)
from workers.attacks import AttackConfig
from workers.datasets import BUILTIN_DATASETS
from workers.models import ModelSpec, build_model, model_spec_for
from workers.partition import partition_indices
from workers.tensors import Weights, state_of
from workers.training import TrainConfig

NodeData = tuple[np.ndarray, np.ndarray]  # (x, y)


@dataclass(frozen=True)
class ProbeInputs:
    """Everything a probe needs that does not depend on the attack."""

    model_key: str  # the global model (and defense) the inputs were built for
    spec: ModelSpec
    global_weights: Weights
    attacker: NodeData  # (x, y) of the probed node
    reference: ProbeReference
    defense: DefenseConfig
    train_config: TrainConfig | None  # None: the probe's own default


@dataclass(frozen=True)
class ProbeFeature:
    name: str
    value: float | None
    threshold: float | None
    comparison: str  # "max" | "min"
    caught: bool
    rule: str


@dataclass(frozen=True)
class ProbeOutcome:
    predicted: str  # "rejected" | "accepted"
    rule: str | None
    reason: str
    features: list[ProbeFeature]
    latency_ms: float
    cached: bool  # False only when this probe had to build its inputs first


def _warm(inputs: ProbeInputs) -> None:
    """One probe before the inputs are published: it caches the attacker's honest update for this model,
    so no request ever pays for that training."""
    probe_attack(
        inputs.spec,
        inputs.global_weights,
        AttackConfig(kind="sign_flip"),
        inputs.attacker,
        inputs.reference,
        inputs.defense,
        train_config=inputs.train_config or PROBE_TRAIN,
    )


def attack_config_of(plan: AttackPlan, inputs: ProbeInputs) -> AttackConfig:
    """The probed attacker's config; a backdoor without a boost gets the probed round's number of nodes."""
    try:
        plan.check_classes(inputs.spec.num_classes)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    config = plan.attack_config()
    if config.kind == "backdoor" and config.boost is None:
        config = replace(config, boost=float(len(inputs.reference.updates) + 1))
    return config


class ProbeService:
    """Caches probe inputs per experiment or dataset and answers probes in milliseconds."""

    def __init__(
        self, sessions: SessionFactory, catalog: DatasetCatalog, models: ModelStore, compute: ComputePool
    ) -> None:
        self._sessions = sessions
        self._compute = compute
        self._catalog = catalog
        self._models = models
        self._inputs: dict[str, ProbeInputs] = {}
        self._building: dict[str, Future[ProbeInputs]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe-inputs")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def probe(self, experiment_id: int | None, dataset_id: str | None, plan: AttackPlan) -> ProbeOutcome:
        started = time.perf_counter()
        key, model_key, build = self._source(experiment_id, dataset_id)
        inputs, cached = self._current(key, model_key, build)
        result = probe_attack(
            inputs.spec,
            inputs.global_weights,
            attack_config_of(plan, inputs),
            inputs.attacker,
            inputs.reference,
            inputs.defense,
            train_config=inputs.train_config or PROBE_TRAIN,
        )
        features = [
            ProbeFeature(c.feature, c.value, c.threshold, c.bound, c.tripped, c.rule) for c in result.checks
        ]
        return ProbeOutcome(
            predicted="accepted" if result.accepted else "rejected",
            rule=result.rule,
            reason=result.reason,
            features=features,
            latency_ms=(time.perf_counter() - started) * 1000,
            cached=cached,
        )

    # -- inputs -------------------------------------------------------------------------------------------

    def _source(
        self, experiment_id: int | None, dataset_id: str | None
    ) -> tuple[str, str, Callable[[], ProbeInputs]]:
        """Cache key, the model key the cached inputs must match, and how to build them."""
        if experiment_id is not None:
            with self._sessions() as session:
                row = session.get(ExperimentRow, experiment_id)
                if row is None:
                    raise NotFound(f"no experiment {experiment_id}")
                last = repo.last_completed_round(session, experiment_id)
                model_hash = (
                    last.model_hash if last is not None and last.model_hash else row.initial_model_hash
                )
                config = ExperimentCreate.model_validate(row.config)
                spec = ModelSpec.from_dict(row.model_spec)
            model_key = f"{model_hash}:{config.defense.model_dump_json()}"
            build = functools.partial(self._for_experiment, model_key, model_hash, spec, config)
            return f"experiment:{experiment_id}", model_key, build
        if not dataset_id:
            raise InvalidInput("give experiment_id or dataset_id")
        self._catalog.get(dataset_id)  # NotFound for an unknown id
        return f"dataset:{dataset_id}", dataset_id, functools.partial(self._for_dataset, dataset_id)

    def _current(
        self, key: str, model_key: str, build: Callable[[], ProbeInputs]
    ) -> tuple[ProbeInputs, bool]:
        """Fresh inputs if cached; stale ones while fresh ones build in the background; built now on first use."""
        created = False
        with self._lock:
            inputs = self._inputs.get(key)
            if inputs is not None and inputs.model_key == model_key:
                return inputs, True
            future = self._building.get(key)
            if future is None:
                future = self._pool.submit(build)
                self._building[key] = future
                created = True
        if created:  # outside the lock: a future already done runs its callback right here
            future.add_done_callback(functools.partial(self._store, key))
        if inputs is not None:
            return inputs, True
        return future.result(), False

    def _store(self, key: str, future: Future[ProbeInputs]) -> None:
        with self._lock:
            self._building.pop(key, None)
            if not future.cancelled() and future.exception() is None:
                self._inputs[key] = future.result()

    def _for_experiment(
        self, model_key: str, model_hash: str, spec: ModelSpec, config: ExperimentCreate
    ) -> ProbeInputs:
        """The experiment's own data: an honest cohort of its partitions (built in the compute pool)."""
        weights = self._models.load(model_hash)
        train_config = train_config_of(config)
        job = ProbeJob(
            spec=spec,
            global_weights=weights,
            dataset=self._catalog.get(config.dataset_id),
            seed=config.seed,
            partition=config.partition,
            alpha=config.alpha,
            cohort_size=max(2, min(PROBE_COHORT, config.num_nodes - 1)),
            train_config=train_config,
        )
        reference, attacker = self._compute.run(probe_reference_job, job)
        inputs = ProbeInputs(model_key, spec, weights, attacker, reference, config.defense, train_config)
        _warm(inputs)
        return inputs

    def _for_dataset(self, dataset_id: str) -> ProbeInputs:
        if dataset_id in BUILTIN_DATASETS:
            setup = self._compute.run(probe_setup, dataset_id)  # a few warm-up rounds: in the worker
            return ProbeInputs(
                dataset_id, setup.spec, setup.global_weights, setup.attacker, setup.reference,
                DefenseConfig.model_validate({}), None,
            )  # fmt: skip
        splits = self._catalog.splits(dataset_id, 0)
        spec = model_spec_for(splits.train.spec)
        weights = state_of(build_model(spec, seed=0))
        parts = partition_indices(splits.train.y, PROBE_COHORT + 1, "iid", seed=0)
        nodes = [(splits.train.x[p], splits.train.y[p]) for p in parts]
        reference = honest_reference(spec, weights, nodes[:-1], (splits.root.x, splits.root.y))
        return ProbeInputs(
            dataset_id, spec, weights, nodes[-1], reference, DefenseConfig.model_validate({}), None
        )
