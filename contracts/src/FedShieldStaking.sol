// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IFedShieldStaking} from "./interfaces/IFedShieldStaking.sol";
import {IFLToken} from "./interfaces/IFLToken.sol";
import {Holdings, toHoldings} from "./types/Holdings.sol";

/// @title FedShieldStaking
/// @notice Holds node stakes in FLT and settles federated-learning rounds: one transaction per round mints
///         the reward to every accepted node and slashes every attacker, sending the slashed FLT to the treasury.
/// @dev Needs MINTER_ROLE on the token. Settlement iterates only over its calldata lists, never over storage,
///      at roughly 8-10k gas per node, so a 1,000-node round fits one 30M-gas block with room to spare.
contract FedShieldStaking is IFedShieldStaking, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IFLToken;

    /// @inheritdoc IFedShieldStaking
    bytes32 public constant override ORCHESTRATOR_ROLE = keccak256("ORCHESTRATOR_ROLE");

    IFLToken private immutable _token;

    mapping(address node => Holdings) private _holdings;
    mapping(address node => uint64) private _unlockAt;
    mapping(uint256 roundId => bytes32) private _roundModelHash;

    uint256 private _totalStaked;
    uint256 private _totalPending;
    uint256 private _lastRoundId;
    uint256 private _rewardAmount;
    uint256 private _slashAmount;
    uint256 private _minStake;
    address private _treasury;
    uint64 private _cooldown;
    address private _orchestrator;

    /// @param token_ The FLT token; this contract must be granted its MINTER_ROLE to pay rewards.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (parameters and roles).
    /// @param orchestrator_ Holder of ORCHESTRATOR_ROLE (settlement).
    /// @param treasury_ Recipient of slashed FLT.
    constructor(IFLToken token_, address admin, address orchestrator_, address treasury_) {
        if (
            address(token_) == address(0) || admin == address(0) || orchestrator_ == address(0)
                || treasury_ == address(0)
        ) revert ZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ORCHESTRATOR_ROLE, orchestrator_);
        _orchestrator = orchestrator_;
        _treasury = treasury_;
        _rewardAmount = 10 ether;
        _slashAmount = 15 ether;
        _minStake = 10 ether;
        _cooldown = 1 days;
    }

    // ------------------------------------------------------------------ node actions

    /// @inheritdoc IFedShieldStaking
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Holdings holdings = _holdings[msg.sender];
        uint256 newStake = holdings.stakeOf() + amount;
        _holdings[msg.sender] = toHoldings(newStake, holdings.pendingOf());
        _totalStaked += amount;
        emit Staked(msg.sender, amount, newStake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IFedShieldStaking
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Holdings holdings = _holdings[msg.sender];
        uint256 available = holdings.stakeOf();
        if (amount > available) revert InsufficientStake(amount, available);
        uint256 pendingTotal = holdings.pendingOf() + amount;
        uint64 unlockAt = uint64(block.timestamp) + _cooldown;
        _holdings[msg.sender] = toHoldings(available - amount, pendingTotal);
        _unlockAt[msg.sender] = unlockAt;
        _totalStaked -= amount;
        _totalPending += amount;
        emit UnstakeRequested(msg.sender, amount, pendingTotal, unlockAt);
    }

    /// @inheritdoc IFedShieldStaking
    function withdraw() external nonReentrant {
        Holdings holdings = _holdings[msg.sender];
        uint256 amount = holdings.pendingOf();
        if (amount == 0) revert NothingToWithdraw();
        uint64 unlockAt = _unlockAt[msg.sender];
        // A validator's few seconds of timestamp drift do not matter against a cooldown of hours or days.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < unlockAt) revert CooldownActive(unlockAt, uint64(block.timestamp));
        _holdings[msg.sender] = holdings.reducedBy(0, amount);
        delete _unlockAt[msg.sender];
        _totalPending -= amount;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ settlement

    /// @inheritdoc IFedShieldStaking
    function settleRound(
        uint256 roundId,
        bytes32 modelHash,
        bytes32 resultsRoot,
        address[] calldata accepted,
        address[] calldata slashed
    ) external onlyRole(ORCHESTRATOR_ROLE) nonReentrant {
        uint256 expected = _lastRoundId + 1;
        if (roundId != expected) revert RoundOutOfOrder(expected, roundId);
        if (modelHash == bytes32(0)) revert ZeroModelHash();
        _lastRoundId = roundId;
        _roundModelHash[roundId] = modelHash;

        uint256 totalSlashed = _slash(roundId, slashed);

        uint256 reward = _rewardAmount;
        if (accepted.length > 0 && reward > 0) _token.mintBatch(accepted, reward);
        for (uint256 i; i < accepted.length; ++i) {
            address node = accepted[i];
            _markListed(roundId, node);
            emit RewardPaid(roundId, node, reward);
        }

        if (totalSlashed > 0) _token.safeTransfer(_treasury, totalSlashed);
        emit RoundSettled(roundId, modelHash, resultsRoot, accepted.length, slashed.length, totalSlashed);
    }

    /// @dev Takes min(slashAmount, stake + pending) from each node, stake first, emits `Slashed` with the amount
    ///      actually taken, and returns the sum. The node's cooldown is left as it was.
    function _slash(uint256 roundId, address[] calldata slashed) private returns (uint256 totalSlashed) {
        uint256 slashAmount_ = _slashAmount;
        uint256 takenFromStake;
        uint256 takenFromPending;
        for (uint256 i; i < slashed.length; ++i) {
            address node = slashed[i];
            _markListed(roundId, node);
            Holdings holdings = _holdings[node];
            uint256 nodeStake = holdings.stakeOf();
            uint256 nodePending = holdings.pendingOf();
            uint256 fromStake = slashAmount_ < nodeStake ? slashAmount_ : nodeStake;
            uint256 rest = slashAmount_ - fromStake;
            uint256 fromPending = rest < nodePending ? rest : nodePending;
            if (fromStake + fromPending > 0) {
                _holdings[node] = holdings.reducedBy(fromStake, fromPending);
                takenFromStake += fromStake;
                takenFromPending += fromPending;
            }
            emit Slashed(roundId, node, fromStake + fromPending);
        }
        if (takenFromStake > 0) _totalStaked -= takenFromStake;
        if (takenFromPending > 0) _totalPending -= takenFromPending;
        return takenFromStake + takenFromPending;
    }

    /// @dev Reverts with `DuplicateNode` if `node` is already listed in this settlement of round `roundId`. The
    ///      mark lives in transient storage, keyed by the address with the round id in the bits above it (round ids
    ///      count up from 1, far from the reentrancy guard's hashed slot), so it costs ~250 gas, needs no hashing
    ///      and vanishes with the transaction.
    function _markListed(uint256 roundId, address node) private {
        bool listed;
        assembly ("memory-safe") {
            let key := or(shl(160, roundId), node)
            listed := tload(key)
            tstore(key, 1)
        }
        if (listed) revert DuplicateNode(node);
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc IFedShieldStaking
    function setRewardAmount(uint256 newRewardAmount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 previous = _rewardAmount;
        _rewardAmount = newRewardAmount;
        emit RewardAmountUpdated(previous, newRewardAmount);
    }

    /// @inheritdoc IFedShieldStaking
    function setSlashAmount(uint256 newSlashAmount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 previous = _slashAmount;
        _slashAmount = newSlashAmount;
        emit SlashAmountUpdated(previous, newSlashAmount);
    }

    /// @inheritdoc IFedShieldStaking
    function setMinStake(uint256 newMinStake) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 previous = _minStake;
        _minStake = newMinStake;
        emit MinStakeUpdated(previous, newMinStake);
    }

    /// @inheritdoc IFedShieldStaking
    function setCooldown(uint64 newCooldown) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint64 previous = _cooldown;
        _cooldown = newCooldown;
        emit CooldownUpdated(previous, newCooldown);
    }

    /// @inheritdoc IFedShieldStaking
    function setTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newTreasury == address(0)) revert ZeroAddress();
        address previous = _treasury;
        _treasury = newTreasury;
        emit TreasuryUpdated(previous, newTreasury);
    }

    /// @inheritdoc IFedShieldStaking
    function setOrchestrator(address newOrchestrator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newOrchestrator == address(0)) revert ZeroAddress();
        address previous = _orchestrator;
        _revokeRole(ORCHESTRATOR_ROLE, previous);
        _grantRole(ORCHESTRATOR_ROLE, newOrchestrator);
        _orchestrator = newOrchestrator;
        emit OrchestratorUpdated(previous, newOrchestrator);
    }

    /// @notice Grants `role` to `account`, as AccessControl does, except ORCHESTRATOR_ROLE.
    /// @dev ORCHESTRATOR_ROLE moves only through `setOrchestrator`, which keeps `orchestrator()` true.
    function grantRole(bytes32 role, address account) public override(AccessControl, IAccessControl) {
        _refuseOrchestratorRole(role);
        super.grantRole(role, account);
    }

    /// @notice Revokes `role` from `account`, as AccessControl does, except ORCHESTRATOR_ROLE.
    function revokeRole(bytes32 role, address account) public override(AccessControl, IAccessControl) {
        _refuseOrchestratorRole(role);
        super.revokeRole(role, account);
    }

    /// @notice Renounces `role` for the caller, as AccessControl does, except ORCHESTRATOR_ROLE.
    function renounceRole(bytes32 role, address callerConfirmation) public override(AccessControl, IAccessControl) {
        _refuseOrchestratorRole(role);
        super.renounceRole(role, callerConfirmation);
    }

    function _refuseOrchestratorRole(bytes32 role) private pure {
        if (role == ORCHESTRATOR_ROLE) revert OrchestratorRoleNotTransferable();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IFedShieldStaking
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IFedShieldStaking
    function stakeOf(address node) external view returns (uint256) {
        return _holdings[node].stakeOf();
    }

    /// @inheritdoc IFedShieldStaking
    function pendingWithdrawalOf(address node) external view returns (uint256 amount, uint64 unlockAt) {
        amount = _holdings[node].pendingOf();
        // A slash can empty the pending bucket without touching its (then meaningless) unlock time.
        unlockAt = amount == 0 ? 0 : _unlockAt[node];
    }

    /// @inheritdoc IFedShieldStaking
    function isEligible(address node) external view returns (bool) {
        uint256 nodeStake = _holdings[node].stakeOf();
        return nodeStake > 0 && nodeStake >= _minStake;
    }

    /// @inheritdoc IFedShieldStaking
    function roundModelHash(uint256 roundId) external view returns (bytes32) {
        return _roundModelHash[roundId];
    }

    /// @inheritdoc IFedShieldStaking
    function lastRoundId() external view returns (uint256) {
        return _lastRoundId;
    }

    /// @inheritdoc IFedShieldStaking
    function rewardAmount() external view returns (uint256) {
        return _rewardAmount;
    }

    /// @inheritdoc IFedShieldStaking
    function slashAmount() external view returns (uint256) {
        return _slashAmount;
    }

    /// @inheritdoc IFedShieldStaking
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IFedShieldStaking
    function cooldown() external view returns (uint64) {
        return _cooldown;
    }

    /// @inheritdoc IFedShieldStaking
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IFedShieldStaking
    function orchestrator() external view returns (address) {
        return _orchestrator;
    }

    /// @inheritdoc IFedShieldStaking
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IFedShieldStaking
    function totalPending() external view returns (uint256) {
        return _totalPending;
    }
}
