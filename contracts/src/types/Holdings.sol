// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice A node's FLT held by the staking contract: its active stake in the low 128 bits and its pending
///         withdrawal in the high 128 bits of one storage word, so a slash costs one read and one write.
type Holdings is uint256;

using {stakeOf, pendingOf, reducedBy} for Holdings global;

/// @notice Packs `stake` and `pending` into one word.
/// @dev Reverts with OpenZeppelin's `SafeCastOverflowedUintDowncast` if either exceeds 128 bits.
function toHoldings(uint256 stake, uint256 pending) pure returns (Holdings) {
    return Holdings.wrap(uint256(SafeCast.toUint128(stake)) | (uint256(SafeCast.toUint128(pending)) << 128));
}

/// @notice The active stake: counts towards eligibility, can be unstaked and slashed.
function stakeOf(Holdings holdings) pure returns (uint256) {
    return uint128(Holdings.unwrap(holdings));
}

/// @notice The pending withdrawal: waits out its cooldown and can still be slashed.
function pendingOf(Holdings holdings) pure returns (uint256) {
    return Holdings.unwrap(holdings) >> 128;
}

/// @notice `holdings` with `fromStake` taken from the stake and `fromPending` from the pending withdrawal.
/// @dev Reverts on underflow. Needs no range check: both halves only shrink, so they still fit in 128 bits.
function reducedBy(Holdings holdings, uint256 fromStake, uint256 fromPending) pure returns (Holdings) {
    return Holdings.wrap((stakeOf(holdings) - fromStake) | ((pendingOf(holdings) - fromPending) << 128));
}
