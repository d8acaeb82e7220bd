"""A small real orchestrator for node tests: the node protocol's routes over HTTP on 127.0.0.1, screening
every update with the real `backend.engine.intake`, FedAvg-ing a round once every staked node has posted.

It stands in for the service (backend/app) so the node loop, the fleet and the CLI are tested over real
HTTP with real training, signatures and safetensors, and nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
import torch
from fastapi import FastAPI, File, Form, HTTPException, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from backend.engine.intake import SubmissionContext, SubmissionRejected, ValidatedUpdate, validate_submission
from tests.support.server import live_server
from tests.support.server import wait_for as poll_until
from workers.attacks import AttackConfig
from workers.datasets import load_builtin_split
from workers.models import build_model, model_spec_for
from workers.protocol import checksum, eip712_domain
from workers.task_document import Eip712Block, SimulationBlock, TaskDocument, UpdateAccepted
from workers.tensors import Weights, apply_delta, state_of, tensor_layout
from workers.training import TrainConfig
from workers.wire import encode_tensors, model_hash, payload_limit

EXPERIMENT_ID = 1
STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
DOMAIN = eip712_domain(31337, STAKING)


@dataclass
class Received:
    round: int
    update: ValidatedUpdate


@dataclass
class FakeOrchestrator:
    """One experiment over simulated nodes (`nodes`, in slot order) and any `external` wallets."""

    nodes: list[str]
    rounds: int = 2
    dataset: str = "digits"
    status: str = "running"
    attackers: dict[str, AttackConfig] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)
    unstaked: set[str] = field(default_factory=set)
    corrupt_models: bool = False  # serve bytes that do not hash to the requested model
    tamper: Callable[[dict[str, Any]], None] | None = None  # edits each task's JSON: a hostile orchestrator
    seed: int = 0
    train_config: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, batch_size=16, lr=0.05))

    def __post_init__(self) -> None:
        self.nodes = [checksum(a) for a in self.nodes]
        self.external = [checksum(a) for a in self.external]
        self.data = load_builtin_split(self.dataset, test_fraction=0.2, seed=self.seed)
        self.spec = model_spec_for(self.data.train.spec)
        self.weights: Weights = state_of(build_model(self.spec, seed=self.seed))
        self.layout = tensor_layout(self.weights)
        self.models: dict[str, bytes] = {}
        self.base_hash = self._publish(self.weights)
        self.initial_hash = self.base_hash
        self.round = 1
        self.received: list[Received] = []
        self.rejected: list[SubmissionRejected] = []
        self.model_downloads = 0
        self.task_requests = 0
        self.lock = threading.Lock()
        self.app = self._build_app()

    # -- state --------------------------------------------------------------------------------------------

    def _publish(self, weights: Weights) -> str:
        data = encode_tensors(weights)
        key = model_hash(data)
        self.models[key] = data
        return key

    def _registered(self) -> list[str]:
        return self.nodes + self.external

    def _staked(self, address: str) -> bool:
        return address in self._registered() and address not in self.unstaked

    def _in_round(self, round_: int) -> list[Received]:
        return [r for r in self.received if r.round == round_]

    def _close_round_if_complete(self) -> None:
        expected = {a for a in self._registered() if self._staked(a)}
        posted = self._in_round(self.round)
        if {r.update.address for r in posted} != expected:
            return
        total = sum(r.update.num_samples for r in posted)
        mean = {
            name: sum(r.update.delta[name] * (r.update.num_samples / total) for r in posted)
            for name in self.layout
        }
        self.weights = apply_delta(self.weights, {n: torch.as_tensor(t) for n, t in mean.items()})
        self.base_hash = self._publish(self.weights)
        if self.round >= self.rounds:
            self.status = "completed"
        else:
            self.round += 1

    def task_for(self, address: str) -> TaskDocument:
        running = self.status == "running"
        simulation = None
        if address in self.nodes:
            simulation = SimulationBlock(
                dataset=self.dataset, test_fraction=0.2, split_seed=self.seed, partition="iid", alpha=0.5,
                shards_per_node=2, min_samples=None, seed=self.seed, num_nodes=len(self.nodes),
                node_index=self.nodes.index(address), attack=self.attackers.get(address),
            )  # fmt: skip
        return TaskDocument(
            experiment_id=EXPERIMENT_ID,
            status=self.status,
            round=self.round if running else None,
            base_model_hash=self.base_hash if running else None,
            model_spec=self.spec,
            train_config=self.train_config,
            deadline=None,
            eip712=Eip712Block(domain=DOMAIN),
            schema=self.data.train.spec,
            standardizer=self.data.standardizer,
            simulation=simulation,
            registered=address in self._registered(),
            submitted=any(r.update.address == address for r in self._in_round(self.round)),
            poll_after_s=0.2,
        )

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/experiments")
        def read_experiments() -> list[dict[str, Any]]:
            return [{"id": EXPERIMENT_ID, "status": self.status}]

        @app.get("/api/experiments/{experiment_id}/task")
        def read_task(experiment_id: int, address: Annotated[str, Query()]) -> JSONResponse:
            if experiment_id != EXPERIMENT_ID:
                raise HTTPException(404, f"no experiment {experiment_id}")
            with self.lock:
                self.task_requests += 1
                document = self.task_for(checksum(address)).model_dump(mode="json", by_alias=True)
            if self.tamper is not None:
                self.tamper(document)
            return JSONResponse(document)

        @app.get("/api/models/{hash_}")
        def read_model(hash_: str) -> Response:
            with self.lock:
                self.model_downloads += 1
                if hash_ not in self.models:
                    raise HTTPException(404, f"no model with hash {hash_}")
                data = self.models[hash_]
            if self.corrupt_models:
                data = data[:-4] + b"\x00\x00\x80\x7f"  # last float becomes +Inf: another hash
            return Response(data, media_type="application/octet-stream")

        @app.post("/api/experiments/{experiment_id}/updates", status_code=202, response_model=UpdateAccepted)
        async def create_update(
            experiment_id: int,
            update: Annotated[UploadFile, File()],
            message: Annotated[str, Form()],
            signature: Annotated[str | None, Form()] = None,
            address: Annotated[str | None, Form()] = None,
        ) -> UpdateAccepted:
            raw = await update.read()
            with self.lock:
                round_ = self.round
                context = SubmissionContext(
                    experiment_id=EXPERIMENT_ID,
                    round=round_,
                    base_model_hash=self.base_hash,
                    layout=self.layout,
                    max_update_bytes=payload_limit(self.layout),
                    domain=DOMAIN,
                    is_registered=lambda a: a in self._registered(),
                    is_staked=self._staked,
                    already_submitted=lambda a: any(r.update.address == a for r in self._in_round(round_)),
                )
                try:
                    valid = validate_submission(
                        raw_update=raw,
                        message_json=message,
                        signature=signature,
                        expected=context,
                        address=address,
                    )
                except SubmissionRejected as exc:
                    self.rejected.append(exc)
                    raise HTTPException(exc.status_code, exc.reason) from None
                self.received.append(Received(round_, valid))
                self._close_round_if_complete()
            return UpdateAccepted(accepted_for_screening=True, round=round_)

        @app.post("/api/experiments/{experiment_id}/nodes")
        def create_node(experiment_id: int, body: dict[str, str]) -> dict[str, Any]:
            raise HTTPException(409, "already registered")

        return app


StartOrchestrator = Callable[..., tuple[FakeOrchestrator, str]]


@pytest.fixture
def http_server() -> Iterator[Callable[[FastAPI], str]]:
    """serve(app) runs the app over real HTTP on 127.0.0.1 and returns its base URL; stopped after the test."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(live_server(app))


@pytest.fixture
def orchestrator(http_server: Callable[[FastAPI], str]) -> StartOrchestrator:
    """Starts FakeOrchestrator(**kwargs) over HTTP; returns it with its base URL."""

    def start(**kwargs: Any) -> tuple[FakeOrchestrator, str]:
        fake = FakeOrchestrator(**kwargs)
        return fake, http_server(fake.app)

    return start


@pytest.fixture
def wait_for() -> Callable[[Callable[[], object], float, str], object]:
    """wait_for(predicate, timeout_s, what): polls until the predicate holds, failing the test on timeout."""
    return poll_until
