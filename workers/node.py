"""The node loop: pull the round's task and global model, train on local data, post a signed update.

One `NodeClient` is one wallet talking HTTP to an orchestrator (docs/API.md, "Node protocol"):

  GET  /api/experiments/{id}/task?address=0x…   what to train this round (`TaskDocument`)
  GET  /api/models/{hash}                       the global model; its keccak256 must equal `hash`
  POST /api/experiments/{id}/updates            multipart `update`, `message`, `signature`, `address`

A node's data is its own file (`DataFile`, conformed to the experiment's schema and scaled with the
experiment's published standardizer by `workers.task.local_node_data`) and never leaves it. A simulated
node instead computes its share of the training split from the task's `simulation` block, the same split
and partition the orchestrator computes; only simulated nodes ever act on the block's `attack`.

The private key stays in this object: logs and reprs show the address only.
"""

from __future__ import annotations

import io
import logging
import math
import os
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from eth_account import Account
from pydantic import ValidationError

from workers.attacks import (
    AttackConfigError,
    CohortKnowledge,
    crafted_update,
    is_active,
    malicious_local_update,
    needs_cohort,
)
from workers.collusion import COLLUSION
from workers.datasets import Dataset, DatasetError, DatasetSpec, check_file, load_builtin_split
from workers.models import ModelSpec, build_model
from workers.partition import partition_indices
from workers.protocol import UpdateMessage, eip712_domain_from_dict, registration_body, sign_update
from workers.statuses import FINISHED, ExperimentStatus
from workers.task import NodeData, carve_root, local_node_data, round_seed, simulated_node_data
from workers.task_document import SimulationBlock, TaskDocument
from workers.tensors import Layout, Weights, flatten, tensor_layout
from workers.training import LocalUpdate, train_local
from workers.validation import validation_text
from workers.wire import WireError, decode_tensors, encode_tensors, model_hash, payload_limit

log = logging.getLogger("fedshield.node")
# Loggers that write one line per HTTP request: a node polls every second, so they speak only at DEBUG.
HTTP_LOGGERS = ("httpx", "httpcore")


def configure_logging(level: str, fmt: str) -> None:
    """Logging of a node process at `level`; per-request HTTP lines only when `level` is DEBUG."""
    logging.basicConfig(level=level.upper(), format=fmt)
    root = logging.getLogger().getEffectiveLevel()
    for name in HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if root <= logging.DEBUG else logging.WARNING)


MIN_POLL_S = 0.5
# The operator's own simulated nodes send the orchestrator's admin token (inherited from the environment they
# are started in): with one configured, only they get a task's simulation block and an upload's training split.
ADMIN_TOKEN_ENV = "FEDSHIELD_ADMIN_TOKEN"
MAX_POLL_S = 3.0  # ceiling of the idle backoff: a new round is noticed within this long
MAX_ERROR_BACKOFF_S = 30.0
COLLUSION_WAIT_S = 10.0  # longest a cohort attacker waits for its colluders' honest updates
POST_ATTEMPTS = 3  # tries for one update on network errors and 5xx; the orchestrator dedupes by signer
RETRY_STATUSES = frozenset({408, 425, 429})  # refusals that mean "not now", not "not this update"


class NodeStopped(Exception):
    """Raised inside the loop when `stop()` was called while waiting."""


# ------------------------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class DataFile:
    """A node's own table, image zip or .npz file, put in each experiment's schema when the task arrives."""

    path: Path
    label_column: str | None = None  # tables only; None: the experiment's label column

    def check(self) -> None:
        """Reads the file once so a malformed one fails at start-up (DatasetError), not at the first round."""
        check_file(self.path, self.label_column)

    def for_task(self, task: TaskDocument) -> NodeData:
        """The samples in the experiment's schema (its table schema, image shape, class ids) and scaling."""
        return local_node_data(
            self.path, task.data_schema, label_column=self.label_column, standardizer=task.standardizer
        )


_data_lock = threading.Lock()


def simulated_share(sim: SimulationBlock, schema: DatasetSpec, http: httpx.Client | None = None) -> NodeData:
    """This simulated node's part of the training split, computed exactly as the orchestrator does."""
    with _data_lock:  # many nodes of one fleet process ask at once: compute the split once
        train = _training_split(sim, schema, http)
        parts = _partition(sim, train.y)
    return simulated_node_data(train, parts, sim.node_index)


_splits: dict[tuple[Any, ...], Dataset] = {}


