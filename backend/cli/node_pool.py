"""The standing pool of simulated nodes: node processes the orchestrator starts for its own experiments.

The pool owns anvil dev wallets `1..capacity` (local chains only: their keys are public). Giving an
experiment nodes takes wallets no running fleet holds, funds and stakes them through the orchestrator's
own chain client (so the FLT transfers share the settlement outbox's nonce counter), and starts one
`workers.fleet` process bound to the experiment. `attach_node_pool` gives a served orchestrator its pool
(the orchestrator only holds and stops it, so it does not depend on this entry-point layer). A fleet process ends by itself when its experiment
finishes, which hands its wallets back to the pool for the next experiment. `stop()` ends every process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.chain.accounts import dev_account
from backend.cli.fleet import Fleet, stake_fleet
from backend.db import repository as repo
from backend.db.base import SessionFactory
from backend.db.statuses import ExperimentStatus
from backend.ledger.chain_gateway import ChainGateway
from backend.orchestrator.errors import Conflict, InvalidInput
from backend.orchestrator.experiments import ExperimentService
from backend.orchestrator.specs import AttackPlan
from workers.statuses import FINISHED

if TYPE_CHECKING:
    from backend.orchestrator.service import Orchestrator

log = logging.getLogger("fedshield.pool")

LOCAL_CHAIN_ID = 31337  # anvil's: the only chain whose dev wallets the pool may use


@dataclass
class _Lease:
    experiment_id: int
    accounts: range
    fleet: Fleet


class NodePool:
    """Simulated nodes for any experiment, from wallets `first_account .. first_account + capacity - 1`."""

    def __init__(
        self,
        orchestrator_url: str,
        chain: ChainGateway,
        sessions: SessionFactory,
        experiments: ExperimentService,
        log_dir: Path,
        *,
        capacity: int,
        first_account: int = 1,
    ) -> None:
        self.orchestrator_url = orchestrator_url
        self.capacity = capacity
        self._chain = chain
        self._sessions = sessions
        self._experiments = experiments
        self._log_dir = log_dir
        self._first = first_account
        self._leases: list[_Lease] = []
        self._lock = threading.RLock()  # one add at a time: two must not pick the same wallets
        self._stopped = False

    def running_for(self, experiment_id: int) -> int:
        """Nodes of the pool serving `experiment_id` now."""
        with self._lock:
            self._reap()
            return sum(len(lease.accounts) for lease in self._leases if lease.experiment_id == experiment_id)

    def idle(self) -> int:
        """Wallets no running node holds."""
        with self._lock:
            self._reap()
            return self.capacity - sum(len(lease.accounts) for lease in self._leases)

    def open_slots(self, experiment_id: int) -> int:
        """Data slots of the experiment that no registered simulated node and no node on its way holds."""
        row = self._experiments.get(experiment_id)
        with self._sessions() as session:
            registered = sum(n.slot is not None for n in repo.nodes_of(session, experiment_id))
        # A pool node counts from its start, before it registers; registered ones may be the pool's too.
        return max(0, int(row.config["num_nodes"]) - max(registered, self.running_for(experiment_id)))

    def add_to(self, experiment_id: int, count: int, attackers: int = 0) -> list[str]:
        """The dashboard's "Add simulated nodes": `count` nodes, the last `attackers` of them attacking.

        The attackers join the experiment's attack plan by wallet, from the next round opened, with the
        plan's attack (sign flip if none is set). InvalidInput past the experiment's open slots.
        """
        row = self._experiments.get(experiment_id)
        if row.status in FINISHED:
            raise Conflict(f"experiment {experiment_id} is {row.status}: it takes no new nodes")
        if not 0 <= attackers <= count:
            raise InvalidInput(f"attackers ({attackers}) must lie between 0 and the nodes added ({count})")
        slots = self.open_slots(experiment_id)
        if count > slots:
            raise InvalidInput(
                f"experiment {experiment_id} has {slots} open node slots of {row.config['num_nodes']}, "
                f"not {count}"
            )
        addresses = self.add(experiment_id, count)
        if attackers:
            plan = AttackPlan.model_validate(row.attack or {})
            named = [] if plan.nodes is None else list(plan.nodes)
            plan = plan.model_copy(
                update={
                    "kind": plan.kind if plan.kind != "none" else "sign_flip",
                    "nodes": named + addresses[-attackers:],
                    "start_round": max(plan.start_round, int(row.current_round) + 1),
                }
            )
            self._experiments.set_attack(experiment_id, plan)
        return addresses

    def fill_soon(self, experiment_id: int) -> None:
        """Gives the experiment nodes for its open slots on a background thread (staking takes seconds)."""

        def fill() -> None:
            try:
                self.reattach(experiment_id)
                missing = min(self.open_slots(experiment_id), self.idle())
                if missing:
                    self.add(experiment_id, missing)
            except Exception:  # a background helper: the page's "Add simulated nodes" says why on a retry
                log.exception("experiment %s: could not start simulated nodes", experiment_id)

        threading.Thread(target=fill, name=f"pool-{experiment_id}", daemon=True).start()

    def reattach(self, experiment_id: int) -> None:
        """After a restart: the pool's own wallets registered to the experiment get their node processes back
        (their data slots are theirs, so no other node can take them), one contiguous block at a time."""
        with self._sessions() as session:
            registered = {
                n.address.lower() for n in repo.nodes_of(session, experiment_id) if n.slot is not None
            }
        with self._lock:
            self._reap()
            busy = {account for lease in self._leases for account in lease.accounts}
            wallets = range(self._first, self._first + self.capacity)
            mine = [i for i in wallets if i not in busy and dev_account(i).address.lower() in registered]
            while mine:
                end = 1
                while end < len(mine) and mine[end] == mine[0] + end:
                    end += 1
                self._start(experiment_id, range(mine[0], mine[0] + end))
                mine = mine[end:]

    def add(self, experiment_id: int, count: int) -> list[str]:
        """Starts `count` nodes serving `experiment_id`; returns their wallet addresses.

        Conflict when the pool has fewer than `count` idle wallets in one block, or is stopped.
        """
        with self._lock:
            if self._stopped:
                raise Conflict("the node pool is stopped")
            self._reap()
            accounts = self._free_block(count)
            if accounts is None:
                busy = sum(len(lease.accounts) for lease in self._leases)
                raise Conflict(
                    f"the pool has {self.capacity - busy} idle simulated nodes of {self.capacity}, "
                    f"not {count} in one block: wait for a running experiment to finish, or stop one"
                )
            return self._start(experiment_id, accounts)  # under the same lock: no one else takes the block

    def _start(self, experiment_id: int, accounts: range) -> list[str]:
        """Stakes the dev wallets `accounts` and starts their node processes for `experiment_id`."""
        with self._lock:
            if self._stopped:
                raise Conflict("the node pool is stopped")
            client = self._chain.client()
            if client.deployment.chain_id != LOCAL_CHAIN_ID:  # the client checked it against the chain
                raise Conflict(
                    "simulated nodes use anvil's public dev wallets: only on the local chain 31337"
                )
            stake_fleet(client, len(accounts), first_account=accounts.start)
            fleet = Fleet.start(
                self.orchestrator_url,
                experiment_id,
                len(accounts),
                first_account=accounts.start,
                log_dir=self._log_dir,
            )
            self._leases.append(_Lease(experiment_id, accounts, fleet))
        log.info(
            "experiment %s: started %d simulated nodes (dev wallets %s)",
            experiment_id,
            len(accounts),
            accounts,
        )
        return fleet.addresses

    def stop(self) -> None:
        """Stops every node process of the pool (SIGTERM, then SIGKILL after a grace period)."""
        with self._lock:
            self._stopped = True
            leases, self._leases = self._leases, []
        for lease in leases:
            lease.fleet.stop()

    def _reap(self) -> None:
        """Hands back the wallets of fleets whose experiment finished (their processes exited)."""
        for lease in [lease for lease in self._leases if not lease.fleet.running()]:
            lease.fleet.stop()  # reaps the exited processes and forgets the fleet
            self._leases.remove(lease)

    def _free_block(self, count: int) -> range | None:
        busy = {account for lease in self._leases for account in lease.accounts}
        end = self._first + self.capacity
        for start in range(self._first, end - count + 1):
            block = range(start, start + count)
            if not busy.intersection(block):
                return block
        return None


def attach_node_pool(orchestrator: Orchestrator) -> None:
    """Gives the orchestrator the pool its settings ask for (`node_pool` > 0), serving its own port; the
    experiments still running from before a restart get their nodes back."""
    settings = orchestrator.settings
    if settings.node_pool and orchestrator.node_pool is None:
        pool = NodePool(
            f"http://127.0.0.1:{settings.port}",
            orchestrator.chain,
            orchestrator.sessions,
            orchestrator.experiments,
            settings.state_dir / "fleet-logs",
            capacity=settings.node_pool,
        )
        orchestrator.node_pool = pool
        with orchestrator.sessions() as session:
            running = [e.id for e in repo.experiments_with_status(session, (ExperimentStatus.RUNNING,))]
        for experiment_id in running:
            pool.fill_soon(experiment_id)
