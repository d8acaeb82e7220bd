// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IFedShieldStaking} from "../src/interfaces/IFedShieldStaking.sol";
import {IFLToken} from "../src/interfaces/IFLToken.sol";
import {BaseTest} from "./BaseTest.sol";
import {ReentrantToken} from "./mocks/ReentrantToken.sol";

contract FedShieldStakingTest is BaseTest {
    // ------------------------------------------------------------------ constructor and views

    function test_constructor_SetsDefaultsAndRoles() public view {
        assertEq(staking.token(), address(token));
        assertEq(staking.rewardAmount(), REWARD);
        assertEq(staking.slashAmount(), SLASH);
        assertEq(staking.minStake(), MIN_STAKE);
        assertEq(staking.cooldown(), COOLDOWN);
        assertEq(staking.treasury(), treasury);
        assertEq(staking.orchestrator(), orchestrator);
        assertEq(staking.lastRoundId(), 0);
        assertEq(staking.totalStaked(), 0);
        assertEq(staking.totalPending(), 0);
        assertTrue(staking.hasRole(DEFAULT_ADMIN_ROLE, admin));
        assertEq(staking.ORCHESTRATOR_ROLE(), keccak256("ORCHESTRATOR_ROLE"));
        assertTrue(staking.hasRole(staking.ORCHESTRATOR_ROLE(), orchestrator));
        assertFalse(staking.hasRole(staking.ORCHESTRATOR_ROLE(), admin));
    }

    function test_constructor_RevertWhen_TokenIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        this.deployArtifact(STAKING_ARTIFACT, abi.encode(address(0), admin, orchestrator, treasury));
    }

    function test_constructor_RevertWhen_AdminIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        this.deployArtifact(STAKING_ARTIFACT, abi.encode(token, address(0), orchestrator, treasury));
    }

    function test_constructor_RevertWhen_OrchestratorIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        this.deployArtifact(STAKING_ARTIFACT, abi.encode(token, admin, address(0), treasury));
    }

    function test_constructor_RevertWhen_TreasuryIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        this.deployArtifact(STAKING_ARTIFACT, abi.encode(token, admin, orchestrator, address(0)));
    }

    // ------------------------------------------------------------------ stake

    function test_stake_PullsTokensAndEmits() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Staked(alice, 40 ether, 40 ether);
        _stake(alice, 40 ether);

        assertEq(staking.stakeOf(alice), 40 ether);
        assertEq(staking.totalStaked(), 40 ether);
        assertEq(token.balanceOf(alice), NODE_FUNDS - 40 ether);
        assertEq(token.balanceOf(address(staking)), 40 ether);
    }

    function test_stake_TopUpAddsToStake() public {
        _stake(alice, 40 ether);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Staked(alice, 5 ether, 45 ether);
        _stake(alice, 5 ether);
        assertEq(staking.stakeOf(alice), 45 ether);
        assertEq(staking.totalStaked(), 45 ether);
        _assertBacked();
    }

    function test_stake_RevertWhen_AmountIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroAmount.selector);
        _stake(alice, 0);
    }

    function test_stake_RevertWhen_AllowanceTooLow() public {
        vm.prank(alice);
        token.approve(address(staking), 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 1 ether, 2 ether)
        );
        _stake(alice, 2 ether);
    }

    function test_stake_RevertWhen_BalanceTooLow() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, NODE_FUNDS, NODE_FUNDS + 1)
        );
        _stake(alice, NODE_FUNDS + 1);
    }

    function test_stake_RevertWhen_AmountOverflowsUint128() public {
        uint256 tooMuch = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, tooMuch));
        _stake(alice, tooMuch);
    }

    function test_stake_RevertWhen_TokenReenters() public {
        ReentrantToken hostile = new ReentrantToken();
        IFedShieldStaking victim = _deployStaking(address(hostile), admin, orchestrator, treasury);
        hostile.setTarget(victim);
        hostile.mint(alice, 10 ether);
        vm.startPrank(alice);
        hostile.approve(address(victim), type(uint256).max);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        victim.stake(10 ether);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ requestUnstake

    function test_requestUnstake_MovesStakeToPending() public {
        _stake(alice, 40 ether);
        uint64 unlockAt = uint64(block.timestamp) + COOLDOWN;

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.UnstakeRequested(alice, 15 ether, 15 ether, unlockAt);
        _requestUnstake(alice, 15 ether);

        assertEq(staking.stakeOf(alice), 25 ether);
        assertEq(_pending(alice), 15 ether);
        assertEq(_unlockAt(alice), unlockAt);
        assertEq(staking.totalStaked(), 25 ether);
        assertEq(staking.totalPending(), 15 ether);
        _assertBacked();
    }

    function test_requestUnstake_SecondRequestAddsAndRestartsCooldown() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 10 ether);
        vm.warp(block.timestamp + 12 hours);
        uint64 restartedUnlockAt = uint64(block.timestamp) + COOLDOWN;

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.UnstakeRequested(alice, 5 ether, 15 ether, restartedUnlockAt);
        _requestUnstake(alice, 5 ether);

        assertEq(_pending(alice), 15 ether);
        assertEq(_unlockAt(alice), restartedUnlockAt);
    }

    function test_requestUnstake_LeavesOtherNodesCooldownAlone() public {
        _stake(alice, 40 ether);
        _stake(bob, 40 ether);
        _requestUnstake(bob, 10 ether);
        uint64 bobUnlockAt = _unlockAt(bob);

        vm.warp(block.timestamp + 20 hours);
        _requestUnstake(alice, 10 ether);

        assertEq(_unlockAt(bob), bobUnlockAt);
        assertEq(_pending(bob), 10 ether);
        vm.warp(bobUnlockAt);
        vm.prank(bob);
        staking.withdraw();
        assertEq(token.balanceOf(bob), NODE_FUNDS - 30 ether);
    }

    function test_requestUnstake_UsesCooldownInForceAtRequest() public {
        _stake(alice, 40 ether);
        vm.prank(admin);
        staking.setCooldown(1 hours);
        _requestUnstake(alice, 10 ether);
        assertEq(_unlockAt(alice), block.timestamp + 1 hours);
    }

    function test_requestUnstake_RevertWhen_AmountIsZero() public {
        _stake(alice, 40 ether);
        vm.expectRevert(IFedShieldStaking.ZeroAmount.selector);
        _requestUnstake(alice, 0);
    }

    function test_requestUnstake_RevertWhen_AmountExceedsStake() public {
        _stake(alice, 40 ether);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.InsufficientStake.selector, 41 ether, 40 ether));
        _requestUnstake(alice, 41 ether);
    }

    function test_requestUnstake_RevertWhen_NothingStaked() public {
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.InsufficientStake.selector, 1, 0));
        _requestUnstake(alice, 1);
    }

    function test_requestUnstake_RevertWhen_PendingIsNotStake() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 40 ether);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.InsufficientStake.selector, 1 ether, 0));
        _requestUnstake(alice, 1 ether);
    }

    // ------------------------------------------------------------------ withdraw

    function test_withdraw_PaysWholePendingAfterCooldown() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 10 ether);
        _requestUnstake(alice, 5 ether);
        vm.warp(_unlockAt(alice));

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Withdrawn(alice, 15 ether);
        vm.prank(alice);
        staking.withdraw();

        assertEq(token.balanceOf(alice), NODE_FUNDS - 25 ether);
        assertEq(_pending(alice), 0);
        assertEq(_unlockAt(alice), 0);
        assertEq(staking.stakeOf(alice), 25 ether);
        assertEq(staking.totalPending(), 0);
        _assertBacked();
    }

    function test_withdraw_RevertWhen_NothingPending() public {
        _stake(alice, 40 ether);
        vm.expectRevert(IFedShieldStaking.NothingToWithdraw.selector);
        vm.prank(alice);
        staking.withdraw();
    }

    function test_withdraw_RevertWhen_AlreadyWithdrawn() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 10 ether);
        vm.warp(_unlockAt(alice));
        vm.startPrank(alice);
        staking.withdraw();
        vm.expectRevert(IFedShieldStaking.NothingToWithdraw.selector);
        staking.withdraw();
        vm.stopPrank();
    }

    function test_withdraw_RevertWhen_CooldownActive() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 10 ether);
        uint64 unlockAt = _unlockAt(alice);
        vm.warp(unlockAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.CooldownActive.selector, unlockAt, unlockAt - 1));
        vm.prank(alice);
        staking.withdraw();
    }

    function test_withdraw_RevertWhen_CooldownRestartedByLaterRequest() public {
        _stake(alice, 40 ether);
        _requestUnstake(alice, 10 ether);
        vm.warp(block.timestamp + COOLDOWN - 1);
        _requestUnstake(alice, 1 ether);
        uint64 unlockAt = _unlockAt(alice);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IFedShieldStaking.CooldownActive.selector, unlockAt, uint64(block.timestamp))
        );
        vm.prank(alice);
        staking.withdraw();
    }

    // ------------------------------------------------------------------ settleRound

    function test_settleRound_RewardsSlashesRecordsAndEmits() public {
        _stake(alice, 20 ether);
        _stake(bob, 20 ether);
        _stake(carol, 20 ether);
        _stake(dave, 20 ether);
        address[] memory accepted = _list(alice, bob);
        address[] memory slashed = _list(carol, dave);

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, SLASH);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, dave, SLASH);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RewardPaid(1, alice, REWARD);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RewardPaid(1, bob, REWARD);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RoundSettled(1, MODEL_HASH, RESULTS_ROOT, 2, 2, 2 * SLASH);
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, accepted, slashed);

        assertEq(staking.lastRoundId(), 1);
        assertEq(staking.roundModelHash(1), MODEL_HASH);
        assertEq(staking.roundModelHash(2), bytes32(0));
        assertEq(token.balanceOf(alice), NODE_FUNDS - 20 ether + REWARD);
        assertEq(token.balanceOf(bob), NODE_FUNDS - 20 ether + REWARD);
        assertEq(staking.stakeOf(carol), 20 ether - SLASH);
        assertEq(staking.stakeOf(dave), 20 ether - SLASH);
        assertEq(token.balanceOf(treasury), 2 * SLASH);
        assertEq(token.totalSupply(), INITIAL_SUPPLY + 2 * REWARD);
        assertEq(staking.totalStaked(), 80 ether - 2 * SLASH);
        _assertBacked();
    }

    function test_settleRound_SendsSlashedTotalToTreasuryInOneTransfer() public {
        _stake(carol, 20 ether);
        _stake(dave, 20 ether);
        vm.expectCall(address(token), abi.encodeCall(token.transfer, (treasury, 2 * SLASH)), 1);
        _settle(_list(), _list(carol, dave));
    }

    function test_settleRound_MintsAllRewardsInOneCall() public {
        address[] memory accepted = _list(alice, bob);
        vm.expectCall(address(token), abi.encodeCall(token.mintBatch, (accepted, REWARD)), 1);
        _settle(accepted, _list());
    }

    function test_settleRound_SlashCappedAtStakePlusPending() public {
        _stake(carol, 10 ether);
        _requestUnstake(carol, 4 ether);

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, 10 ether);
        _settle(_list(), _list(carol));

        assertEq(staking.stakeOf(carol), 0);
        assertEq(_pending(carol), 0);
        assertEq(_unlockAt(carol), 0, "nothing pending, nothing to unlock");
        assertEq(token.balanceOf(treasury), 10 ether);
        _assertBacked();
    }

    function test_settleRound_SlashTakesStakeBeforePending() public {
        _stake(carol, 20 ether);
        _requestUnstake(carol, 10 ether);
        _settle(_list(), _list(carol));
        assertEq(staking.stakeOf(carol), 0);
        assertEq(_pending(carol), 5 ether);
        assertEq(staking.totalStaked(), 0);
        assertEq(staking.totalPending(), 5 ether);
        _assertBacked();
    }

    function test_settleRound_SlashReachesPendingDuringCooldown() public {
        _stake(carol, 20 ether);
        _requestUnstake(carol, 20 ether);
        uint64 unlockAt = _unlockAt(carol);
        vm.warp(unlockAt - 1);

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, SLASH);
        _settle(_list(), _list(carol));

        assertEq(_pending(carol), 5 ether);
        assertEq(_unlockAt(carol), unlockAt, "slash leaves the cooldown alone");
        vm.warp(unlockAt);
        vm.prank(carol);
        staking.withdraw();
        assertEq(token.balanceOf(carol), NODE_FUNDS - SLASH);
    }

    function test_settleRound_SlashOfNodeWithNothingTakesZero() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, 0);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RoundSettled(1, keccak256(abi.encode("model", uint256(1))), RESULTS_ROOT, 0, 1, 0);
        _settle(_list(), _list(carol));
        assertEq(token.balanceOf(treasury), 0);
    }

    function test_settleRound_TopUpAfterUnstakeCannotEscapeSlash() public {
        _stake(carol, 20 ether);
        _requestUnstake(carol, 20 ether);
        _stake(carol, 2 ether);
        _settle(_list(), _list(carol));
        // 2 from the fresh stake, then 13 from the pending bucket.
        assertEq(staking.stakeOf(carol), 0);
        assertEq(_pending(carol), 20 ether + 2 ether - SLASH);
        assertEq(token.balanceOf(treasury), SLASH);
    }

    function test_settleRound_RestakeAndUnstakeSequenceCannotEscapeSlash() public {
        _stake(carol, 30 ether);
        _requestUnstake(carol, 10 ether);
        _requestUnstake(carol, 10 ether);
        _requestUnstake(carol, 9 ether);
        vm.warp(block.timestamp + COOLDOWN - 1);
        _settle(_list(), _list(carol));
        assertEq(token.balanceOf(treasury), SLASH);
        assertEq(staking.stakeOf(carol) + _pending(carol), 30 ether - SLASH);

        vm.warp(_unlockAt(carol));
        vm.prank(carol);
        staking.withdraw();
        assertEq(token.balanceOf(carol), NODE_FUNDS - SLASH - staking.stakeOf(carol));
        _assertBacked();
    }

    function test_settleRound_WithdrawnFundsAreBeyondLaterSlash() public {
        _stake(carol, 20 ether);
        _requestUnstake(carol, 12 ether);
        vm.warp(_unlockAt(carol));
        vm.prank(carol);
        staking.withdraw();

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, 8 ether);
        _settle(_list(), _list(carol));
        assertEq(token.balanceOf(carol), NODE_FUNDS - 8 ether);
    }

    function test_settleRound_EmptyRoundRecordsModelOnly() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RoundSettled(1, MODEL_HASH, RESULTS_ROOT, 0, 0, 0);
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(), _list());
        assertEq(staking.roundModelHash(1), MODEL_HASH);
        assertEq(token.totalSupply(), INITIAL_SUPPLY);
    }

    function test_settleRound_ZeroRewardSkipsMint() public {
        vm.prank(admin);
        staking.setRewardAmount(0);
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RewardPaid(1, alice, 0);
        _settle(_list(alice), _list());
        assertEq(token.totalSupply(), INITIAL_SUPPLY);
    }

    function test_settleRound_SameNodeAcrossConsecutiveRounds() public {
        _stake(carol, 40 ether);
        _settle(_list(alice), _list(carol));
        _settle(_list(alice), _list(carol));
        assertEq(token.balanceOf(alice), NODE_FUNDS + 2 * REWARD);
        assertEq(staking.stakeOf(carol), 40 ether - 2 * SLASH);
        assertEq(staking.lastRoundId(), 2);
    }

    function test_settleRound_UsesUpdatedAmounts() public {
        _stake(carol, 40 ether);
        vm.startPrank(admin);
        staking.setRewardAmount(1 ether);
        staking.setSlashAmount(3 ether);
        vm.stopPrank();
        _settle(_list(alice), _list(carol));
        assertEq(token.balanceOf(alice), NODE_FUNDS + 1 ether);
        assertEq(staking.stakeOf(carol), 37 ether);
    }

    function test_settleRound_RevertWhen_CallerNotOrchestrator() public {
        bytes32 role = staking.ORCHESTRATOR_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());
    }

    function test_settleRound_RevertWhen_RoundReplayed() public {
        _settle(_list(alice), _list());
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.RoundOutOfOrder.selector, 2, 1));
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());
    }

    function test_settleRound_RevertWhen_RoundSkipped() public {
        _settle(_list(alice), _list());
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.RoundOutOfOrder.selector, 2, 3));
        vm.prank(orchestrator);
        staking.settleRound(3, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());
    }

    function test_settleRound_RevertWhen_FirstRoundIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.RoundOutOfOrder.selector, 1, 0));
        vm.prank(orchestrator);
        staking.settleRound(0, MODEL_HASH, RESULTS_ROOT, _list(), _list());
    }

    function test_settleRound_RevertWhen_ModelHashIsZero() public {
        vm.expectRevert(IFedShieldStaking.ZeroModelHash.selector);
        vm.prank(orchestrator);
        staking.settleRound(1, bytes32(0), RESULTS_ROOT, _list(alice), _list());
    }

    function test_settleRound_RevertWhen_NodeRepeatedInAccepted() public {
        address[] memory accepted = _list(alice, alice);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.DuplicateNode.selector, alice));
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, accepted, _list());
    }

    function test_settleRound_RevertWhen_NodeRepeatedInSlashed() public {
        _stake(carol, 40 ether);
        address[] memory slashed = _list(carol, carol);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.DuplicateNode.selector, carol));
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(), slashed);
    }

    function test_settleRound_RevertWhen_NodeBothAcceptedAndSlashed() public {
        _stake(carol, 40 ether);
        vm.expectRevert(abi.encodeWithSelector(IFedShieldStaking.DuplicateNode.selector, carol));
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(carol), _list(carol));
    }

    function test_settleRound_RevertWhen_StakingIsNotMinter() public {
        bytes32 minterRole = token.MINTER_ROLE();
        vm.prank(admin);
        token.revokeRole(minterRole, address(staking));
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(staking), minterRole
            )
        );
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());
    }

    function test_settleRound_RevertWhen_AcceptedNodeIsZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(address(0)), _list());
    }

    // ------------------------------------------------------------------ eligibility

    function test_isEligible_FlipsAroundMinStake() public {
        assertFalse(staking.isEligible(alice));
        _stake(alice, MIN_STAKE);
        assertTrue(staking.isEligible(alice));

        _requestUnstake(alice, 1);
        assertFalse(staking.isEligible(alice), "pending does not count");

        _stake(alice, 1);
        assertTrue(staking.isEligible(alice));

        vm.prank(admin);
        staking.setMinStake(MIN_STAKE + 1);
        assertFalse(staking.isEligible(alice), "raised minimum");
    }

    function test_isEligible_FalseAfterSlashBelowMinStake() public {
        _stake(carol, 20 ether);
        assertTrue(staking.isEligible(carol));
        _settle(_list(), _list(carol));
        assertFalse(staking.isEligible(carol));
    }

    function test_isEligible_FalseWithoutStakeEvenWhenMinStakeIsZero() public {
        vm.prank(admin);
        staking.setMinStake(0);
        assertFalse(staking.isEligible(alice));
        _stake(alice, 1);
        assertTrue(staking.isEligible(alice));
    }

    // ------------------------------------------------------------------ admin setters

    function test_setRewardAmount_UpdatesAndEmits() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RewardAmountUpdated(REWARD, 7 ether);
        vm.prank(admin);
        staking.setRewardAmount(7 ether);
        assertEq(staking.rewardAmount(), 7 ether);
    }

    function test_setRewardAmount_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(orchestrator);
        vm.prank(orchestrator);
        staking.setRewardAmount(7 ether);
    }

    function test_setSlashAmount_UpdatesAndEmits() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.SlashAmountUpdated(SLASH, 30 ether);
        vm.prank(admin);
        staking.setSlashAmount(30 ether);
        assertEq(staking.slashAmount(), 30 ether);
    }

    function test_setSlashAmount_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(stranger);
        vm.prank(stranger);
        staking.setSlashAmount(30 ether);
    }

    function test_setMinStake_UpdatesAndEmits() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.MinStakeUpdated(MIN_STAKE, 50 ether);
        vm.prank(admin);
        staking.setMinStake(50 ether);
        assertEq(staking.minStake(), 50 ether);
    }

    function test_setMinStake_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(stranger);
        vm.prank(stranger);
        staking.setMinStake(50 ether);
    }

    function test_setCooldown_UpdatesAndEmits() public {
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.CooldownUpdated(COOLDOWN, 2 hours);
        vm.prank(admin);
        staking.setCooldown(2 hours);
        assertEq(staking.cooldown(), 2 hours);
    }

    function test_setCooldown_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(stranger);
        vm.prank(stranger);
        staking.setCooldown(2 hours);
    }

    function test_setTreasury_UpdatesAndEmitsAndReceivesSlashes() public {
        address newTreasury = makeAddr("new treasury");
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.TreasuryUpdated(treasury, newTreasury);
        vm.prank(admin);
        staking.setTreasury(newTreasury);
        assertEq(staking.treasury(), newTreasury);

        _stake(carol, 20 ether);
        _settle(_list(), _list(carol));
        assertEq(token.balanceOf(newTreasury), SLASH);
        assertEq(token.balanceOf(treasury), 0);
    }

    function test_setTreasury_RevertWhen_ZeroAddress() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        vm.prank(admin);
        staking.setTreasury(address(0));
    }

    function test_setTreasury_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(stranger);
        vm.prank(stranger);
        staking.setTreasury(stranger);
    }

    function test_setOrchestrator_MovesRoleAndEmits() public {
        address newOrchestrator = makeAddr("new orchestrator");
        bytes32 role = staking.ORCHESTRATOR_ROLE();
        vm.expectEmit(address(staking));
        emit IFedShieldStaking.OrchestratorUpdated(orchestrator, newOrchestrator);
        vm.prank(admin);
        staking.setOrchestrator(newOrchestrator);

        assertEq(staking.orchestrator(), newOrchestrator);
        assertTrue(staking.hasRole(role, newOrchestrator));
        assertFalse(staking.hasRole(role, orchestrator));

        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, orchestrator, role)
        );
        vm.prank(orchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());

        vm.prank(newOrchestrator);
        staking.settleRound(1, MODEL_HASH, RESULTS_ROOT, _list(alice), _list());
        assertEq(staking.lastRoundId(), 1);
    }

    function test_setOrchestrator_ToSameAccountKeepsRole() public {
        vm.prank(admin);
        staking.setOrchestrator(orchestrator);
        assertTrue(staking.hasRole(staking.ORCHESTRATOR_ROLE(), orchestrator));
    }

    function test_setOrchestrator_RevertWhen_ZeroAddress() public {
        vm.expectRevert(IFedShieldStaking.ZeroAddress.selector);
        vm.prank(admin);
        staking.setOrchestrator(address(0));
    }

    function test_setOrchestrator_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(orchestrator);
        vm.prank(orchestrator);
        staking.setOrchestrator(stranger);
    }

    function test_grantRevokeRenounce_RevertWhen_OrchestratorRole() public {
        bytes32 role = staking.ORCHESTRATOR_ROLE();
        bytes4 refused = IFedShieldStaking.OrchestratorRoleNotTransferable.selector;
        vm.startPrank(admin);
        vm.expectRevert(refused);
        staking.grantRole(role, stranger);
        vm.expectRevert(refused);
        staking.revokeRole(role, orchestrator);
        vm.stopPrank();
        vm.expectRevert(refused);
        vm.prank(orchestrator);
        staking.renounceRole(role, orchestrator);

        assertFalse(staking.hasRole(role, stranger));
        assertTrue(staking.hasRole(role, orchestrator));
        assertEq(staking.orchestrator(), orchestrator);
    }

    function test_grantRole_OtherRolesWorkAsAccessControl() public {
        vm.prank(admin);
        staking.grantRole(DEFAULT_ADMIN_ROLE, stranger);
        assertTrue(staking.hasRole(DEFAULT_ADMIN_ROLE, stranger));
        vm.prank(stranger);
        staking.revokeRole(DEFAULT_ADMIN_ROLE, admin);
        assertFalse(staking.hasRole(DEFAULT_ADMIN_ROLE, admin));
        vm.prank(stranger);
        staking.renounceRole(DEFAULT_ADMIN_ROLE, stranger);
        assertFalse(staking.hasRole(DEFAULT_ADMIN_ROLE, stranger));
    }

    function test_grantRole_RevertWhen_CallerNotAdmin() public {
        _expectNotAdmin(stranger);
        vm.prank(stranger);
        staking.grantRole(DEFAULT_ADMIN_ROLE, stranger);
    }

    function testFuzz_orchestrator_IsTheOneRoleHolder(address[3] calldata moves) public {
        bytes32 role = staking.ORCHESTRATOR_ROLE();
        address previous = orchestrator;
        for (uint256 i; i < moves.length; ++i) {
            vm.assume(moves[i] != address(0));
            vm.prank(admin);
            staking.setOrchestrator(moves[i]);
            if (previous != moves[i]) assertFalse(staking.hasRole(role, previous));
            assertTrue(staking.hasRole(role, moves[i]));
            assertEq(staking.orchestrator(), moves[i]);
            previous = moves[i];
        }
    }

    function _expectNotAdmin(address caller) private {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, caller, DEFAULT_ADMIN_ROLE)
        );
    }
}
