"""The round runner: one thread that opens rounds, closes them at quorum or deadline, and records them.

It never trains a node's model (nodes do, in their own processes) and never runs on the event loop. For
each running experiment a tick does at most one step:

- no open round: open round r+1 from the last aggregated model (or finish the experiment);
- open round with every active node's update in, or past its deadline with at least one: close it, i.e.
  screen the cohort, aggregate, evaluate, write the model file, then commit round, verdicts, metrics and
  the settlement (outbox) together, with their events;
- open round past its deadline with no update: give it another deadline.

Restart: rounds that were open or being screened when the process stopped are opened again from the same
base model, with their stored updates dropped (nodes see `submitted: false` and send again), so an
interrupted experiment resumes from its last completed round.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.db import repository as repo
from backend.db.base import SessionFactory, utcnow
from backend.db.models import (
    ExperimentRow,
    ModelRow,
    NodeRow,
    RoundRow,
    SettlementRow,
    SubmissionRow,
    VerdictRow,
)
from backend.db.statuses import ExperimentStatus, RoundStatus, SettlementStatus
from backend.engine.rounds import Candidate, ClosedRound
from backend.engine.shield import DefenseConfig, DefenseHistory, Outcome
from backend.ledger.results_root import VerdictLeaf, results_root
from backend.orchestrator.background import BackgroundThread
from backend.orchestrator.compute import ComputePool, RoundJob, close_round_job
from backend.orchestrator.data import DatasetCatalog
from backend.orchestrator.event_kinds import (
    VERDICT_EVENTS,
    ExperimentCompleted,
    ExperimentFailed,
    ModelAggregated,
    NodeDeactivated,
    RoundOpened,
)
from backend.orchestrator.events import EventBus
from backend.orchestrator.experiments import is_attacker, round_deadline_s
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.specs import AttackPlan, ExperimentCreate
from workers.models import ModelSpec

RUNNER_THREAD = "round-runner"  # the thread's name, as thread listings and the tests see it
log = logging.getLogger("fedshield.runner")


def cohort_position(node: NodeRow) -> tuple[int, int, str]:
    """Where ``node``'s update stands in its round's cohort: simulated nodes by data slot (the node index of
    ``backend.engine.simulation``), then the others by address."""
    return (0, node.slot, node.address) if node.slot is not None else (1, 0, node.address)


class RoundRunner:
    """Drives every running experiment's rounds from one background thread."""

    def __init__(
        self,
        sessions: SessionFactory,
        bus: EventBus,
        catalog: DatasetCatalog,
        models: ModelStore,
        compute: ComputePool,
        *,
        quorum_fraction: float,
        default_deadline_s: float,
        tick_s: float,
        on_round_recorded: Callable[[], None],
        min_round_s: float = 0.0,
    ) -> None:
        self._sessions = sessions
        self._min_round = timedelta(seconds=min_round_s)
        self._bus = bus
        self._default_deadline_s = default_deadline_s
        self._catalog = catalog
        self._models = models
        self._compute = compute
        self._quorum_fraction = quorum_fraction
        self._tick_s = tick_s
        self._on_round_recorded = on_round_recorded
        self._hold = threading.Lock()  # held by `suspended()`; the loop takes it for every tick
        self._worker = BackgroundThread(RUNNER_THREAD, self._loop)

    # -- thread -----------------------------------------------------------------------------------------

    def start(self) -> None:
        self.recover()
        self._worker.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._worker.stop(timeout_s)

    def wake(self) -> None:
        self._worker.wake()

    def _deadline_s(self, experiment: ExperimentRow) -> float:
        return round_deadline_s(experiment.config, self._default_deadline_s)

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """No round opens or closes inside this block (maintenance and tests of the deadline)."""
        with self._hold:
            yield

    def _loop(self) -> None:
        while self._worker.wait(self._tick_s):
            with self._hold:
                self.tick()

    def tick(self) -> None:
        """One step for every running experiment; an error fails that experiment only."""
        with self._sessions() as session:
            running = [e.id for e in repo.experiments_with_status(session, (ExperimentStatus.RUNNING,))]
        for experiment_id in running:
            try:
                self.advance(experiment_id)
            except Exception as exc:
                log.exception("experiment %s failed", experiment_id)
                self._fail(experiment_id, exc)

    # -- steps ------------------------------------------------------------------------------------------

    def advance(self, experiment_id: int) -> None:
        with self._sessions() as session:
            experiment = session.get(ExperimentRow, experiment_id)
            if experiment is None or experiment.status != ExperimentStatus.RUNNING:
                return
            latest = repo.latest_round(session, experiment_id)
            if latest is None or latest.status == RoundStatus.COMPLETED:
                done = latest.round if latest is not None else 0
                if done >= experiment.rounds:
                    self._complete(experiment_id)
                else:
                    base = (
                        latest.model_hash
                        if latest is not None and latest.model_hash
                        else experiment.initial_model_hash
                    )
                    self._open(experiment, done + 1, base)
                return
            if latest.status != RoundStatus.OPEN:
                return
            active = sum(1 for n in repo.nodes_of(session, experiment_id) if n.active)
            received = repo.submission_count(session, experiment_id, latest.round)
            deadline_passed = utcnow() >= latest.deadline
            # A paced round stays open its minimum time even at quorum, so a person can follow it.
            paced = utcnow() >= latest.opened_at + self._min_round
            round_, deadline_s = latest.round, self._deadline_s(experiment)
        quorum = max(1, math.ceil(self._quorum_fraction * active)) if active else None
        if (quorum is not None and received >= quorum and paced) or (deadline_passed and received > 0):
            if deadline_passed:
                self._drop_absent(experiment_id, round_)
            self.close(experiment_id, round_)
        elif deadline_passed:
            with self._sessions() as session:
                row = repo.round_row(session, experiment_id, round_)
                if row is not None and row.status == RoundStatus.OPEN:
                    row.deadline = utcnow() + timedelta(seconds=deadline_s)
                    session.commit()

    def _drop_absent(self, experiment_id: int, round_: int) -> None:
        """Active nodes that let the round's deadline pass without an update leave the quorum, so a node that
        registered and never posts holds up one round at most; a later accepted post brings it back."""
        with self._bus.transaction() as pub:
            posted = {s.node_address for s in repo.submissions(pub.session, experiment_id, round_)}
            for node in repo.nodes_of(pub.session, experiment_id):
                if node.active and node.address not in posted:
                    node.active = False
                    pub.publish(
                        NodeDeactivated(
                            experiment_id=experiment_id,
                            address=node.address,
                            label=node.label,
                            reason=f"no update by round {round_}'s deadline",
                        )
                    )

    def _open(self, experiment: ExperimentRow, round_: int, base_hash: str) -> None:
        config = ExperimentCreate.model_validate(experiment.config)
        with self._bus.transaction() as pub:
            pub.session.add(
                RoundRow(
                    experiment_id=experiment.id,
                    round=round_,
                    status=RoundStatus.OPEN,
                    base_model_hash=base_hash,
                    opened_at=utcnow(),
                    deadline=utcnow() + timedelta(seconds=self._deadline_s(experiment)),
                    defense=config.defense.model_dump(mode="json"),
                    attack=experiment.attack,
                    reward_flt=experiment.reward_flt,
                    slash_flt=experiment.slash_flt,
                )
            )
            pub.session.execute(
                update(ExperimentRow).where(ExperimentRow.id == experiment.id).values(current_round=round_)
            )
            pub.publish(RoundOpened(experiment_id=experiment.id, round=round_, base_model_hash=base_hash))

    def _complete(self, experiment_id: int) -> None:
        with self._bus.transaction() as pub:
            experiment = pub.session.get(ExperimentRow, experiment_id)
            assert experiment is not None
            experiment.status = ExperimentStatus.COMPLETED
            last = repo.last_completed_round(pub.session, experiment_id)
            accuracy = last.accuracy if last is not None else None
            pub.publish(
                ExperimentCompleted(experiment_id=experiment_id, rounds=experiment.rounds, accuracy=accuracy)
            )

    def _fail(self, experiment_id: int, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"[:2000]
        with self._bus.transaction() as pub:
            experiment = pub.session.get(ExperimentRow, experiment_id)
            if experiment is None:
                return
            experiment.status = ExperimentStatus.FAILED
            experiment.error = text
            latest = repo.latest_round(pub.session, experiment_id)
            if latest is not None and latest.status == RoundStatus.SCREENING:
                latest.status = RoundStatus.OPEN  # its updates are kept: resuming closes it again
            pub.publish(ExperimentFailed(experiment_id=experiment_id, error=text))

    # -- closing a round --------------------------------------------------------------------------------

    def close(self, experiment_id: int, round_: int) -> None:
        """Screens, aggregates, evaluates and records round ``round_``, then hands it to the outbox."""
        with self._sessions() as session:
            row = repo.round_row(session, experiment_id, round_)
            if row is None or row.status != RoundStatus.OPEN:
                return
            row.status = RoundStatus.SCREENING  # from here on the intake refuses updates for this round
            session.commit()
            experiment = session.get(ExperimentRow, experiment_id)
            assert experiment is not None
            config = ExperimentCreate.model_validate(experiment.config)
            spec = ModelSpec.from_dict(experiment.model_spec)
            nodes = {n.address: n for n in repo.nodes_of(session, experiment_id)}
            plan = AttackPlan.model_validate(row.attack) if row.attack else None
            defense = DefenseConfig.model_validate(row.defense) if row.defense else config.defense
            global_weights = self._models.load(row.base_model_hash)
            base_hash = row.base_model_hash
            candidates: list[Candidate] = []
            update_hashes: dict[str, str] = {}
            # Canonical order, not arrival order: the aggregate's float sums and the verdicts' indices
            # then do not depend on which node posted first, and match `fedshield run`'s node order.
            arrived = repo.submissions(session, experiment_id, round_)
            for sub in sorted(arrived, key=lambda s: cohort_position(nodes[s.node_address])):
                node = nodes[sub.node_address]
                truth = (
                    is_attacker(plan, config.num_nodes, node, round_) if node.kind == "simulated" else None
                )
                candidates.append(Candidate(sub.node_address, sub.payload, sub.num_samples, truth))
                update_hashes[sub.node_address] = sub.update_hash
            history = self._history(session, experiment_id)
        job = RoundJob(
            spec=spec,
            global_weights=global_weights,
            base_hash=base_hash,
            round=round_,
            candidates=candidates,
            defense=defense,
            history=history,
            dataset=self._catalog.get(config.dataset_id),
            train_config=config.train_config(),
            seed=config.seed,
            partition=config.partition,
            alpha=config.alpha,
            num_nodes=config.num_nodes,
        )
        computed = self._compute.run(close_round_job, job)
        new_hash, size = self._models.save(computed.new_weights)  # the file exists before the round commits
        self._record(experiment_id, round_, candidates, nodes, update_hashes, computed, new_hash, size)
        self._on_round_recorded()

    @staticmethod
    def _history(session: Session, experiment_id: int) -> DefenseHistory:
        """The defense's cross-round memory, rebuilt from the verdicts on record, oldest first."""
        history = DefenseHistory()
        for verdict in repo.verdicts(session, experiment_id):
            features = {k: v for k, v in verdict.features.items() if v is not None}
            history.record_one(verdict.node_address, Outcome(verdict.outcome), features)
        return history

    def _record(
        self,
        experiment_id: int,
        round_: int,
        cohort: list[Candidate],
        nodes: dict[str, NodeRow],
        update_hashes: dict[str, str],
        computed: ClosedRound,
        new_hash: str,
        size: int,
    ) -> None:
        pairs = list(zip(cohort, computed.verdicts, strict=True))
        accepted = [str(m.node_id) for m, v in pairs if v.outcome is Outcome.ACCEPTED]
        slashed = [str(m.node_id) for m, v in pairs if v.outcome is Outcome.SLASHED]
        leaves = [
            VerdictLeaf(str(m.node_id), v.outcome, v.rule, update_hashes[str(m.node_id)]) for m, v in pairs
        ]
        accuracy = computed.accuracy if computed.accuracy is not None else 0.0
        root = results_root(experiment_id, round_, new_hash, accuracy, leaves)
        counts = computed.counts
        with self._bus.transaction() as pub:
            s = pub.session
            row = repo.round_row(s, experiment_id, round_)
            experiment = s.get(ExperimentRow, experiment_id)
            if row is None or row.status != RoundStatus.SCREENING or experiment is None:
                return  # stopped meanwhile: the round was cancelled
            row.status = RoundStatus.COMPLETED
            row.defense = computed.defense.model_dump(
                mode="json"
            )  # as screened: the task's calibrated thresholds
            row.model_hash = new_hash
            row.finished_at = utcnow()
            row.accuracy, row.loss = computed.accuracy, computed.loss
            row.accepted, row.excluded, row.slashed = counts.accepted, counts.excluded, counts.slashed
            row.rejected = counts.excluded + counts.slashed
            row.tp, row.fp, row.tn, row.fn = counts.tp, counts.fp, counts.tn, counts.fn
            if s.get(ModelRow, new_hash) is None:
                s.add(
                    ModelRow(hash=new_hash, experiment_id=experiment_id, version=round_ + 1, size_bytes=size)
                )
            for member, verdict in pairs:
                node = nodes[str(member.node_id)]
                s.add(
                    VerdictRow(
                        experiment_id=experiment_id,
                        round=round_,
                        node_address=node.address,
                        node_label=node.label,
                        accepted=verdict.accepted,
                        outcome=verdict.outcome.value,
                        rule=verdict.rule,
                        reason=verdict.reason,
                        features=_finite(verdict.features),
                        malicious=member.attacking,
                    )
                )
                pub.publish(
                    VERDICT_EVENTS[verdict.outcome](
                        experiment_id=experiment_id,
                        round=round_,
                        address=node.address,
                        label=node.label,
                        rule=verdict.rule,
                        reason=verdict.reason,
                    )
                )
            s.add(
                SettlementRow(
                    experiment_id=experiment_id,
                    round=round_,
                    status=SettlementStatus.PENDING,
                    model_hash=new_hash,
                    results_root=root,
                    accepted=accepted,
                    slashed=slashed,
                )
            )
            # The bytes served their purpose; the signed hash stays as the node's proof.
            s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.experiment_id == experiment_id, SubmissionRow.round == round_)
                .values(payload=b"")
            )
            pub.publish(
                ModelAggregated(
                    experiment_id=experiment_id,
                    round=round_,
                    model_hash=new_hash,
                    version=round_ + 1,
                    accuracy=computed.accuracy,
                    loss=computed.loss,
                    accepted=counts.accepted,
                    excluded=counts.excluded,
                    slashed=counts.slashed,
                    tp=counts.tp,
                    fp=counts.fp,
                    tn=counts.tn,
                    fn=counts.fn,
                    results_root=root,
                )
            )

    # -- restart --------------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Reopens rounds that a stop interrupted (open or screening), dropping their stored updates."""
        with self._sessions() as session:
            interrupted = session.execute(
                select(RoundRow.experiment_id, RoundRow.round)
                .join(ExperimentRow, ExperimentRow.id == RoundRow.experiment_id)
                .where(
                    RoundRow.status.in_((RoundStatus.OPEN, RoundStatus.SCREENING)),
                    ExperimentRow.status.in_((ExperimentStatus.RUNNING, ExperimentStatus.PAUSED)),
                )
            ).all()
        for experiment_id, round_ in interrupted:
            with self._bus.transaction() as pub:
                row = repo.round_row(pub.session, experiment_id, round_)
                experiment = pub.session.get(ExperimentRow, experiment_id)
                if row is None or experiment is None:
                    continue
                pub.session.execute(
                    delete(SubmissionRow).where(
                        SubmissionRow.experiment_id == experiment_id, SubmissionRow.round == round_
                    )
                )
                row.status = RoundStatus.OPEN
                row.opened_at = utcnow()
                row.deadline = utcnow() + timedelta(seconds=self._deadline_s(experiment))
                pub.publish(
                    RoundOpened(
                        experiment_id=experiment_id,
                        round=round_,
                        base_model_hash=row.base_model_hash,
                        reopened=True,
                    )
                )


def _finite(features: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN / Infinity: such a feature is stored as null."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in features.items()}
