// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console} from "forge-std/console.sol";
import {BaseTest} from "./BaseTest.sol";

/// @notice Measures settleRound for a cohort of `_nodeCount()` nodes, 20% of them slashed, every node already
///         holding FLT and stake, against the budget of 75,000 + 10,000 gas per node for the call.
/// @dev The cohort is built in setUp, so the measured call starts from cold storage as a real transaction does.
///      Round 1 is settled in setUp too (the treasury already holds FLT); the measured round is a steady-state one.
///      The budget applies to the call's execution gas. The transaction figure adds what a real transaction also
///      pays, the 21,000 base cost and calldata at 4 gas per zero byte and 16 per non-zero byte; it must let 1,000
///      nodes fit a 30M-gas block. `forge test --gas-report` runs each call as its own transaction (isolation), so
///      `vm.lastCallGas` then reports the transaction figure: the test detects that and reports both either way.
abstract contract SettleRoundGasTest is BaseTest {
    uint256 internal constant BASE_BUDGET = 75_000;
    uint256 internal constant PER_NODE_BUDGET = 10_000;
    uint256 internal constant TX_BASE_GAS = 21_000;
    uint256 internal constant BLOCK_GAS_LIMIT = 30_000_000;

    address[] internal accepted;
    address[] internal slashed;

    function _nodeCount() internal pure virtual returns (uint256);

    function setUp() public override {
        super.setUp();
        uint256 nodeCount = _nodeCount();
        for (uint256 i; i < nodeCount; ++i) {
            address node = address(uint160(uint256(keccak256(abi.encode("gas node", i)))));
            _fundAndApprove(node, 100 ether);
            _stake(node, 50 ether);
            // Every fifth node attacks.
            if (i % 5 == 4) slashed.push(node);
            else accepted.push(node);
        }
        // Round 1 puts FLT in the treasury, as any round with a slash does.
        _stake(dave, 50 ether);
        _settle(_list(), _list(dave));
    }

    function test_settleRound_GasWithinBudget() public {
        uint256 nodeCount = _nodeCount();
        bytes memory callData =
            abi.encodeCall(staking.settleRound, (2, keccak256("model 2"), keccak256("results 2"), accepted, slashed));

        vm.prank(orchestrator);
        (bool ok,) = address(staking).call(callData);
        assertTrue(ok, "settleRound reverted");
        uint256 measured = vm.lastCallGas().gasTotalUsed;

        uint256 txOverhead = TX_BASE_GAS + _calldataGas(callData);
        bool isolated = _callsAreTransactions();
        uint256 executionGas = isolated ? measured - txOverhead : measured;
        uint256 txGas = isolated ? measured : measured + txOverhead;
        uint256 budget = BASE_BUDGET + PER_NODE_BUDGET * nodeCount;
        console.log("settleRound nodes:", nodeCount);
        console.log("  execution gas:   ", executionGas);
        console.log("  budget:          ", budget);
        console.log("  transaction gas: ", txGas);

        assertEq(staking.lastRoundId(), 2);
        assertLe(executionGas, budget, "settleRound over the gas budget");
        assertLe(txGas * 1000 / nodeCount, BLOCK_GAS_LIMIT, "1,000 nodes would not fit a block");
    }

    /// @dev In isolation mode a state-changing call pays the 21,000 base of a transaction; a zero approval costs
    ///      a few thousand gas otherwise. (View calls are not isolated.)
    function _callsAreTransactions() private returns (bool) {
        token.approve(address(this), 0);
        return vm.lastCallGas().gasTotalUsed >= TX_BASE_GAS;
    }

    function _calldataGas(bytes memory data) private pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}

contract SettleRoundGas10Test is SettleRoundGasTest {
    function _nodeCount() internal pure override returns (uint256) {
        return 10;
    }
}

contract SettleRoundGas100Test is SettleRoundGasTest {
    function _nodeCount() internal pure override returns (uint256) {
        return 100;
    }
}

contract SettleRoundGas1000Test is SettleRoundGasTest {
    function _nodeCount() internal pure override returns (uint256) {
        return 1000;
    }
}
