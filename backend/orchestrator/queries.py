"""Read models: what the API shows of nodes, wallets, the chain's rounds and transactions, the event log and health.

Each query joins the database with the chain (through the gateway and the inspector's caches) and returns the
public shape a route serves, so the routes stay thin. The pool that reads node statuses in parallel belongs to
this object, and `close` (called when the orchestrator stops) shuts it down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import cast

from sqlalchemy import select

from backend.app.schemas.chain import ChainRoundPublic, TransactionPublic, TxEventPublic
from backend.app.schemas.events import EventLog
from backend.app.schemas.nodes import (
    ChainEventPublic,
    LastVerdict,
    NodeKind,
    NodePublic,
    WalletPublic,
    WalletStatus,
    jsonable_args,
)
from backend.app.schemas.service import ChainHealth, HealthPublic, HealthStatus, SettlementHealth
from backend.chain.client import NodeStatus, SettledRound, TransactionResult, to_flt
from backend.chain.errors import ChainError
from backend.db import repository as repo
from backend.db.base import SessionFactory, utcnow
from backend.db.models import ExperimentRow, NodeRow, SettlementRow, VerdictRow
from backend.engine.shield import Outcome
from backend.ledger.chain_gateway import ChainGateway
from backend.ledger.inspection import ChainInspector, checked_address
from backend.ledger.outbox import SettlementOutbox
from backend.ledger.settlements import Payouts, chain_payouts, confirmed_last_round_id, recorded_payouts
from backend.orchestrator.errors import ChainUnavailable, NotFound
from backend.orchestrator.events import EventBus
from backend.orchestrator.experiments import attacks
from backend.orchestrator.messages import flt_text
from backend.orchestrator.specs import AttackPlan
from backend.settings import Settings

STATUS_READERS = 8  # node statuses read from the chain at once for one page of nodes


@cache  # read once: the installed package does not change under a running server, and health is polled
def _version() -> str:
    try:
        return version("fedshield")
    except PackageNotFoundError:
        return "0.0.0"


def chain_round_public(settled: SettledRound, ours: SettlementRow | None) -> ChainRoundPublic:
    """A round on chain beside this orchestrator's settlement of the same results root (None: not ours)."""
    return ChainRoundPublic(
        round_id=settled.round_id,
        experiment_id=ours.experiment_id if ours else None,
        round=ours.round if ours else None,
        model_hash=settled.model_hash,
        results_root=settled.results_root,
        tx_hash=settled.tx_hash,
        block_number=settled.block_number,
        model_matches=None if ours is None else ours.model_hash.lower() == settled.model_hash.lower(),
    )


def transaction_public(result: TransactionResult, ours: SettlementRow | None) -> TransactionPublic:
    return TransactionPublic.model_validate(
        {
            "hash": result.tx_hash,
            "block_number": result.block_number,
            "gas_used": result.gas_used,
            "from": result.sender,
            "to": result.to,
            "experiment_id": ours.experiment_id if ours else None,
            "round": ours.round if ours else None,
            "chain_round_id": ours.chain_round_id if ours else None,
            "events": [
                TxEventPublic(
                    name=e.name, contract=e.contract, args=jsonable_args(e.args), log_index=e.log_index
                )
                for e in result.events
            ],
        }
    )


def node_public(
    node: NodeRow,
    chain: NodeStatus | None,
    verdicts: Sequence[VerdictRow],
    paid: tuple[int, int],
    malicious: bool,
) -> NodePublic:
    """One node: its chain status (None while unreachable), its verdicts oldest first, and its payouts."""
    last = verdicts[-1] if verdicts else None
    return NodePublic(
        address=node.address,
        label=node.label,
        kind=cast(NodeKind, node.kind),
        slot=node.slot,
        active=node.active,
        malicious=malicious,
        balance_flt=flt_text(to_flt(chain.balance)) if chain else None,
        stake_flt=flt_text(to_flt(chain.stake)) if chain else None,
        pending_flt=flt_text(to_flt(chain.pending)) if chain else None,
        eligible=chain.eligible if chain else None,
        last_verdict=LastVerdict(
            round=last.round,
            accepted=last.accepted,
            outcome=Outcome(last.outcome),
            rule=last.rule,
            reason=last.reason,
        )
        if last
        else None,
        accepted_rounds=sum(v.outcome == Outcome.ACCEPTED for v in verdicts),
        excluded_rounds=sum(v.outcome == Outcome.EXCLUDED for v in verdicts),
        slashed_rounds=sum(v.outcome == Outcome.SLASHED for v in verdicts),
        rejected_rounds=sum(not v.accepted for v in verdicts),
        rewarded_flt=flt_text(to_flt(paid[0])),
        slashed_flt=flt_text(to_flt(paid[1])),
    )


