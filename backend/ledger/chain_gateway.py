"""One lazily connected ChainClient for the whole orchestrator, tolerant of a chain that comes and goes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chain.client import ChainClient, NodeStatus
from backend.chain.deployment import Deployment, load_deployment
from backend.chain.errors import ChainError
from backend.orchestrator.errors import ChainUnavailable
from workers.protocol import eip712_domain

STATUS_TTL_S = 3.0  # how long a node's on-chain status is trusted by the intake's stake check
# After a failed read, stale-tolerant reads answer from the cache this long without asking the chain again:
# a hung or dead endpoint must not cost every update post its own timeout.
OUTAGE_BACKOFF_S = 2.0


@dataclass(frozen=True)
class ChainHead:
    """Where the chain stands, as far as it answered: all None (and ``error`` set) while it is unreachable."""

    chain_id: int | None
    last_block: int | None
    last_round_id: int | None
    error: str | None


class ChainGateway:
    """Connects on first use and again after a failure; callers get ChainUnavailable while it is down."""

    def __init__(
        self,
        deployment_file: Path,
        orchestrator_key: str,
        rpc_url: str | None = None,
        *,
        eligibility_grace_s: float = 900.0,
    ) -> None:
        self._deployment_file = deployment_file
        self._key = orchestrator_key
        self._rpc_url = rpc_url
        self._client: ChainClient | None = None
        self._lock = threading.Lock()
        # address -> (monotonic time read, status); kept through outages as the last status seen.
        self._status_cache: dict[str, tuple[float, NodeStatus]] = {}
        self._stale: set[str] = set()  # read again before trusting (a settlement changed them)
        self._grace_s = eligibility_grace_s
        self._down_until = 0.0
        self._last_error: str | None = None

    @property
    def rpc_url(self) -> str:
        if self._rpc_url:
            return self._rpc_url
        try:
            return self.deployment().rpc_url
        except ChainError:
            return ""

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def deployment(self) -> Deployment:
        """The deployment file's content (addresses, ABIs); DeploymentFileError if missing."""
        if self._client is not None:
            return self._client.deployment
        return load_deployment(self._deployment_file)

    def eip712_domain(self) -> dict[str, Any]:
        """The EIP-712 domain nodes sign under (updates and registrations): this chain and its staking contract."""
        deployment = self.deployment()
        return eip712_domain(deployment.chain_id, deployment.staking.address)

    def client(self) -> ChainClient:
        """The connected client, or ChainUnavailable naming what is wrong."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = ChainClient.from_file(
                        self._deployment_file, self._key, rpc_url=self._rpc_url
                    )
                    self._last_error = None
                except ChainError as exc:
                    self._last_error = str(exc)
                    raise ChainUnavailable(str(exc)) from None
            return self._client

    def head(self) -> ChainHead:
        """The chain's id, newest block and last settled round id, as far as it answers; never raises."""
        chain_id: int | None = None
        last_block: int | None = None
        last_round_id: int | None = None
        error: str | None = None
        try:
            client = self.client()
            last_block = client.head()
            chain_id = client.deployment.chain_id
            last_round_id = client.last_round_id()
        except (ChainUnavailable, ChainError, OSError) as exc:
            error = str(exc)
        except Exception as exc:  # a dropped connection surfaces as requests' own errors
            error = f"chain unreachable: {type(exc).__name__}"
        return ChainHead(chain_id, last_block, last_round_id, error)

    def node_status(
        self, address: str, *, max_age_s: float = STATUS_TTL_S, stale_ok: bool = False
    ) -> NodeStatus:
        """A node's balance, stake and eligibility, cached for ``max_age_s``.

        With ``stale_ok``, an outage answers with the last status seen if it was read within the
        eligibility grace period, instead of ChainUnavailable: the intake keeps taking updates from nodes it
        has recently seen staked while the chain is away (their rewards and slashes wait in the outbox).
        """
        now = time.monotonic()
        cached = self._status_cache.get(address)
        if cached is not None and address not in self._stale and now - cached[0] < max_age_s:
            return cached[1]
        usable = cached is not None and now - cached[0] <= self._grace_s
        if stale_ok and usable and now < self._down_until:
            assert cached is not None
            return cached[1]
        try:
            status = self.client().node_status(address)
        except (ChainUnavailable, ChainError) as exc:
            self._down_until = time.monotonic() + OUTAGE_BACKOFF_S
            self._last_error = str(exc)
            if stale_ok and usable:
                assert cached is not None
                return cached[1]
            raise ChainUnavailable(str(exc)) from None
        self._status_cache[address] = (time.monotonic(), status)
        self._stale.discard(address)
        return status

    def forget_status(self, addresses: list[str]) -> None:
        """Read these again on next use; the old status is kept as the fallback for an outage."""
        self._stale.update(addresses)
