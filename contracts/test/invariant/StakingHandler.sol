// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IFedShieldStaking} from "../../src/interfaces/IFedShieldStaking.sol";
import {IFLToken} from "../../src/interfaces/IFLToken.sol";

/// @notice Drives the staking contract through realistic sequences for the invariant tests: nodes stake, unstake
///         and withdraw, time passes, the admin retunes amounts, the orchestrator settles rounds over random
///         disjoint cohorts, and outsiders (or a replaying orchestrator) try to settle and must fail.
/// @dev Every action is bounded to be valid, so the handler itself never reverts (fail_on_revert is on).
contract StakingHandler is Test {
    IFLToken public immutable token;
    IFedShieldStaking public immutable staking;
    address public immutable admin;
    address public immutable orchestrator;

    address[] internal _actors;

    /// @notice FLT minted as rewards by every successful settlement.
    uint256 public ghostRewardsMinted;
    /// @notice The highest round id seen settled so far.
    uint256 public ghostLastRoundId;
    /// @notice Set if lastRoundId was ever seen to go down.
    bool public ghostRoundIdDecreased;
    /// @notice Set if a settlement by anyone without ORCHESTRATOR_ROLE, or a replayed round, ever succeeded.
    bool public ghostUnauthorizedSettled;
    /// @notice Settlement attempts by outsiders and replays (all expected to revert).
    uint256 public ghostRejectedSettleAttempts;
    /// @notice Rounds settled by the orchestrator.
    uint256 public ghostRoundsSettled;

    constructor(
        IFLToken token_,
        IFedShieldStaking staking_,
        address admin_,
        address orchestrator_,
        address[] memory actors_
    ) {
        token = token_;
        staking = staking_;
        admin = admin_;
        orchestrator = orchestrator_;
        _actors = actors_;
    }

    // ------------------------------------------------------------------ node actions

    function stake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint256 balance = token.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(actor);
        staking.stake(amount);
    }

    function requestUnstake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint256 available = staking.stakeOf(actor);
        if (available == 0) return;
        amount = bound(amount, 1, available);
        vm.prank(actor);
        staking.requestUnstake(amount);
    }

    function withdraw(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        (uint256 pending, uint64 unlockAt) = staking.pendingWithdrawalOf(actor);
        // forge-lint: disable-next-line(block-timestamp)
        if (pending == 0 || block.timestamp < unlockAt) return;
        vm.prank(actor);
        staking.withdraw();
    }

    function warp(uint256 secondsForward) external {
        vm.warp(block.timestamp + bound(secondsForward, 0, 2 days));
    }

    // ------------------------------------------------------------------ admin

    function retune(uint256 reward, uint256 slash, uint256 cooldown) external {
        vm.startPrank(admin);
        staking.setRewardAmount(bound(reward, 0, 50 ether));
        staking.setSlashAmount(bound(slash, 0, 100 ether));
        staking.setCooldown(uint64(bound(cooldown, 0, 3 days)));
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ settlement

    /// @dev Each actor is accepted, slashed or left out according to two bits of `cohortSeed`.
    function settleRound(uint256 cohortSeed) external {
        (address[] memory accepted, address[] memory slashed) = _cohort(cohortSeed);
        uint256 roundId = staking.lastRoundId() + 1;
        uint256 reward = staking.rewardAmount();
        vm.prank(orchestrator);
        staking.settleRound(roundId, keccak256(abi.encode("model", roundId)), bytes32(cohortSeed), accepted, slashed);
        ghostRewardsMinted += reward * accepted.length;
        ++ghostRoundsSettled;
        _recordRoundId();
    }

    /// @dev An account without ORCHESTRATOR_ROLE tries to settle the next (or a nearby) round.
    function settleAsOutsider(uint256 callerSeed, uint256 roundOffset, uint256 cohortSeed) external {
        address caller = callerSeed % 4 == 0 ? admin : _actor(callerSeed);
        if (callerSeed % 4 == 1) caller = address(uint160(bound(callerSeed, 1, type(uint160).max)));
        if (staking.hasRole(staking.ORCHESTRATOR_ROLE(), caller)) return;
        (address[] memory accepted, address[] memory slashed) = _cohort(cohortSeed);
        uint256 roundId = staking.lastRoundId() + bound(roundOffset, 0, 2);
        vm.prank(caller);
        try staking.settleRound(roundId, keccak256("forged"), bytes32(0), accepted, slashed) {
            ghostUnauthorizedSettled = true;
        } catch {
            ++ghostRejectedSettleAttempts;
        }
        _recordRoundId();
    }

    /// @dev The orchestrator replays an already settled round id.
    function replayRound(uint256 roundSeed, uint256 cohortSeed) external {
        uint256 last = staking.lastRoundId();
        if (last == 0) return;
        uint256 roundId = bound(roundSeed, 1, last);
        (address[] memory accepted, address[] memory slashed) = _cohort(cohortSeed);
        vm.prank(orchestrator);
        try staking.settleRound(roundId, keccak256("replayed"), bytes32(0), accepted, slashed) {
            ghostUnauthorizedSettled = true;
        } catch {
            ++ghostRejectedSettleAttempts;
        }
        _recordRoundId();
    }

    // ------------------------------------------------------------------ helpers for the invariants

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _cohort(uint256 seed) internal view returns (address[] memory accepted, address[] memory slashed) {
        uint256 acceptedCount;
        uint256 slashedCount;
        for (uint256 i; i < _actors.length; ++i) {
            uint256 role = (seed >> (2 * i)) & 3;
            if (role == 1) ++acceptedCount;
            else if (role == 2) ++slashedCount;
        }
        accepted = new address[](acceptedCount);
        slashed = new address[](slashedCount);
        (acceptedCount, slashedCount) = (0, 0);
        for (uint256 i; i < _actors.length; ++i) {
            uint256 role = (seed >> (2 * i)) & 3;
            if (role == 1) accepted[acceptedCount++] = _actors[i];
            else if (role == 2) slashed[slashedCount++] = _actors[i];
        }
    }

    function _recordRoundId() internal {
        uint256 current = staking.lastRoundId();
        if (current < ghostLastRoundId) ghostRoundIdDecreased = true;
        else ghostLastRoundId = current;
    }
}
