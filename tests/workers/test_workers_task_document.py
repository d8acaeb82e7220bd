"""The task document: one model written by the orchestrator and read by the node, its JSON as documented."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from workers.attacks import AttackConfig
from workers.datasets import ExperimentData
from workers.models import model_spec_for
from workers.protocol import eip712_domain
from workers.task_document import Eip712Block, SimulationBlock, TaskDocument
from workers.training import DEFAULT_TRAIN
from workers.validation import validation_text

STAKING = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def document(digits: ExperimentData) -> TaskDocument:
    return TaskDocument(
        experiment_id=7,
        status="running",
        round=3,
        base_model_hash="0x" + "AB" * 32,
        model_spec=model_spec_for(digits.train.spec),
        train_config=DEFAULT_TRAIN,
        deadline=datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC),
        eip712=Eip712Block(domain=eip712_domain(31337, STAKING)),
        schema=digits.train.spec,
        standardizer=digits.standardizer,
        simulation=SimulationBlock(
            dataset="digits",
            test_fraction=0.2,
            split_seed=0,
            partition="dirichlet",
            alpha=0.5,
            shards_per_node=2,
            min_samples=None,
            seed=0,
            num_nodes=10,
            node_index=3,
            attack=AttackConfig(kind="label_flip", label_map={1: 7}),
        ),
        registered=True,
        submitted=False,
        poll_after_s=0.5,
    )


def test_the_node_reads_back_what_the_orchestrator_writes_in_the_documented_json(
    digits: ExperimentData,
) -> None:
    task = document(digits)
    wire = json.loads(task.model_dump_json(by_alias=True))
    assert list(wire) == [
        "experiment_id", "status", "round", "base_model_hash", "model_spec", "train_config", "deadline",
        "eip712", "schema", "standardizer", "simulation", "registered", "submitted", "poll_after_s",
    ]  # fmt: skip
    assert wire["base_model_hash"] == "0x" + "ab" * 32 and wire["deadline"] == "2026-01-01T12:00:30Z"
    assert wire["model_spec"] == task.model_spec.to_dict() and wire["schema"] == digits.train.spec.to_dict()
    assert wire["simulation"]["attack"]["label_map"] == {"1": 7}
    assert wire["eip712"]["primaryType"] == "Update" and set(wire["eip712"]["types"]) == {
        "EIP712Domain",
        "Update",
    }
    again = TaskDocument.model_validate_json(json.dumps(wire))
    assert again == task and again.open_for == 3
    assert again.simulation is not None and again.simulation.attack == AttackConfig(
        kind="label_flip", label_map={1: 7}
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("round",), True, "round: Input should be a valid integer"),
        (("base_model_hash",), "0x1234", "base_model_hash: String should match pattern"),
        (("model_spec", "kind"), "rnn", "model_spec: Value error, not a valid ModelSpec: model kind must be"),
        (
            ("train_config", "lr"),
            -1,
            "train_config: Value error, not a valid TrainConfig: lr must be positive",
        ),
        (("eip712", "domain", "version"), "2", "eip712.domain: Value error, refusing to sign for domain"),
        (("eip712", "primaryType"), "Permit", "eip712.primaryType: Input should be 'Update'"),
        (("simulation", "partition"), "random", "simulation.partition: Input should be 'iid', 'dirichlet'"),
        (("simulation", "node_index"), 10, "simulation: Value error, node_index 10 is outside 0..9"),
        (("simulation", "dataset"), "mine", "dataset 'mine' is not built in"),
        (
            ("simulation", "attack", "kind"),
            "worm",
            "simulation.attack: Value error, not a valid AttackConfig",
        ),
        (("schema",), None, "schema: Value error, must be a JSON object (DatasetSpec)"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(
    digits: ExperimentData, path: tuple[str, ...], value: Any, expected: str
) -> None:
    wire = json.loads(document(digits).model_dump_json(by_alias=True))
    inner = wire
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    with pytest.raises(ValidationError) as info:
        TaskDocument.model_validate_json(json.dumps(wire))
    assert expected in validation_text(info.value.errors())


def test_a_missing_field_is_named(digits: ExperimentData) -> None:
    wire = json.loads(document(digits).model_dump_json(by_alias=True))
    del wire["eip712"]["domain"], wire["submitted"]
    with pytest.raises(ValidationError) as info:
        TaskDocument.model_validate_json(json.dumps(wire))
    assert validation_text(info.value.errors()) == "eip712.domain: Field required; submitted: Field required"
