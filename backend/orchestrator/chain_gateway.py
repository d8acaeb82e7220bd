"""One lazily connected ChainClient for the whole orchestrator, tolerant of a chain that comes and goes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from backend.chain.client import ChainClient, NodeStatus
from backend.chain.deployment import Deployment, load_deployment
from backend.chain.errors import ChainError, ChainUnreachable
from backend.orchestrator.errors import ChainUnavailable

STATUS_TTL_S = 3.0  # how long a node's on-chain status is trusted by the intake's stake check


class ChainGateway:
    """Connects on first use and again after a failure; callers get ChainUnavailable while it is down."""

    def __init__(self, deployment_file: Path, orchestrator_key: str, rpc_url: str | None = None) -> None:
        self._deployment_file = deployment_file
        self._key = orchestrator_key
        self._rpc_url = rpc_url
        self._client: ChainClient | None = None
        self._lock = threading.Lock()
        self._status_cache: dict[str, tuple[float, NodeStatus]] = {}
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

    def connected(self) -> bool:
        try:
            client = self.client()
            client.w3.eth.block_number  # noqa: B018 - one request proves the endpoint answers
            return True
        except (ChainUnavailable, ChainError, OSError):
            return False
        except Exception:
            return False

    def node_status(
        self, address: str, *, max_age_s: float = STATUS_TTL_S, stale_ok: bool = False
    ) -> NodeStatus:
        """A node's balance, stake and eligibility, cached for ``max_age_s``.

        With ``stale_ok``, an outage answers with the last status seen (if any) instead of ChainUnavailable:
        the intake keeps taking updates from nodes it has seen staked while the chain is away.
        """
        now = time.monotonic()
        cached = self._status_cache.get(address)
        if cached is not None and now - cached[0] < max_age_s:
            return cached[1]
        try:
            status = self.client().node_status(address)
        except (ChainUnavailable, ChainUnreachable) as exc:
            if stale_ok and cached is not None:
                return cached[1]
            raise ChainUnavailable(str(exc)) from None
        self._status_cache[address] = (now, status)
        return status

    def forget_status(self, addresses: list[str]) -> None:
        for address in addresses:
            self._status_cache.pop(address, None)
