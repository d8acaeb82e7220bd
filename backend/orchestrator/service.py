"""The orchestrator as one object: database, event bus, chain, model store, runner and outbox, wired."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING

from backend.chain.client import ChainParameters, to_flt
from backend.chain.errors import ChainError
from backend.db.base import make_engine, make_session_factory
from backend.db.migrate import upgrade_to_head
from backend.ledger.chain_gateway import ChainGateway
from backend.ledger.inspection import ChainInspector
from backend.ledger.outbox import SettlementOutbox
from backend.orchestrator.compute import ComputePool
from backend.orchestrator.data import DatasetCatalog
from backend.orchestrator.errors import ChainUnavailable
from backend.orchestrator.events import EventBus
from backend.orchestrator.experiments import AmountsInForce, ExperimentService, amounts_from
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.probe_service import ProbeService
from backend.orchestrator.protocol import NodeProtocol
from backend.orchestrator.queries import ReadModels
from backend.orchestrator.runner import RoundRunner
from backend.settings import Settings
from workers.data_limits import DataLimits

if TYPE_CHECKING:
    from backend.cli.node_pool import NodePool

log = logging.getLogger("fedshield.orchestrator")
PARAMETERS_TTL_S = 10.0


class Orchestrator:
    """Everything the API routes call into; ``start`` launches the runner and outbox threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.resolved_database_url)
        upgrade_to_head(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.bus = EventBus(self.sessions)
        rpc_override = settings.rpc_url if "rpc_url" in settings.model_fields_set else None
        self.chain = ChainGateway(
            settings.deployment_file,
            settings.orchestrator_key.get_secret_value(),
            rpc_url=rpc_override,
            eligibility_grace_s=settings.eligibility_grace_s,
        )
        self.models = ModelStore(settings.resolved_model_dir)
        self.catalog = DatasetCatalog(
            self.sessions, settings.resolved_upload_dir, DataLimits.for_upload(settings.max_upload_bytes)
        )
        self.compute = ComputePool(settings.compute_processes)
        self.outbox = SettlementOutbox(
            self.sessions,
            self.bus,
            self.chain,
            retry_s=settings.outbox_retry_s,
            confirmations=settings.confirmations,
            tx_stuck_after_s=settings.tx_stuck_after_s,
            reconcile_interval_s=settings.reconcile_interval_s,
        )
        # Calls go one way: the experiments and the node protocol wake the runner, which needs neither.
        self.runner = RoundRunner(
            self.sessions,
            self.bus,
            self.catalog,
            self.models,
            self.compute,
            quorum_fraction=settings.quorum_fraction,
            default_deadline_s=settings.round_deadline_s,
            tick_s=settings.runner_tick_s,
            on_round_recorded=self.outbox.wake,
            min_round_s=settings.min_round_s,
        )
        self.experiments = ExperimentService(
            self.sessions,
            self.bus,
            self.catalog,
            self.models,
            self.chain,
            self.amounts_in_force,
            wake_runner=self.runner.wake,
            default_deadline_s=settings.round_deadline_s,
        )
        self.protocol = NodeProtocol(
            self.sessions,
            self.bus,
            self.experiments,
            self.catalog,
            self.models,
            self.chain,
            max_update_bytes=settings.max_update_bytes,
            wake_runner=self.runner.wake,
        )
        # Simulated nodes for every experiment (settings.node_pool): attached by the app that serves this
        # orchestrator (backend/cli/node_pool.py), since starting node processes is the entry points' job.
        self.node_pool: NodePool | None = None
        self.inspector = ChainInspector(self.chain)
        self.queries = ReadModels(self.sessions, self.bus, self.chain, self.inspector, self.outbox, settings)
        self.probe = ProbeService(self.sessions, self.catalog, self.models, self.compute)
        self._parameters: tuple[float, ChainParameters] | None = None
        self._parameters_lock = threading.Lock()
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is not None:
            self.bus.attach_loop(loop)
        if not self._started:
            self.runner.start()
            self.outbox.start()
            self._started = True

    def stop(self) -> None:
        if self.node_pool is not None:  # first: its nodes would only retry against a stopping service
            self.node_pool.stop()
        if self._started:
            self.runner.stop()
            self.outbox.stop()
            self._started = False
        self.bus.close()
        self.queries.close()
        self.probe.close()
        self.compute.close()
        self.engine.dispose()

    # -- values in force ------------------------------------------------------------------------------------

    def chain_parameters(self) -> ChainParameters | None:
        """The staking contract's parameters (cached briefly), or None while the chain is unreachable."""
        with self._parameters_lock:
            now = time.monotonic()
            if self._parameters is not None and now - self._parameters[0] < PARAMETERS_TTL_S:
                return self._parameters[1]
            try:
                parameters = self.chain.client().parameters()
            except (ChainUnavailable, ChainError):
                return self._parameters[1] if self._parameters is not None else None
            self._parameters = (now, parameters)
            return parameters

    def amounts_in_force(self) -> AmountsInForce:
        """Reward and slash per node and round: the contract's values, or the configured ones offline."""
        parameters = self.chain_parameters()
        if parameters is None:
            return amounts_from(Decimal(str(self.settings.reward_flt)), Decimal(str(self.settings.slash_flt)))
        return amounts_from(to_flt(parameters.reward), to_flt(parameters.slash))
