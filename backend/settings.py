"""Orchestrator settings, read once from the environment (prefix ``FEDSHIELD_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = REPO_ROOT / ".fedshield"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(BaseSettings):
    """Everything the orchestrator and the CLI can be told from outside."""

    model_config = SettingsConfigDict(env_prefix="FEDSHIELD_", env_file=".env", extra="ignore")

    # JSON-RPC endpoint of the chain; the local anvil by default.
    rpc_url: str = "http://127.0.0.1:8545"
    # Where `fedshield chain up` writes, and everyone else reads, addresses and ABIs.
    deployment_file: Path = STATE_DIR / "deployment.json"
    # The orchestrator's key: anvil's first dev account unless given; never logged or returned.
    orchestrator_key: SecretStr = Field(default=SecretStr(ANVIL_ORCHESTRATOR_KEY))
    # Folder for chain state, pid files, models and the default SQLite database.
    state_dir: Path = STATE_DIR

    # --- orchestrator service
    # SQLAlchemy URL; `postgres://` / `postgresql://` (Supabase) map to psycopg 3. None: SQLite in state_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("FEDSHIELD_DATABASE_URL", "DATABASE_URL")
    )
    host: str = "127.0.0.1"  # listen on loopback unless told otherwise
    port: int = 8000
    # Bearer token for admin actions; required when `host` is not a loopback address.
    admin_token: SecretStr | None = None
    # More names clients may reach this server by (Host header; a loopback name, `host` and the address a
    # connection came in on are always accepted). Any other Host is refused, against DNS rebinding.
    allowed_hosts: list[str] = Field(default_factory=list)
    # Origins allowed by CORS: the dashboard's dev server by default. Browsers on any other origin are
    # refused on the API, cross-site requests included.
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"]
    )
    # Content-addressed global models (<keccak hash>.safetensors); None: state_dir / "models".
    model_dir: Path | None = None
    # Uploaded datasets; None: state_dir / "datasets".
    upload_dir: Path | None = None
    # The dashboard's production build, served at / when it exists.
    frontend_dist: Path = REPO_ROOT / "frontend" / "dist"

    # --- values shown in the UI and recorded with every round (the contract's own values are read too)
    reward_flt: float = 10.0
    slash_flt: float = 15.0

    # --- limits and round timing
    max_upload_bytes: int = 20 * 1024 * 1024  # a dataset upload
    max_update_bytes: int = 16 * 1024 * 1024  # one node's update payload (also bounded by the model's size)
    # Any other request body (experiment, attack plan, node, probe); the largest real one is a few KiB.
    max_json_bytes: int = 64 * 1024
    round_deadline_s: float = 60.0  # a round closes at quorum or this long after it opened
    # The shortest a round stays open, quorum or not (the demo's pace a person can follow); 0: at quorum.
    min_round_s: float = Field(default=0.0, ge=0, le=600)
    # Share of the experiment's active nodes whose updates close a round before the deadline.
    quorum_fraction: float = Field(default=1.0, gt=0, le=1)
    # How often the round runner and the outbox look at their work when nothing wakes them.
    runner_tick_s: float = 0.5
    # Worker processes that close rounds and build the probe's reference (0: on the runner's own thread).
    compute_processes: int = 1
    # Simulated nodes the orchestrator may run for its experiments on anvil dev wallets 1..N (local chain
    # 31337 only: those keys are public); 0: none, every node joins with `fedshield worker`.
    node_pool: int = Field(default=0, ge=0, le=100)
    outbox_retry_s: float = 2.0

    # --- the ledger (settlement on chain)
    # A settlement is final once its receipt is this many blocks deep (1: mined) and still on chain.
    confirmations: int = Field(default=1, ge=1, le=1000)
    # An attempt without a receipt this long is re-sent at the same nonce with 12.5% higher fees.
    tx_stuck_after_s: float = Field(default=30.0, gt=0)
    # How often the database is compared with the chain's RoundSettled events (also at start-up).
    reconcile_interval_s: float = Field(default=15.0, gt=0)
    # /api/health says "degraded" when the oldest unsettled round has waited longer than this.
    settlement_stuck_after_s: float = Field(default=120.0, gt=0)
    # While the chain is unreachable, a node whose eligibility was read this recently is still accepted.
    eligibility_grace_s: float = Field(default=900.0, ge=0)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'fedshield.db'}"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.state_dir / "models"

    @property
    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or self.state_dir / "datasets"

    @property
    def host_names(self) -> frozenset[str]:
        """Names a Host header may give beside the loopback ones (a wildcard address is no name)."""
        return frozenset({self.host, *self.allowed_hosts} - {"0.0.0.0", "::", ""})

    @property
    def listens_beyond_localhost(self) -> bool:
        return self.host not in LOOPBACK_HOSTS


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