def _training_split(sim: SimulationBlock, schema: DatasetSpec, http: httpx.Client | None) -> Dataset:
    key = (sim.dataset, sim.test_fraction, sim.split_seed, sim.data_url)
    if key not in _splits:
        if sim.data_url is None:
            full = load_builtin_split(sim.dataset, test_fraction=sim.test_fraction, seed=sim.split_seed).train
            split = full.subset(carve_root(full.y, sim.split_seed)[1])  # the orchestrator keeps the root set
        elif http is None:
            raise ValueError("simulation.data_url needs an HTTP client")
        else:
            split = _download_split(http, sim.data_url, schema)
        _splits.clear()  # one experiment at a time per process: keep only the current split
        _splits[key] = split
    return _splits[key]


def _download_split(http: httpx.Client, url: str, schema: DatasetSpec) -> Dataset:
    """An uploaded set's preprocessed training split: NPZ arrays x (N, *input_shape) float32, y (N,) int64."""
    response = http.get(url)
    if response.status_code != 200:
        raise _Retryable(f"GET {url} answered {response.status_code}")
    try:
        with np.load(io.BytesIO(response.content), allow_pickle=False) as archive:
            x = np.asarray(archive["x"], dtype=np.float32)
            y = np.asarray(archive["y"], dtype=np.int64)
        return Dataset(x, y, schema)
    except (OSError, ValueError, KeyError) as exc:
        raise _Fatal(
            f"training split from {url} is not an NPZ of x and y in the experiment's schema: {exc}"
        ) from None


_partitions: dict[tuple[Any, ...], list[np.ndarray]] = {}


def _partition(sim: SimulationBlock, y: np.ndarray) -> list[np.ndarray]:
    key = (sim.dataset, sim.data_url, sim.test_fraction, sim.split_seed, sim.partition, sim.alpha,
           sim.shards_per_node, sim.min_samples, sim.seed, sim.num_nodes)  # fmt: skip
    if key not in _partitions:
        _partitions.clear()
        _partitions[key] = partition_indices(
            y,
            sim.num_nodes,
            sim.partition,
            alpha=sim.alpha,
            shards_per_node=sim.shards_per_node,
            seed=sim.seed,
            min_samples=sim.min_samples,
        )
    return _partitions[key]


# ------------------------------------------------------------------------------------------------ node

# Global models by hash, shared by the nodes of one process; safe to share since each is hash-checked.
_models: dict[str, Weights] = {}
_model_lock = threading.Lock()


@dataclass
class NodeReport:
    """What a node did before it stopped."""

    address: str
    submitted_rounds: list[int] = field(default_factory=list)
    rejections: list[tuple[int, int, str]] = field(default_factory=list)  # (round, status, reason)
    stopped_because: str = ""
    failed: bool = False  # stopped on an error waiting would not fix


