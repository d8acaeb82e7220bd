"""The results root's Merkle tree as OpenZeppelin's `MerkleProof` reads it, and the fixture that the forge test
(contracts/test/ResultsRoot.t.sol) verifies on chain, which must be what the Python code generates now."""

from __future__ import annotations

import itertools

import pytest
from eth_utils import keccak

from backend.ledger.results_root import (
    fixture_text,
    header_leaf,
    merkle_proof,
    merkle_root,
    process_proof,
    results_root,
)
from backend.settings import REPO_ROOT

FIXTURE = REPO_ROOT / "contracts" / "test" / "fixtures" / "results_root.json"


def _leaves(n: int) -> list[bytes]:
    return [keccak(text=f"leaf {i}") for i in range(n)]


def _pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative hash, written out: keccak of the two, the smaller first."""
    return keccak(a + b) if a < b else keccak(b + a)


def test_no_leaves_give_the_zero_root_and_one_leaf_is_its_own_root() -> None:
    (only,) = _leaves(1)
    assert merkle_root([]) == bytes(32)
    assert merkle_root([only]) == only
    assert merkle_proof([only], only) == []
    assert process_proof([], only) == only


def test_two_and_three_leaves_hash_sorted_pairs_and_carry_the_odd_one_up() -> None:
    a, b, c = sorted(_leaves(3))
    assert merkle_root([b, a]) == _pair(a, b) == keccak(a + b)
    assert merkle_root([c, a, b]) == _pair(_pair(a, b), c)
    assert merkle_proof([a, b, c], c) == [_pair(a, b)]  # c was carried up: no sibling on the first level


def test_the_root_does_not_depend_on_the_leaves_order() -> None:
    leaves = _leaves(5)
    roots = {merkle_root(list(order)) for order in itertools.permutations(leaves)}
    assert len(roots) == 1


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17])
def test_every_leaf_proves_against_the_root_of_any_size(size: int) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for leaf in leaves:
        proof = merkle_proof(leaves, leaf)
        assert process_proof(proof, leaf) == root
        assert len(proof) <= (size - 1).bit_length()


def test_a_proof_fails_for_another_leaf_or_a_changed_sibling() -> None:
    leaves = _leaves(6)
    root = merkle_root(leaves)
    proof = merkle_proof(leaves, leaves[2])
    assert process_proof(proof, keccak(text="not a leaf")) != root
    assert process_proof([keccak(text="forged"), *proof[1:]], leaves[2]) != root
    with pytest.raises(ValueError, match="not a leaf"):
        merkle_proof(leaves, keccak(text="not a leaf"))


def test_results_root_of_a_round_with_no_verdicts_is_its_header_leaf() -> None:
    model_hash = "0x" + "11" * 32
    assert results_root(1, 1, model_hash, 0.5, []) == "0x" + header_leaf(1, 1, model_hash, 0.5, 0).hex()


def test_the_committed_fixture_is_what_the_code_generates_now() -> None:
    # Regenerate with: python -m backend.ledger.results_root --fixture contracts/test/fixtures/results_root.json
    assert FIXTURE.read_text() == fixture_text()
