"""The Attack Lab's probe, served fast: `backend.engine.probe.probe_attack` against cached, never-awaited inputs.

For an experiment, the probe closes the round the attack would produce: the experiment's own nodes
trained honestly from its *current* global model with its own partition, root set, training settings and
defense, the planned number of attackers among them; for a bare dataset, `backend.engine.probe.probe_setup` (a
warmed-up model of a built-in set). The honest
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
from dataclasses import dataclass

from backend.db import repository as repo
from backend.db.base import SessionFactory
from backend.db.models import ExperimentRow
from backend.engine.probe import PROBE_NODES, ProbeReference, probe_attack, probe_setup
from backend.engine.shield import DefenseConfig, Outcome
from backend.orchestrator.compute import ComputePool, ProbeJob, probe_reference_job
from backend.orchestrator.data import DatasetCatalog
from backend.orchestrator.errors import InvalidInput, NotFound
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.specs import AttackPlan, ExperimentCreate
from workers.attacks import AttackConfig
from workers.datasets import BUILTIN_DATASETS
from workers.models import ModelSpec, build_model, model_spec_for
from workers.tensors import state_of
from workers.training import DEFAULT_TRAIN


@dataclass(frozen=True)
class ProbeInputs:
    """Everything a probe needs that does not depend on the attack."""

    model_key: str  # the global model (and defense) the inputs were built for
    reference: ProbeReference


@dataclass(frozen=True)
class ProbeFeature:
    name: str
    value: float | None
    threshold: float | None
    slash_threshold: float | None
    comparison: str  # "max" | "min" | "both"
    caught: bool
    outcome: Outcome
    rule: str


@dataclass(frozen=True)
class ProbeOutcome:
    predicted: Outcome
    first_round: Outcome
    rule: str | None
    reason: str
    features: list[ProbeFeature]
    latency_ms: float
    cached: bool  # False only when this probe had to build its inputs first


def attack_config_of(plan: AttackPlan, reference: ProbeReference) -> AttackConfig:
    """The probed attackers' config, checked against the model's classes."""
    try:
        plan.check_classes(reference.setup.spec.num_classes)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return plan.attack_config()


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
        reference = inputs.reference
        num_attackers = len(plan.nodes) if plan.nodes else max(plan.num_attackers, 1)
        result = probe_attack(reference, attack_config_of(plan, reference), num_attackers=num_attackers)
        features = [
            ProbeFeature(
                c.feature, c.value, c.threshold, c.slash_threshold, c.bound, c.tripped, c.outcome, c.rule
            )
            for c in result.checks
        ]
        return ProbeOutcome(
            predicted=result.outcome,
            first_round=result.first_round,
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
            round_ = (last.round + 1) if last is not None else 1
            build = functools.partial(self._for_experiment, model_key, model_hash, round_, spec, config)
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
        self, model_key: str, model_hash: str, round_: int, spec: ModelSpec, config: ExperimentCreate
    ) -> ProbeInputs:
        """The experiment's own nodes, honest, from its current model (built in the compute pool)."""
        job = ProbeJob(
            spec=spec,
            global_weights=self._models.load(model_hash),
            round=round_,
            dataset=self._catalog.get(config.dataset_id),
            seed=config.seed,
            partition=config.partition,
            alpha=config.alpha,
            num_nodes=max(config.num_nodes, 2),
            defense=config.defense,
            train_config=config.train_config(),
        )
        inputs = ProbeInputs(model_key, self._compute.run(probe_reference_job, job))
        # a first probe caches the trusted root update and the honest rows' root-set logits
        probe_attack(inputs.reference, AttackConfig(kind="sign_flip"))
        return inputs

    def _for_dataset(self, dataset_id: str) -> ProbeInputs:
        if dataset_id in BUILTIN_DATASETS:
            return ProbeInputs(dataset_id, self._compute.run(probe_setup, dataset_id))  # warm-up rounds
        info = self._catalog.get(dataset_id)
        splits = self._catalog.splits(dataset_id, 0)
        spec = model_spec_for(splits.train.spec)
        job = ProbeJob(
            spec=spec,
            global_weights=state_of(build_model(spec, seed=0)),
            round=1,
            dataset=info,
            seed=0,
            partition="iid",
            alpha=0.5,
            num_nodes=PROBE_NODES,
            defense=DefenseConfig(),
            train_config=DEFAULT_TRAIN,
        )
        return ProbeInputs(dataset_id, self._compute.run(probe_reference_job, job))
