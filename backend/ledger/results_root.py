"""The round's results root: a Merkle root over its verdicts, committed on chain in `RoundSettled`.

Leaves are ``keccak256(abi.encode(...))`` of fixed-width values, paired with sorted-pair hashing as in
OpenZeppelin's ``MerkleProof``, so a node can prove its verdict against the on-chain root in Solidity:

- one header leaf: ``(experimentId, round, modelHash, accuracyBps, numVerdicts)``
- one leaf per verdict: ``(experimentId, round, node, outcome, keccak256(rule), updateHash)``, with
  ``outcome`` a ``uint8``: 0 accepted, 1 excluded, 2 slashed (``OUTCOME_CODES``), so a proof shows which
  of the three outcomes a node got

The experiment id and round in every leaf make roots unique across experiments, which is what lets the
settlement outbox recognise its own `RoundSettled` event after a crash.

``python -m backend.ledger.results_root --fixture contracts/test/fixtures/results_root.json`` writes rounds'
leaves, roots and proofs for the forge test that checks them with ``MerkleProof.verify`` (ResultsRoot.t.sol).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from backend.engine.shield import Outcome

OUTCOME_CODES: dict[Outcome, int] = {Outcome.ACCEPTED: 0, Outcome.EXCLUDED: 1, Outcome.SLASHED: 2}


@dataclass(frozen=True)
class VerdictLeaf:
    node: str  # checksummed address
    outcome: Outcome
    rule: str | None
    update_hash: str  # 0x + 64 hex


def _bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    assert len(raw) == 32, value
    return raw


def header_leaf(
    experiment_id: int, round_: int, model_hash: str, accuracy: float, num_verdicts: int
) -> bytes:
    bps = round(accuracy * 10_000)
    return keccak(
        encode(
            ["uint256", "uint256", "bytes32", "uint256", "uint256"],
            [experiment_id, round_, _bytes32(model_hash), bps, num_verdicts],
        )
    )


def verdict_leaf(experiment_id: int, round_: int, leaf: VerdictLeaf) -> bytes:
    return keccak(
        encode(
            ["uint256", "uint256", "address", "uint8", "bytes32", "bytes32"],
            [
                experiment_id,
                round_,
                leaf.node,
                OUTCOME_CODES[leaf.outcome],
                keccak(text=leaf.rule or ""),
                _bytes32(leaf.update_hash),
            ],
        )
    )


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The tree bottom-up: the sorted leaves, then each level of sorted-pair hashes; an odd node is carried up."""
    levels = [sorted(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        parents = [_hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        levels.append(parents)
    return levels


def _hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's `Hashes.commutativeKeccak256`: the smaller of the two first."""
    return keccak(min(a, b) + max(a, b))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of a tree over ``leaves`` (sorted first) with sorted-pair hashing; zero bytes for no leaves."""
    return _levels(leaves)[-1][0] if leaves else bytes(32)


def merkle_proof(leaves: Sequence[bytes], leaf: bytes) -> list[bytes]:
    """The sibling hashes from ``leaf`` up to the root: what OpenZeppelin's ``MerkleProof.verify(proof, root,
    leaf)`` takes. A level where the path's node is carried up unpaired adds no sibling."""
    levels = _levels(leaves)
    try:
        index = levels[0].index(leaf)
    except ValueError:
        raise ValueError(f"0x{leaf.hex()} is not a leaf of this tree") from None
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def process_proof(proof: Sequence[bytes], leaf: bytes) -> bytes:
    """The root that ``proof`` leads to from ``leaf``, as OpenZeppelin's ``MerkleProof.processProof`` computes it."""
    computed = leaf
    for sibling in proof:
        computed = _hash_pair(computed, sibling)
    return computed


def round_leaves(
    experiment_id: int, round_: int, model_hash: str, accuracy: float, verdicts: Sequence[VerdictLeaf]
) -> list[bytes]:
    """The header leaf, then one leaf per verdict, in the verdicts' order."""
    leaves = [header_leaf(experiment_id, round_, model_hash, accuracy, len(verdicts))]
    return leaves + [verdict_leaf(experiment_id, round_, v) for v in verdicts]


def results_root(
    experiment_id: int, round_: int, model_hash: str, accuracy: float, verdicts: Sequence[VerdictLeaf]
) -> str:
    return "0x" + merkle_root(round_leaves(experiment_id, round_, model_hash, accuracy, verdicts)).hex()


# The fixture's rounds: tree sizes 1 (header only), 3, 4 and 7 leaves (odd nodes carried up on two levels).
FIXTURE_VERDICTS = (0, 2, 3, 6)
FIXTURE_RULES = (None, "norm", "distance")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def fixture_round(experiment_id: int, round_: int, num_verdicts: int) -> dict[str, Any]:
    """One round's verdicts, leaves, root and a proof per leaf, as JSON-ready values."""
    model_hash = _hex(keccak(text=f"model {experiment_id}/{round_}"))
    accuracy = 0.5 + num_verdicts / 100
    outcomes = list(OUTCOME_CODES)
    verdicts = [
        VerdictLeaf(
            to_checksum_address(keccak(text=f"node {i}")[-20:]),
            outcomes[i % len(outcomes)],
            FIXTURE_RULES[i % len(FIXTURE_RULES)],
            _hex(keccak(text=f"update {experiment_id}/{round_}/{i}")),
        )
        for i in range(num_verdicts)
    ]
    leaves = round_leaves(experiment_id, round_, model_hash, accuracy, verdicts)
    return {
        "experimentId": experiment_id,
        "round": round_,
        "modelHash": model_hash,
        "accuracyBps": round(accuracy * 10_000),
        "numVerdicts": num_verdicts,
        "root": results_root(experiment_id, round_, model_hash, accuracy, verdicts),
        "header": {"leaf": _hex(leaves[0]), "proof": [_hex(h) for h in merkle_proof(leaves, leaves[0])]},
        "verdicts": [
            {
                "node": v.node,
                "outcome": OUTCOME_CODES[v.outcome],
                "rule": v.rule or "",
                "updateHash": v.update_hash,
                "leaf": _hex(leaf),
                "proof": [_hex(h) for h in merkle_proof(leaves, leaf)],
            }
            for v, leaf in zip(verdicts, leaves[1:], strict=True)
        ],
    }


def proof_fixture() -> dict[str, Any]:
    """Rounds of several tree sizes with every leaf's proof (deterministic: the committed file must match)."""
    cases = [fixture_round(7, n + 1, n) for n in FIXTURE_VERDICTS]
    return {"numCases": len(cases), "cases": cases}


def fixture_text() -> str:
    return json.dumps(proof_fixture(), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write results-root proofs for the contracts' forge test.")
    parser.add_argument("--fixture", type=Path, required=True, help="the JSON file to write")
    path: Path = parser.parse_args(argv).fixture
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fixture_text())
    print(f"{path}: {len(FIXTURE_VERDICTS)} rounds")


if __name__ == "__main__":
    main()
