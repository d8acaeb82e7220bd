"""The orchestrator's side of the node protocol: the task a node pulls and the update it posts.

The task is a `workers.task_document.TaskDocument`, the model the node parses too. The posted update is checked by
`backend.engine.intake.validate_submission` (signature, stake, round, base hash, layout, finiteness, size, one
per round, deadline) against a context built here, and only then stored for the round runner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy.exc import IntegrityError

from backend.db import repository as repo
from backend.db.base import SessionFactory
from backend.db.models import ExperimentRow, NodeRow, RoundRow, SubmissionRow
from backend.db.statuses import ExperimentStatus, RoundStatus
from backend.engine.intake import SubmissionContext, SubmissionRejected, validate_submission
from backend.ledger.chain_gateway import ChainGateway
from backend.orchestrator.data import TEST_FRACTION, DatasetCatalog
from backend.orchestrator.errors import Conflict, InvalidInput, NotFound
from backend.orchestrator.event_kinds import UpdateReceived
from backend.orchestrator.events import EventBus
from backend.orchestrator.experiments import ExperimentService, attacks
from backend.orchestrator.messages import short_address
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.specs import AttackPlan, ExperimentCreate
from workers.attacks import AttackConfig
from workers.models import ModelSpec
from workers.protocol import MessageError, checksum
from workers.statuses import FINISHED
from workers.task_document import Eip712Block, SimulationBlock, TaskDocument
from workers.wire import payload_limit

SHARDS_PER_NODE = 2
INTAKE_CONCURRENCY = 2


@dataclass
class NodeProtocol:
    """Builds tasks and accepts updates."""

    sessions: SessionFactory
    bus: EventBus
    experiments: ExperimentService
    catalog: DatasetCatalog
    models: ModelStore
    chain: ChainGateway
    _: KW_ONLY
    max_update_bytes: int
    wake_runner: Callable[[], None]
    # A round's updates arrive in a burst; checking them is CPU work under the GIL. Two at a time keeps
    # the burst from starving every other request thread (the probe, status reads) of the interpreter.
    _intake_slots: threading.BoundedSemaphore = field(
        init=False, repr=False, default_factory=lambda: threading.BoundedSemaphore(INTAKE_CONCURRENCY)
    )

    def domain(self) -> dict[str, Any]:
        """The EIP-712 domain nodes sign under: this chain and its staking contract."""
        return self.chain.eip712_domain()

    # -- task ---------------------------------------------------------------------------------------------

    def task(self, experiment_id: int, address: str) -> TaskDocument:
        try:
            wallet = checksum(address)
        except MessageError as exc:
            raise InvalidInput(f"address: {exc}") from None
        with self.sessions() as session:
            experiment = session.get(ExperimentRow, experiment_id)
            if experiment is None:
                raise NotFound(f"no experiment {experiment_id}")
            node = repo.node(session, experiment_id, wallet)
            latest = repo.latest_round(session, experiment_id)
            open_round = latest if latest is not None and latest.status == RoundStatus.OPEN else None
            submitted = open_round is not None and repo.has_submitted(
                session, experiment_id, open_round.round, wallet
            )
        config = ExperimentCreate.model_validate(experiment.config)
        splits = self.catalog.splits(config.dataset_id, config.seed)
        slot = (
            self.experiments.slot_for(experiment_id, wallet, node)
            if experiment.status not in FINISHED
            else None
        )
        running = experiment.status == ExperimentStatus.RUNNING
        current = open_round if running else None
        return TaskDocument(
            experiment_id=experiment_id,
            status=experiment.status,
            round=current.round if current is not None else None,
            base_model_hash=current.base_model_hash if current is not None else None,
            model_spec=ModelSpec.from_dict(experiment.model_spec),
            train_config=config.train_config(),
            deadline=current.deadline.astimezone(UTC) if current is not None else None,
            eip712=Eip712Block(domain=self.domain()),
            schema=splits.train.spec,
            standardizer=splits.standardizer,
            simulation=self._simulation(experiment, config, node, wallet, slot, open_round),
            registered=node is not None,
            submitted=submitted,
            # Hints: quick while there is work, slower while the node waits for the round to close.
            poll_after_s=(1.0 if submitted else 0.5) if running else 2.0,
        )

    def _simulation(
        self,
        experiment: ExperimentRow,
        config: ExperimentCreate,
        node: NodeRow | None,
        wallet: str,
        slot: int | None,
        open_round: RoundRow | None,
    ) -> SimulationBlock | None:
        if slot is None or (node is not None and node.kind != "simulated"):
            return None
        attack: AttackConfig | None = None
        if open_round is not None and open_round.attack:
            plan = AttackPlan.model_validate(open_round.attack)
            if attacks(
                plan, config.num_nodes, kind="simulated", slot=slot, address=wallet, round_=open_round.round
            ):
                attack = plan.attack_config(start_round=0)  # active from the round it is handed out in
        builtin = self.catalog.get(config.dataset_id).source == "builtin"
        return SimulationBlock(
            dataset=config.dataset_id, test_fraction=TEST_FRACTION, split_seed=config.seed,
            partition=config.partition, alpha=config.alpha, shards_per_node=SHARDS_PER_NODE, min_samples=None,
            seed=config.seed, num_nodes=config.num_nodes, node_index=slot, attack=attack,
            data_url=None if builtin else f"/api/experiments/{experiment.id}/train-data",
        )  # fmt: skip

    # -- updates --------------------------------------------------------------------------------------------

    def submit(
        self,
        experiment_id: int,
        raw_update: bytes,
        message_json: str,
        signature: str | None,
        address: str | None,
    ) -> int:
        """Validates and stores one update; returns its round. SubmissionRejected / domain errors otherwise."""
        with self.sessions() as session:
            experiment = session.get(ExperimentRow, experiment_id)
            if experiment is None:
                raise NotFound(f"no experiment {experiment_id}")
            if experiment.status != ExperimentStatus.RUNNING:
                raise Conflict(f"experiment {experiment_id} is {experiment.status}: it takes no updates now")
            latest = repo.latest_round(session, experiment_id)
            if latest is None or latest.status != RoundStatus.OPEN:
                state = (
                    "no round is open yet" if latest is None else f"round {latest.round} is {latest.status}"
                )
                raise SubmissionRejected(409, f"experiment {experiment_id} takes no updates now: {state}")
            round_, base_hash, deadline = latest.round, latest.base_model_hash, latest.deadline
        layout = self.models.layout_of(base_hash)
        context = SubmissionContext(
            experiment_id=experiment_id,
            round=round_,
            base_model_hash=base_hash,
            layout=layout,
            max_update_bytes=min(self.max_update_bytes, payload_limit(layout)),
            domain=self.domain(),
            is_registered=lambda a: self._is_registered(experiment_id, a),
            is_staked=lambda a: self.chain.node_status(a, stale_ok=True).eligible,
            already_submitted=lambda a: self._has_submitted(experiment_id, round_, a),
            deadline=deadline,
        )
        with self._intake_slots:
            update = validate_submission(
                raw_update=raw_update, message_json=message_json, signature=signature, expected=context,
                address=address,
            )  # fmt: skip
        with self.bus.transaction() as pub:
            current = repo.round_row(pub.session, experiment_id, round_)
            if current is None or current.status != RoundStatus.OPEN:
                raise SubmissionRejected(409, f"round {round_} closed while the update was being checked")
            submission = SubmissionRow(
                experiment_id=experiment_id, round=round_, node_address=update.address,
                num_samples=update.num_samples, update_hash=update.update_hash, signature=update.signature,
                payload=raw_update,
            )  # fmt: skip
            pub.session.add(submission)
            try:
                pub.session.flush()
            except IntegrityError:
                raise SubmissionRejected(
                    409, f"{update.address} already submitted an update for round {round_}"
                ) from None
            node = repo.node(pub.session, experiment_id, update.address)
            if node is not None and not node.active:
                node.active = (
                    True  # back in the quorum (it left it by missing a deadline: intake checked the stake)
                )
            label = node.label if node is not None else short_address(update.address)
            pub.publish(
                UpdateReceived(
                    experiment_id=experiment_id,
                    round=round_,
                    address=update.address,
                    label=label,
                    num_samples=update.num_samples,
                    update_hash=update.update_hash,
                )
            )
        self.wake_runner()
        return round_

    def _is_registered(self, experiment_id: int, address: str) -> bool:
        with self.sessions() as session:
            return repo.node(session, experiment_id, address) is not None

    def _has_submitted(self, experiment_id: int, round_: int, address: str) -> bool:
        with self.sessions() as session:
            return repo.has_submitted(session, experiment_id, round_, address)
