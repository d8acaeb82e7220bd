// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BaseTest} from "../BaseTest.sol";
import {StakingHandler} from "./StakingHandler.sol";

/// @notice Properties that must hold after any sequence of staking, unstaking, withdrawals, retuning, time
///         passing and settlements (authorized or not).
contract FedShieldStakingInvariantTest is BaseTest {
    StakingHandler internal handler;
    address[] internal actors;

    function setUp() public override {
        super.setUp();
        actors = [alice, bob, carol, dave];
        handler = new StakingHandler(token, staking, admin, orchestrator, actors);

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = StakingHandler.stake.selector;
        selectors[1] = StakingHandler.requestUnstake.selector;
        selectors[2] = StakingHandler.withdraw.selector;
        selectors[3] = StakingHandler.warp.selector;
        selectors[4] = StakingHandler.retune.selector;
        selectors[5] = StakingHandler.settleRound.selector;
        selectors[6] = StakingHandler.settleAsOutsider.selector;
        selectors[7] = StakingHandler.replayRound.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice The staking contract holds exactly the FLT it owes: every stake and pending withdrawal.
    function invariant_BalanceBacksStakesAndPending() public view {
        uint256 sumStaked;
        uint256 sumPending;
        for (uint256 i; i < actors.length; ++i) {
            sumStaked += staking.stakeOf(actors[i]);
            sumPending += _pending(actors[i]);
        }
        assertEq(staking.totalStaked(), sumStaked, "totalStaked != sum of stakes");
        assertEq(staking.totalPending(), sumPending, "totalPending != sum of pending");
        assertEq(token.balanceOf(address(staking)), sumStaked + sumPending, "balance != stakes + pending");
    }

    /// @notice FLT is created only as rewards, and every token stays with a known holder (slashes go to the treasury).
    function invariant_SupplyGrowsOnlyByRewards() public view {
        assertEq(token.totalSupply(), INITIAL_SUPPLY + handler.ghostRewardsMinted(), "supply");
        uint256 held = token.balanceOf(admin) + token.balanceOf(treasury) + token.balanceOf(address(staking));
        for (uint256 i; i < actors.length; ++i) {
            held += token.balanceOf(actors[i]);
        }
        assertEq(held, token.totalSupply(), "tokens outside known holders");
    }

    /// @notice Round ids only move forward, one per orchestrator settlement, each with its model hash recorded.
    function invariant_LastRoundIdOnlyIncreases() public view {
        assertFalse(handler.ghostRoundIdDecreased(), "lastRoundId decreased");
        uint256 last = staking.lastRoundId();
        assertEq(last, handler.ghostLastRoundId());
        assertEq(last, handler.ghostRoundsSettled(), "a round was settled outside the orchestrator's sequence");
        if (last > 0) assertEq(staking.roundModelHash(last), keccak256(abi.encode("model", last)));
        assertEq(staking.roundModelHash(last + 1), bytes32(0));
    }

    /// @notice No outsider settlement and no replayed round ever succeeded.
    function invariant_OnlyOrchestratorSettles() public view {
        assertFalse(handler.ghostUnauthorizedSettled(), "unauthorized or replayed settlement succeeded");
    }
}