@dataclass
class ReadModels:
    """The queries behind the API's read routes, over the orchestrator's parts."""

    sessions: SessionFactory
    bus: EventBus
    chain: ChainGateway
    inspector: ChainInspector
    outbox: SettlementOutbox
    settings: Settings
    _status_pool: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._status_pool = ThreadPoolExecutor(max_workers=STATUS_READERS, thread_name_prefix="node-status")

    def close(self) -> None:
        self._status_pool.shutdown(wait=False, cancel_futures=True)

    # -- nodes and wallets --------------------------------------------------------------------------------

    def nodes(self, experiment_id: int, address: str | None = None) -> list[NodePublic]:
        """The experiment's nodes (only ``address``, if given) with chain status, verdicts and payouts."""
        with self.sessions() as session:
            experiment = session.get(ExperimentRow, experiment_id)
            if experiment is None:
                raise NotFound(f"no experiment {experiment_id}")
            nodes = [n for n in repo.nodes_of(session, experiment_id) if address in (None, n.address)]
            by_node: dict[str, list[VerdictRow]] = defaultdict(list)
            for verdict in repo.verdicts(session, experiment_id, node_address=address):
                by_node[verdict.node_address].append(verdict)
            recorded = repo.settlements_of(session, experiment_id)
            plan = AttackPlan.model_validate(experiment.attack) if experiment.attack else None
            num_nodes = int(experiment.config["num_nodes"])
            upcoming = max(experiment.current_round, plan.start_round if plan else 1)
        statuses = self._statuses([n.address for n in nodes])
        paid = self._payouts(recorded)
        return [
            node_public(
                node,
                statuses[node.address],
                by_node[node.address],
                paid.get(node.address, (0, 0)),
                attacks(
                    plan, num_nodes, kind=node.kind, slot=node.slot, address=node.address, round_=upcoming
                ),
            )
            for node in nodes
        ]

    def _statuses(self, addresses: list[str]) -> dict[str, NodeStatus | None]:
        def one(address: str) -> NodeStatus | None:
            try:
                return self.chain.node_status(address)
            except (ChainUnavailable, ChainError):
                return None

        return dict(zip(addresses, self._status_pool.map(one, addresses), strict=True))

    def _payouts(self, settlements: Sequence[SettlementRow]) -> Payouts:
        """Wei rewarded and slashed per node in these settlements' rounds, as the chain holds them; while the
        chain is unreachable, as the confirmed settlements recorded them (the reconciler keeps the two equal)."""
        roots = {s.results_root.lower() for s in settlements}
        try:
            settled = self.inspector.settled_rounds()
        except (ChainUnavailable, ChainError):
            return recorded_payouts(settlements)
        return chain_payouts(r for r in settled if r.results_root.lower() in roots)

    def wallet(self, address: str) -> WalletPublic:
        """A wallet's balance, stake and eligibility, and its staking history on chain."""
        status, history = self.inspector.wallet(address)
        return WalletPublic(
            address=status.address,
            status=WalletStatus(
                balance_flt=flt_text(to_flt(status.balance)),
                stake_flt=flt_text(to_flt(status.stake)),
                pending_flt=flt_text(to_flt(status.pending)),
                unlock_at=status.unlock_at,
                eligible=status.eligible,
            ),
            history=[ChainEventPublic.of(e) for e in history],
        )

    # -- the chain's rounds and transactions ----------------------------------------------------------------

    def chain_rounds(self) -> list[ChainRoundPublic]:
        """Rounds settled on chain, matched by results root to this orchestrator's experiments."""
        settled = self.inspector.settled_rounds()
        with self.sessions() as session:
            ours = {s.results_root.lower(): s for s in session.scalars(select(SettlementRow))}
        return [chain_round_public(r, ours.get(r.results_root.lower())) for r in settled]

    def transactions(
        self, *, experiment_id: int | None = None, round_: int | None = None, wallet: str | None = None
    ) -> list[TransactionPublic]:
        """Settlement transactions of this orchestrator, filtered; with ``wallet``, every tx that touched it."""
        self.inspector.follow_head()  # receipts read before a reorg are not shown after it
        with self.sessions() as session:
            query = select(SettlementRow).where(SettlementRow.tx_hash.is_not(None))
            if experiment_id is not None:
                query = query.where(SettlementRow.experiment_id == experiment_id)
            if round_ is not None:
                query = query.where(SettlementRow.round == round_)
            settlements = {s.tx_hash: s for s in session.scalars(query.order_by(SettlementRow.block_number))}
        hashes: list[str] = [h for h in settlements if h]
        if wallet is not None:
            touched = list(
                dict.fromkeys(e.tx_hash for e in self.inspector.wallet_history(checked_address(wallet)))
            )
            hashes = (
                touched if experiment_id is None and round_ is None else [h for h in hashes if h in touched]
            )
        found = []
        for tx_hash in hashes:
            result = self.inspector.receipt(tx_hash)
            if result is not None:
                found.append(transaction_public(result, settlements.get(tx_hash)))
        found.sort(key=lambda t: t.block_number)
        return found

    # -- the event log ----------------------------------------------------------------------------------------

    def event_log(
        self, *, after: int, limit: int, kind: str | None, experiment_id: int | None, before: int | None
    ) -> EventLog:
        """A page of the event log in id order (or, with ``before``, the page just below that id, newest first)."""
        page = self.bus.page(after=after, before=before, limit=limit, kind=kind, experiment_id=experiment_id)
        events = list(page)
        next_after = max((e.id for e in events), default=after) if before is None else after
        return EventLog(events=events, next_after=next_after)

    # -- health -------------------------------------------------------------------------------------------------

    def health(self) -> HealthPublic:
        """Whether the orchestrator reaches its chain and settles; see the route for what ``degraded`` means."""
        settings = self.settings
        head = self.chain.head()
        reasons: list[str] = []
        if head.last_block is None:
            reasons.append(f"chain unreachable at {self.chain.rpc_url}: settlement waits")
        with self.sessions() as session:
            open_rows = repo.open_settlements(session)
            db_last = confirmed_last_round_id(session)
        oldest = min((r.created_at for r in open_rows), default=None)
        waited = (utcnow() - oldest).total_seconds() if oldest is not None else None
        if waited is not None and waited > settings.settlement_stuck_after_s:
            reasons.append(
                f"settlement stuck: the oldest unsettled round has waited {waited:.0f}s "
                f"(threshold {settings.settlement_stuck_after_s:.0f}s)"
            )
        if head.last_round_id is not None and db_last > head.last_round_id:
            reasons.append(
                f"chain is behind the database: it holds rounds up to {head.last_round_id}, the database counts "
                f"{db_last} as settled; the reconciler sends the missing ones again"
            )
        report = self.outbox.last_report
        unrepaired = list(report.unrepaired) if report is not None else []
        if unrepaired:
            reasons.append(f"ledger mismatch the reconciler could not repair: {unrepaired[0]}")
        return HealthPublic(
            status=HealthStatus.DEGRADED if reasons else HealthStatus.OK,
            reasons=reasons,
            version=_version(),
            chain=ChainHealth(
                chain_id=head.chain_id,
                rpc_url=self.chain.rpc_url,
                connected=head.last_block is not None,
                last_block=head.last_block,
                error=head.error,
            ),
            outbox_pending=len(open_rows),
            settlement=SettlementHealth(
                oldest_pending_s=round(waited, 1) if waited is not None else None,
                stuck_after_s=settings.settlement_stuck_after_s,
                chain_last_round_id=head.last_round_id,
                db_last_round_id=db_last,
                requeued=len(report.requeued) if report is not None else 0,
                unrepaired=unrepaired,
            ),
        )
