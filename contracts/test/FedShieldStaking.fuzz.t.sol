// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedShieldStaking} from "../src/interfaces/IFedShieldStaking.sol";
import {BaseTest} from "./BaseTest.sol";

contract FedShieldStakingFuzzTest is BaseTest {
    function testFuzz_stake(uint256 first, uint256 second) public {
        first = bound(first, 1, NODE_FUNDS - 1);
        second = bound(second, 1, NODE_FUNDS - first);
        _stake(alice, first);
        _stake(alice, second);
        assertEq(staking.stakeOf(alice), first + second);
        assertEq(token.balanceOf(alice), NODE_FUNDS - first - second);
        assertEq(staking.isEligible(alice), first + second >= MIN_STAKE);
        _assertBacked();
    }

    function testFuzz_requestUnstake(uint256 stakeAmount, uint256 unstakeAmount) public {
        stakeAmount = bound(stakeAmount, 1, NODE_FUNDS);
        unstakeAmount = bound(unstakeAmount, 1, stakeAmount);
        _stake(alice, stakeAmount);
        _requestUnstake(alice, unstakeAmount);
        assertEq(staking.stakeOf(alice), stakeAmount - unstakeAmount);
        assertEq(_pending(alice), unstakeAmount);
        assertEq(_unlockAt(alice), block.timestamp + COOLDOWN);
        _assertBacked();
    }

    function testFuzz_requestUnstake_RevertWhen_AmountExceedsStake(uint256 stakeAmount, uint256 unstakeAmount) public {
        stakeAmount = bound(stakeAmount, 1, NODE_FUNDS);
        unstakeAmount = bound(unstakeAmount, stakeAmount + 1, type(uint256).max);
        _stake(alice, stakeAmount);
        vm.expectRevert(
            abi.encodeWithSelector(IFedShieldStaking.InsufficientStake.selector, unstakeAmount, stakeAmount)
        );
        _requestUnstake(alice, unstakeAmount);
    }

    function testFuzz_withdraw(uint256 stakeAmount, uint256 unstakeAmount, uint256 waited) public {
        stakeAmount = bound(stakeAmount, 1, NODE_FUNDS);
        unstakeAmount = bound(unstakeAmount, 1, stakeAmount);
        waited = bound(waited, 0, 3 * uint256(COOLDOWN));
        _stake(alice, stakeAmount);
        _requestUnstake(alice, unstakeAmount);
        uint64 unlockAt = _unlockAt(alice);
        vm.warp(block.timestamp + waited);

        if (waited < COOLDOWN) {
            vm.expectRevert(
                abi.encodeWithSelector(IFedShieldStaking.CooldownActive.selector, unlockAt, uint64(block.timestamp))
            );
        }
        vm.prank(alice);
        staking.withdraw();

        if (waited >= COOLDOWN) {
            assertEq(token.balanceOf(alice), NODE_FUNDS - stakeAmount + unstakeAmount);
            assertEq(_pending(alice), 0);
        }
        _assertBacked();
    }

    function testFuzz_settleRound_SlashTakesMinOfSlashAndHoldings(
        uint256 stakeAmount,
        uint256 unstakeAmount,
        uint256 slashAmount
    ) public {
        stakeAmount = bound(stakeAmount, 1, NODE_FUNDS);
        unstakeAmount = bound(unstakeAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, 0, 2 * NODE_FUNDS);
        _stake(carol, stakeAmount);
        if (unstakeAmount > 0) _requestUnstake(carol, unstakeAmount);
        vm.prank(admin);
        staking.setSlashAmount(slashAmount);

        uint256 held = stakeAmount;
        uint256 expectedTaken = slashAmount < held ? slashAmount : held;
        uint256 activeStake = stakeAmount - unstakeAmount;
        uint256 fromStake = expectedTaken < activeStake ? expectedTaken : activeStake;

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.Slashed(1, carol, expectedTaken);
        _settle(_list(), _list(carol));

        assertEq(token.balanceOf(treasury), expectedTaken);
        assertEq(staking.stakeOf(carol), activeStake - fromStake);
        assertEq(_pending(carol), unstakeAmount - (expectedTaken - fromStake));
        _assertBacked();
    }

    /// @dev Random cohort: each node gets a random stake and pending amount, then is accepted, slashed or absent.
    function testFuzz_settleRound_RandomSets(uint256 seed, uint256 nodeCount, uint256 rewardAmount) public {
        nodeCount = bound(nodeCount, 0, 40);
        rewardAmount = bound(rewardAmount, 0, 100 ether);
        vm.prank(admin);
        staking.setRewardAmount(rewardAmount);

        address[] memory nodes = new address[](nodeCount);
        uint8[] memory role = new uint8[](nodeCount); // 0 absent, 1 accepted, 2 slashed
        uint256 acceptedCount;
        uint256 slashedCount;
        for (uint256 i; i < nodeCount; ++i) {
            nodes[i] = address(uint160(uint256(keccak256(abi.encode(seed, i)))));
            uint256 stakeAmount = uint256(keccak256(abi.encode(seed, i, "stake"))) % 40 ether;
            uint256 pendingAmount =
                stakeAmount == 0 ? 0 : uint256(keccak256(abi.encode(seed, i, "pending"))) % stakeAmount;
            _fundAndStake(nodes[i], stakeAmount, pendingAmount);
            role[i] = uint8(uint256(keccak256(abi.encode(seed, i, "role"))) % 3);
            if (role[i] == 1) ++acceptedCount;
            if (role[i] == 2) ++slashedCount;
        }

        address[] memory accepted = new address[](acceptedCount);
        address[] memory slashed = new address[](slashedCount);
        uint256[] memory heldBefore = new uint256[](nodeCount);
        uint256[] memory walletBefore = new uint256[](nodeCount);
        uint256 expectedSlashed;
        (acceptedCount, slashedCount) = (0, 0);
        for (uint256 i; i < nodeCount; ++i) {
            heldBefore[i] = staking.stakeOf(nodes[i]) + _pending(nodes[i]);
            walletBefore[i] = token.balanceOf(nodes[i]);
            if (role[i] == 1) accepted[acceptedCount++] = nodes[i];
            if (role[i] == 2) {
                slashed[slashedCount++] = nodes[i];
                expectedSlashed += heldBefore[i] < SLASH ? heldBefore[i] : SLASH;
            }
        }
        uint256 supplyBefore = token.totalSupply();

        vm.expectEmit(address(staking));
        emit IFedShieldStaking.RoundSettled(
            1, keccak256(abi.encode("model", uint256(1))), RESULTS_ROOT, acceptedCount, slashedCount, expectedSlashed
        );
        _settle(accepted, slashed);

        for (uint256 i; i < nodeCount; ++i) {
            uint256 held = staking.stakeOf(nodes[i]) + _pending(nodes[i]);
            uint256 wallet = token.balanceOf(nodes[i]);
            if (role[i] == 2) {
                assertEq(held, heldBefore[i] - (heldBefore[i] < SLASH ? heldBefore[i] : SLASH), "slashed holdings");
            } else {
                assertEq(held, heldBefore[i], "untouched holdings");
            }
            assertEq(wallet, walletBefore[i] + (role[i] == 1 ? rewardAmount : 0), "wallet");
        }
        assertEq(token.balanceOf(treasury), expectedSlashed);
        assertEq(token.totalSupply(), supplyBefore + rewardAmount * acceptedCount);
        _assertBacked();
    }

    function _fundAndStake(address node, uint256 stakeAmount, uint256 pendingAmount) private {
        if (stakeAmount == 0) return;
        _fundAndApprove(node, stakeAmount);
        _stake(node, stakeAmount);
        if (pendingAmount > 0) _requestUnstake(node, pendingAmount);
    }
}
