"""The task document of the node protocol, defined once for both sides (docs/API.md, "Task ... in detail").

The orchestrator builds a `TaskDocument` (`backend.orchestrator.protocol.NodeProtocol.task`) and serves it
as the `response_model` of `GET /api/experiments/{id}/task`; the node parses the same JSON with
`TaskDocument.model_validate_json`, so a document one side writes is one the other side reads, and a bad
one fails with a `pydantic.ValidationError` naming the field (`workers.validation.validation_text`).

The fields hold the node's view, the objects it acts on (`ModelSpec`, `TrainConfig`, `DatasetSpec`,
`Standardizer`, `AttackConfig`); each keeps its own `to_dict` JSON form on the wire (`JsonForm`).
Unknown fields are ignored, so an orchestrator may add fields without stopping older nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from workers.attacks import AttackConfig
from workers.datasets import BUILTIN_DATASETS, DatasetSpec, Standardizer
from workers.models import ModelSpec
from workers.partition import PartitionScheme
from workers.protocol import PRIMARY_TYPE, TYPED_DATA_TYPES, Bytes32, eip712_domain_from_dict
from workers.statuses import ExperimentStatus
from workers.training import TrainConfig


class _DictForm(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


@dataclass(frozen=True)
class JsonForm:
    """Pydantic metadata for a dataclass with its own JSON form: read with `from_dict`, written with `to_dict`.

    `Annotated[ModelSpec, JsonForm(ModelSpec)]` keeps the dataclass's own checks and wire form, and shows
    in the OpenAPI schema as an object described by the dataclass's name.
    """

    kind: type[_DictForm]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self._parse,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda value: value.to_dict()),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "object",
            "additionalProperties": True,
            "description": f"{self.kind.__name__}.to_dict()",
        }

    def _parse(self, value: object) -> object:
        if isinstance(value, self.kind):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"must be a JSON object ({self.kind.__name__}), found {type(value).__name__}")
        try:
            return self.kind.from_dict(value)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"field {exc} is missing" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"not a valid {self.kind.__name__}: {problem}") from None


def _fedshield_domain(domain: dict[str, Any]) -> dict[str, Any]:
    return eip712_domain_from_dict(domain)  # its MessageError is a ValueError: pydantic names the field


class Eip712Block(BaseModel):
    """What the node signs under. It signs only `UPDATE_TYPES` in FedShield's domain, whatever `types` says."""

    model_config = ConfigDict(frozen=True, strict=True)

    domain: Annotated[dict[str, Any], AfterValidator(_fedshield_domain)]
    types: dict[str, list[dict[str, str]]] = Field(default_factory=TYPED_DATA_TYPES.copy)
    primaryType: Literal["Update"] = PRIMARY_TYPE


class SimulationBlock(BaseModel):
    """How a simulated node recomputes its share of the data (and whether it attacks this round).

    The calls are those of the orchestrator: `load_builtin_split(dataset, test_fraction=, seed=split_seed)`,
    then `partition_indices(train.y, num_nodes, partition, alpha=, shards_per_node=, seed=,
    min_samples=)[node_index]`.
    """

    model_config = ConfigDict(frozen=True, strict=True)

    dataset: str  # a built-in set (workers.datasets.BUILTIN_DATASETS), unless data_url is given
    test_fraction: float = Field(gt=0, lt=1)
    split_seed: int
    partition: PartitionScheme
    alpha: float = Field(gt=0)
    shards_per_node: int = Field(ge=1)
    min_samples: int | None = Field(ge=0)
    seed: int
    num_nodes: int = Field(ge=1)
    node_index: int = Field(ge=0)  # which part is this node's, 0-based
    attack: Annotated[AttackConfig, JsonForm(AttackConfig)] | None  # set only while this node attacks
    data_url: str | None = None  # an uploaded set: NPZ (x float32, y int64) of the preprocessed train split

    @model_validator(mode="after")
    def _share_exists(self) -> SimulationBlock:
        if self.node_index >= self.num_nodes:
            raise ValueError(f"node_index {self.node_index} is outside 0..{self.num_nodes - 1}")
        if self.data_url is None and self.dataset not in BUILTIN_DATASETS:
            raise ValueError(
                f"dataset {self.dataset!r} is not built in ({', '.join(BUILTIN_DATASETS)}) and no data_url was given"
            )
        return self


class TaskDocument(BaseModel):
    """One answer of GET /api/experiments/{id}/task for one wallet: what it should train now."""

    model_config = ConfigDict(frozen=True, strict=True)

    experiment_id: int
    status: Annotated[ExperimentStatus, Field(strict=False)]  # the stored status, a str or the enum
    round: int | None = Field(ge=1)  # the round open for updates; None between rounds or when not running
    base_model_hash: Bytes32 | None  # keccak256 of the round's global model, lowercase
    model_spec: Annotated[ModelSpec, JsonForm(ModelSpec)]
    train_config: Annotated[TrainConfig, JsonForm(TrainConfig)]
    deadline: datetime | None  # when the open round stops taking updates (UTC)
    eip712: Eip712Block
    data_schema: Annotated[DatasetSpec, JsonForm(DatasetSpec)] = Field(
        alias="schema"
    )  # local data is put in it
    standardizer: Annotated[Standardizer, JsonForm(Standardizer)] | None  # the scaling of the training split
    simulation: SimulationBlock | None  # None for external nodes (and for wallets with no data slot)
    registered: bool  # this wallet is a registered node of the experiment
    submitted: bool  # this wallet already has an update in the open round
    poll_after_s: float = Field(ge=0)  # the orchestrator's hint for the next poll

    @property
    def open_for(self) -> int | None:
        """The round this node should work on now, if any."""
        if (
            self.status != ExperimentStatus.RUNNING
            or self.round is None
            or self.base_model_hash is None
            or self.submitted
        ):
            return None
        return self.round


class UpdateAccepted(BaseModel):
    """The answer to a posted update: checked, and kept for screening when the round closes."""

    accepted_for_screening: bool
    round: int
