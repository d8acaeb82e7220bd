"""The round's results root: a Merkle root over its verdicts, committed on chain in `RoundSettled`.

Leaves are ``keccak256(abi.encode(...))`` of fixed-width values, paired with sorted-pair hashing as in
OpenZeppelin's ``MerkleProof``, so a node can prove its verdict against the on-chain root in Solidity:

- one header leaf: ``(experimentId, round, modelHash, accuracyBps, numVerdicts)``
- one leaf per verdict: ``(experimentId, round, node, outcome, keccak256(rule), updateHash)``, with
  ``outcome`` a ``uint8``: 0 accepted, 1 excluded, 2 slashed (``OUTCOME_CODES``), so a proof shows which
  of the three outcomes a node got

The experiment id and round in every leaf make roots unique across experiments, which is what lets the
settlement outbox recognise its own `RoundSettled` event after a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak

from backend.engine.detection import Outcome

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


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of a tree over ``leaves`` (sorted first) with sorted-pair hashing; an odd node is carried up."""
    level = sorted(leaves)
    if not level:
        return bytes(32)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            a, b = sorted((level[i], level[i + 1]))
            nxt.append(keccak(a + b))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def results_root(
    experiment_id: int, round_: int, model_hash: str, accuracy: float, verdicts: Sequence[VerdictLeaf]
) -> str:
    leaves = [header_leaf(experiment_id, round_, model_hash, accuracy, len(verdicts))]
    leaves += [verdict_leaf(experiment_id, round_, v) for v in verdicts]
    return "0x" + merkle_root(leaves).hex()
