// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice The results root the orchestrator commits in `RoundSettled` is an OpenZeppelin Merkle tree: a node can
///         prove its verdict on chain. The leaves, roots and proofs come from the Python code that builds them
///         (backend/ledger/results_root.py, `python -m backend.ledger.results_root --fixture <this file>`); here each
///         leaf is rebuilt from its fields as a contract would and its proof checked with `MerkleProof.verify`.
contract ResultsRootTest is Test {
    string internal constant FIXTURE = "/contracts/test/fixtures/results_root.json";

    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), FIXTURE));
    }

    function test_EveryLeafOfEveryRoundProvesAgainstThePythonRoot() public view {
        uint256 cases = vm.parseJsonUint(json, ".numCases");
        assertGt(cases, 0);
        for (uint256 c; c < cases; ++c) {
            string memory round_ = string.concat(".cases[", vm.toString(c), "]");
            bytes32 root = vm.parseJsonBytes32(json, string.concat(round_, ".root"));
            bytes32 header = _headerLeaf(round_);
            assertEq(header, vm.parseJsonBytes32(json, string.concat(round_, ".header.leaf")), "header leaf");
            assertTrue(MerkleProof.verify(_proof(string.concat(round_, ".header")), root, header), "header proof");
            uint256 verdicts = vm.parseJsonUint(json, string.concat(round_, ".numVerdicts"));
            for (uint256 v; v < verdicts; ++v) {
                string memory verdict = string.concat(round_, ".verdicts[", vm.toString(v), "]");
                bytes32 leaf =
                    _verdictLeaf(round_, verdict, uint8(vm.parseJsonUint(json, string.concat(verdict, ".outcome"))));
                assertEq(leaf, vm.parseJsonBytes32(json, string.concat(verdict, ".leaf")), "verdict leaf");
                assertTrue(MerkleProof.verify(_proof(verdict), root, leaf), "verdict proof");
            }
        }
    }

    function test_AVerdictProofFailsForAnotherOutcome() public view {
        string memory round_ = ".cases[3]";
        string memory verdict = string.concat(round_, ".verdicts[0]");
        bytes32 root = vm.parseJsonBytes32(json, string.concat(round_, ".root"));
        uint8 outcome = uint8(vm.parseJsonUint(json, string.concat(verdict, ".outcome")));
        bytes32[] memory proof = _proof(verdict);
        assertTrue(MerkleProof.verify(proof, root, _verdictLeaf(round_, verdict, outcome)));
        assertFalse(MerkleProof.verify(proof, root, _verdictLeaf(round_, verdict, (outcome + 1) % 3)));
    }

    function test_AProofFailsAgainstAnotherRoundsRoot() public view {
        string memory verdict = ".cases[3].verdicts[1]";
        bytes32 leaf = vm.parseJsonBytes32(json, string.concat(verdict, ".leaf"));
        bytes32 otherRoot = vm.parseJsonBytes32(json, ".cases[2].root");
        assertFalse(MerkleProof.verify(_proof(verdict), otherRoot, leaf));
    }

    /// @dev `keccak256(abi.encode(experimentId, round, modelHash, accuracyBps, numVerdicts))`.
    function _headerLeaf(string memory round_) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                vm.parseJsonUint(json, string.concat(round_, ".experimentId")),
                vm.parseJsonUint(json, string.concat(round_, ".round")),
                vm.parseJsonBytes32(json, string.concat(round_, ".modelHash")),
                vm.parseJsonUint(json, string.concat(round_, ".accuracyBps")),
                vm.parseJsonUint(json, string.concat(round_, ".numVerdicts"))
            )
        );
    }

    /// @dev `keccak256(abi.encode(experimentId, round, node, uint8 outcome, keccak256(rule), updateHash))`.
    function _verdictLeaf(string memory round_, string memory verdict, uint8 outcome) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                vm.parseJsonUint(json, string.concat(round_, ".experimentId")),
                vm.parseJsonUint(json, string.concat(round_, ".round")),
                vm.parseJsonAddress(json, string.concat(verdict, ".node")),
                outcome,
                keccak256(bytes(vm.parseJsonString(json, string.concat(verdict, ".rule")))),
                vm.parseJsonBytes32(json, string.concat(verdict, ".updateHash"))
            )
        );
    }

    function _proof(string memory round_) internal view returns (bytes32[] memory) {
        return vm.parseJsonBytes32Array(json, string.concat(round_, ".proof"));
    }
}