class NodeClient:
    """One node: a wallet, an orchestrator URL and (unless simulated) a local dataset."""

    def __init__(
        self,
        orchestrator_url: str,
        private_key: str,
        *,
        data: NodeData | DataFile | None = None,
        training_slots: threading.Semaphore | None = None,
        http_timeout_s: float = 30.0,
        label: str | None = None,
    ) -> None:
        account = Account.from_key(private_key)
        self.address: str = account.address
        self._key = private_key
        self.data = data
        self.label = label or self.address[:10] + "…"
        token = os.environ.get(ADMIN_TOKEN_ENV)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=orchestrator_url.rstrip("/"), timeout=http_timeout_s, headers=headers
        )
        self._slots = training_slots or threading.Semaphore(1)
        self._stop = threading.Event()
        self._datasets: dict[int, NodeData] = {}  # local data per experiment, conformed or partitioned
        # (experiment, round, base model hash) whose update the orchestrator refused for good (a 4xx): not
        # worth training again. A round reopened from another model is another round. Accepted posts are not
        # kept here: the task's `submitted` says whether the orchestrator still holds the update (after a
        # restart it may not, and the node must post again); failed posts (5xx, network) are retried.
        self._done_rounds: set[tuple[int, int, str]] = set()
        self.report = NodeReport(self.address)

    def __repr__(self) -> str:
        return f"NodeClient({self.address}, {self.http.base_url})"

    def stop(self) -> None:
        """Ask the loop to end after the current step (safe from a signal handler or another thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self.http.close()

    # -- loop -----------------------------------------------------------------------------------------

    def run(self, experiment_id: int | None = None) -> NodeReport:
        """Serve one experiment (the newest running one if None) until it finishes or `stop()` is called."""
        idle_s, error_s = MIN_POLL_S, 1.0
        try:
            while not self._stop.is_set():
                try:
                    experiment = (
                        experiment_id if experiment_id is not None else self.find_running_experiment()
                    )
                    if experiment is None:
                        self._wait(idle_s)
                        idle_s = min(idle_s * 1.5, MAX_POLL_S)
                        continue
                    task = self.fetch_task(experiment)
                    error_s = 1.0
                    if task.status in FINISHED:
                        self.report.stopped_because = f"experiment {experiment} {task.status}"
                        log.info("%s: experiment %d is %s, stopping", self.label, experiment, task.status)
                        break
                    round_ = task.open_for
                    if round_ is None or (experiment, round_, task.base_model_hash) in self._done_rounds:
                        # The orchestrator's hint is a floor: a hundred waiting nodes must not flood it.
                        self._wait(max(idle_s, task.poll_after_s))
                        idle_s = min(idle_s * 1.5, MAX_POLL_S)
                        continue
                    self.work_on(task)
                    idle_s = MIN_POLL_S
                except NodeStopped:
                    break
                except (httpx.TransportError, _Retryable) as exc:
                    log.warning(
                        "%s: orchestrator unreachable or busy (%s); retrying in %.0fs",
                        self.label,
                        exc,
                        error_s,
                    )
                    self._wait(error_s)
                    error_s = min(error_s * 2, MAX_ERROR_BACKOFF_S)
                except _Fatal as exc:
                    self.report.stopped_because = str(exc)
                    self.report.failed = True
                    log.error("%s: %s", self.label, exc)
                    break
        except NodeStopped:
            pass
        if not self.report.stopped_because:
            self.report.stopped_because = "stopped"
        return self.report

    def find_running_experiment(self) -> int | None:
        """The newest experiment that is running, if any."""
        experiments = self._json(self.http.get("/api/experiments"), "list experiments")
        running = [
            e["id"]
            for e in experiments
            if isinstance(e, dict) and e.get("status") == ExperimentStatus.RUNNING
        ]
        return max(running) if running else None

    def fetch_task(self, experiment_id: int) -> TaskDocument:
        response = self.http.get(f"/api/experiments/{experiment_id}/task", params={"address": self.address})
        what = f"task of experiment {experiment_id}"
        self._check_answer(response, what)
        try:
            return TaskDocument.model_validate_json(response.content)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise _Retryable(f"{what}: answer is not JSON") from None
            raise _Fatal(
                f"orchestrator sent a task this node cannot use: {validation_text(exc.errors())}"
            ) from None

    def work_on(self, task: TaskDocument) -> None:
        """Trains for the task's open round and posts the signed update (or records why it could not)."""
        assert task.round is not None and task.base_model_hash is not None
        key = (task.experiment_id, task.round, task.base_model_hash)
        if not task.registered:
            self.register(task)
        weights = self.global_model(task)
        data = self.dataset_for(task)
        with self._slots:
            self._check_stop()
            started = time.monotonic()
            update = self.local_update(task, weights, data)
            train_s = time.monotonic() - started
        payload = encode_tensors(update.delta)
        message = UpdateMessage(
            experiment=task.experiment_id,
            round=task.round,
            base_model_hash=task.base_model_hash,
            update_hash=model_hash(payload),
            num_samples=update.num_samples,
        )
        signature = sign_update(self._key, task.eip712.domain, message)
        status, detail = self.post_update(task.experiment_id, payload, message, signature)
        if status >= 500 or status in RETRY_STATUSES:
            raise _Retryable(f"round {task.round}: posting the update answered {status}: {detail}")
        if not 200 <= status < 300:
            self._done_rounds.add(key)
        if 200 <= status < 300:
            self.report.submitted_rounds.append(task.round)
            log.info(
                "%s: round %d: trained on %d samples in %.1fs (loss %.3f), posted %d-byte update %s",
                self.label, task.round, update.num_samples, train_s, update.train_loss, len(payload),
                message.update_hash[:10],
            )  # fmt: skip
        else:
            self.report.rejections.append((task.round, status, detail))
            log.warning("%s: round %d: update refused (%d): %s", self.label, task.round, status, detail)

    def register(self, task: TaskDocument) -> None:
        """Asks to join the experiment, signed with its key (its wallet must already be staked on chain)."""
        experiment_id = task.experiment_id
        body = registration_body(self._key, task.eip712.domain, experiment_id, now_s=time.time())
        response = self.http.post(f"/api/experiments/{experiment_id}/nodes", json=body)
        if response.status_code >= 500:
            raise _Retryable(f"registration answered {response.status_code}")
        if response.status_code not in (200, 201, 409):
            raise _Fatal(f"registration for experiment {experiment_id} refused: {_detail(response)}")
        log.info("%s: registered for experiment %d", self.label, experiment_id)

    def global_model(self, task: TaskDocument) -> Weights:
        """The round's global weights, downloaded once per process and checked against the hash before use."""
        assert task.base_model_hash is not None
        with _model_lock:  # the nodes of one fleet process share one download per round
            cached = _models.get(task.base_model_hash)
            if cached is not None:
                return cached
            layout = expected_layout(task.model_spec)
            limit = payload_limit(layout)
            body = self._download(f"/api/models/{task.base_model_hash}", limit)
            found = model_hash(body)
            if found != task.base_model_hash:
                raise _Retryable(f"model served for {task.base_model_hash} hashes to {found}; not using it")
            try:
                weights = decode_tensors(body, layout, max_bytes=limit)
            except WireError as exc:
                raise _Fatal(
                    f"global model {task.base_model_hash} does not fit the model spec: {exc}"
                ) from None
            if len(_models) >= 2:  # the current model and the one before it are all worth keeping
                _models.pop(next(iter(_models)))
            _models[task.base_model_hash] = weights
            return weights

    def dataset_for(self, task: TaskDocument) -> NodeData:
        """This node's samples for the task's experiment, shaped for the task's model (cached)."""
        if task.experiment_id in self._datasets:
            return self._datasets[task.experiment_id]
        try:
            if isinstance(self.data, DataFile):
                data = self.data.for_task(task)
            elif self.data is not None:
                data = self.data
            elif task.simulation is not None:
                data = simulated_share(task.simulation, task.data_schema, self.http)
            else:
                raise _Fatal(
                    f"experiment {task.experiment_id} is not a simulation and this node has no data: pass --data"
                )
            data = _shaped_for(data, task.model_spec)
        except (DatasetError, ValueError) as exc:
            raise _Fatal(f"local data does not fit experiment {task.experiment_id}: {exc}") from None
        if len(data) == 0:
            raise _Fatal(f"no local samples for experiment {task.experiment_id}")
        self._datasets = {task.experiment_id: data}
        return data

    def local_update(self, task: TaskDocument, weights: Weights, data: NodeData) -> LocalUpdate:
        """Honest training, or the simulated attack the task assigns to this (simulated) node."""
        assert task.round is not None
        sim = task.simulation if self.data is None else None  # a node with its own data is never simulated
        if sim is None:
            seed = round_seed(int(self.address, 16), task.round, task.experiment_id)
            return train_local(task.model_spec, weights, data.x, data.y, task.train_config, seed=seed)
        seed = round_seed(sim.seed, task.round, sim.node_index)
        attack = sim.attack
        if attack is None:
            return train_local(task.model_spec, weights, data.x, data.y, task.train_config, seed=seed)
        round_idx = task.round - 1  # AttackConfig counts rounds from 0, the protocol from 1
        if needs_cohort(attack) and is_active(attack, round_idx):
            honest = train_local(task.model_spec, weights, data.x, data.y, task.train_config, seed=seed)
            pooled = self._pool_with_colluders(task, honest.delta)
            knowledge = CohortKnowledge(pooled, num_nodes=sim.num_nodes, num_malicious=len(pooled))
            # The same rng and honest Δ as malicious_local_update uses, so in-process runs match.
            sent = crafted_update(honest.delta, attack, np.random.default_rng(seed), knowledge)
            return LocalUpdate(delta=sent, num_samples=honest.num_samples, train_loss=honest.train_loss)
        if attack.kind == "backdoor" and attack.boost is None:
            attack = replace(attack, boost=float(sim.num_nodes))  # model replacement: gamma = n
        try:
            return malicious_local_update(
                task.model_spec, weights, data.x, data.y, task.train_config, attack, round_idx, seed
            )
        except AttackConfigError as exc:  # e.g. a target label outside the experiment's classes
            raise _Fatal(f"task's simulation.attack cannot be run: {exc}") from None

    def _pool_with_colluders(self, task: TaskDocument, honest_delta: Weights) -> np.ndarray:
        """This node's honest update pooled with those of the colluders in this process, (k, d).

        Waits outside the training slot: `local_update` runs inside one (`work_on`), and with one slot a
        colluder holding it while waiting would keep the others from training until the timeout. The wait
        is bounded by COLLUSION_WAIT_S and half the time left before the round's deadline.
        """
        assert task.round is not None and task.base_model_hash is not None
        timeout_s = COLLUSION_WAIT_S
        if task.deadline is not None:
            deadline = task.deadline if task.deadline.tzinfo else task.deadline.replace(tzinfo=UTC)
            left_s = (deadline - datetime.now(UTC)).total_seconds()
            timeout_s = max(0.0, min(timeout_s, left_s / 2))
        key = (task.experiment_id, task.round, task.base_model_hash)
        self._slots.release()
        try:
            return COLLUSION.exchange(
                key, self.address, flatten(honest_delta), timeout_s=timeout_s, stop=self._stop
            )
        finally:
            self._slots.acquire()

    def post_update(
        self, experiment_id: int, payload: bytes, message: UpdateMessage, signature: str
    ) -> tuple[int, str]:
        """Posts the update; retries network errors and 5xx. Returns (status, detail)."""
        files = {"update": ("update.safetensors", payload, "application/octet-stream")}
        form = {"message": message.to_json(), "signature": signature, "address": self.address}
        delay = 1.0
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                response = self.http.post(f"/api/experiments/{experiment_id}/updates", data=form, files=files)
            except httpx.TransportError as exc:
                if attempt == POST_ATTEMPTS:
                    raise
                log.warning("%s: posting the update failed (%s), retrying", self.label, exc)
            else:
                if response.status_code < 500 or attempt == POST_ATTEMPTS:
                    return response.status_code, _detail(response)
            self._wait(delay)
            delay *= 2
        raise AssertionError("unreachable")

    # -- plumbing -------------------------------------------------------------------------------------

    def _download(self, path: str, limit: int) -> bytes:
        with self.http.stream("GET", path) as response:
            if response.status_code >= 500 or response.status_code == 404:
                raise _Retryable(f"GET {path} answered {response.status_code}")
            if response.status_code != 200:
                response.read()
                raise _Fatal(f"GET {path} refused ({response.status_code}): {_detail(response)}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise _Fatal(f"GET {path} sent more than {limit} bytes, more than the model can hold")
                chunks.append(chunk)
        return b"".join(chunks)

    def _check_answer(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retryable(f"{what}: orchestrator answered {response.status_code}")
        if response.status_code != 200:
            raise _Fatal(f"{what}: orchestrator answered {response.status_code}: {_detail(response)}")

    def _json(self, response: httpx.Response, what: str) -> Any:
        self._check_answer(response, what)
        try:
            return response.json()
        except ValueError:
            raise _Retryable(f"{what}: answer is not JSON") from None

    def _wait(self, seconds: float) -> None:
        # Jitter spreads a large fleet's polls so they do not arrive in lockstep.
        if self._stop.wait(seconds * random.uniform(0.8, 1.2)):
            raise NodeStopped

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise NodeStopped


class _Retryable(Exception):
    """A failure worth waiting out (orchestrator busy, a model not yet published)."""


class _Fatal(Exception):
    """A failure that waiting will not fix (unknown experiment, data that does not fit)."""


def expected_layout(spec: ModelSpec) -> Layout:
    """Name -> (shape, dtype) of the model's weights, what global models and updates must match."""
    return tensor_layout(build_model(spec, seed=0).state_dict())


def _shaped_for(data: NodeData, spec: ModelSpec) -> NodeData:
    """Samples reshaped to the model's input (an MLP over flattened images), when the sizes agree."""
    if data.x.shape[1:] == spec.input_shape or math.prod(data.x.shape[1:]) != math.prod(spec.input_shape):
        return data
    return NodeData(x=data.x.reshape(len(data.x), *spec.input_shape), y=data.y)


def register_wallet(
    http: httpx.Client, experiment_id: int, private_key: str, kind: str | None = None
) -> httpx.Response:
    """Registers the key's wallet for an experiment, as a node does: the domain read from its task, the
    registration signed with the key. The orchestrator's answer (201, or the refusal) is returned."""
    address = Account.from_key(private_key).address
    task = http.get(f"/api/experiments/{experiment_id}/task", params={"address": address})
    if task.status_code != 200:
        return task
    domain = eip712_domain_from_dict(task.json()["eip712"]["domain"])
    body = registration_body(private_key, domain, experiment_id, now_s=time.time(), kind=kind)
    return http.post(f"/api/experiments/{experiment_id}/nodes", json=body)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:300]
