// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title IFedShieldStaking
/// @notice Staking and round settlement for FedShield federated learning. Nodes stake FLT to take part;
///         the orchestrator settles each training round in one transaction that mints a reward to every
///         node whose update was accepted and slashes the stake of every node caught attacking.
/// @dev Unstaking goes through a per-node pending bucket with a cooldown, during which the pending amount
///      can still be slashed. Only ORCHESTRATOR_ROLE may settle (OpenZeppelin's
///      `AccessControlUnauthorizedAccount` otherwise); only DEFAULT_ADMIN_ROLE may change parameters.
interface IFedShieldStaking is IAccessControl {
    // ------------------------------------------------------------------ errors

    /// @notice Thrown when an amount that must be positive is zero.
    error ZeroAmount();

    /// @notice Thrown when an address that must be set is the zero address.
    error ZeroAddress();

    /// @notice Thrown when a node asks to unstake more than it has staked.
    /// @param requested Amount asked for.
    /// @param available The node's current stake.
    error InsufficientStake(uint256 requested, uint256 available);

    /// @notice Thrown when a node calls `withdraw` with nothing pending.
    error NothingToWithdraw();

    /// @notice Thrown when a node calls `withdraw` before its cooldown has ended.
    /// @param unlockAt Timestamp from which the pending amount can be withdrawn.
    /// @param currentTime The current block timestamp.
    error CooldownActive(uint64 unlockAt, uint64 currentTime);

    /// @notice Thrown when a round is settled out of sequence (replayed or skipped).
    /// @param expected The only round id that can be settled now (`lastRoundId() + 1`).
    /// @param given The round id that was passed.
    error RoundOutOfOrder(uint256 expected, uint256 given);

    /// @notice Thrown when a round is settled without the hash of its aggregated model.
    error ZeroModelHash();

    /// @notice Thrown when a node appears more than once across a round's accepted and slashed lists.
    /// @param node The repeated node.
    error DuplicateNode(address node);

    /// @notice Thrown when ORCHESTRATOR_ROLE is granted, revoked or renounced through AccessControl directly. It
    ///         moves only through `setOrchestrator`, so that `orchestrator()` always names its one holder.
    error OrchestratorRoleNotTransferable();

    // ------------------------------------------------------------------ events

    /// @notice Emitted when a node adds to its stake.
    /// @param node The staking node.
    /// @param amount Amount added.
    /// @param newStake The node's stake after the top-up.
    event Staked(address indexed node, uint256 amount, uint256 newStake);

    /// @notice Emitted when a node moves stake into its pending withdrawal bucket.
    /// @param node The node.
    /// @param amount Amount moved out of the stake.
    /// @param pendingTotal The node's whole pending amount after this request.
    /// @param unlockAt Timestamp from which the whole pending amount can be withdrawn.
    event UnstakeRequested(address indexed node, uint256 amount, uint256 pendingTotal, uint64 unlockAt);

    /// @notice Emitted when a node withdraws its pending amount.
    /// @param node The node.
    /// @param amount Amount paid out.
    event Withdrawn(address indexed node, uint256 amount);

    /// @notice Emitted for each node rewarded in a round.
    /// @param roundId The settled round.
    /// @param node The rewarded node.
    /// @param amount FLT minted to the node.
    event RewardPaid(uint256 indexed roundId, address indexed node, uint256 amount);

    /// @notice Emitted for each node slashed in a round.
    /// @param roundId The settled round.
    /// @param node The slashed node.
    /// @param amount FLT actually taken: the slash amount capped at the node's stake plus pending.
    event Slashed(uint256 indexed roundId, address indexed node, uint256 amount);

    /// @notice Emitted once per settled round, after its rewards and slashes.
    /// @param roundId The settled round.
    /// @param modelHash keccak256 of the global model produced by the round.
    /// @param resultsRoot Commitment to the round's full results (verdicts, metrics); kept in this log only.
    /// @param rewardedCount Number of nodes rewarded.
    /// @param slashedCount Number of nodes slashed.
    /// @param totalSlashed FLT taken from all slashed nodes and sent to the treasury.
    event RoundSettled(
        uint256 indexed roundId,
        bytes32 modelHash,
        bytes32 resultsRoot,
        uint256 rewardedCount,
        uint256 slashedCount,
        uint256 totalSlashed
    );

    /// @notice Emitted when the per-round reward changes.
    event RewardAmountUpdated(uint256 previous, uint256 current);

    /// @notice Emitted when the per-offence slash changes.
    event SlashAmountUpdated(uint256 previous, uint256 current);

    /// @notice Emitted when the minimum stake for eligibility changes.
    event MinStakeUpdated(uint256 previous, uint256 current);

    /// @notice Emitted when the unstaking cooldown changes.
    event CooldownUpdated(uint64 previous, uint64 current);

    /// @notice Emitted when the treasury that receives slashed FLT changes.
    event TreasuryUpdated(address previous, address current);

    /// @notice Emitted when the orchestrator allowed to settle rounds changes.
    event OrchestratorUpdated(address previous, address current);

    // ------------------------------------------------------------------ node actions

    /// @notice Stakes `amount` FLT from the caller, who must have approved this contract first.
    /// @param amount Amount to stake, in wei; must be positive.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of the caller's stake into its pending bucket and restarts the caller's cooldown.
    /// @dev Pending FLT no longer counts towards eligibility but can still be slashed until withdrawn.
    /// @param amount Amount to unstake, in wei; must be positive and at most the caller's stake.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the caller its whole pending amount once its cooldown has ended.
    function withdraw() external;

    // ------------------------------------------------------------------ settlement

    /// @notice Settles round `roundId`: records its model hash, rewards every accepted node and slashes every
    ///         slashed node, sending the slashed FLT to the treasury.
    /// @dev Only ORCHESTRATOR_ROLE. `roundId` must be `lastRoundId() + 1` (rounds start at 1), so a replay or
    ///      a skipped round reverts. A node may appear only once across both lists.
    /// @param roundId The round being settled.
    /// @param modelHash keccak256 of the round's aggregated global model; must be non-zero.
    /// @param resultsRoot Commitment to the round's results, emitted in `RoundSettled` and not stored.
    /// @param accepted Nodes whose updates were accepted; each is minted `rewardAmount()`.
    /// @param slashed Nodes caught attacking; each loses up to `slashAmount()`, from stake first, then pending.
    function settleRound(
        uint256 roundId,
        bytes32 modelHash,
        bytes32 resultsRoot,
        address[] calldata accepted,
        address[] calldata slashed
    ) external;

    // ------------------------------------------------------------------ admin

    /// @notice Sets the FLT minted to each accepted node per round. Only DEFAULT_ADMIN_ROLE.
    /// @param newRewardAmount New reward, in wei.
    function setRewardAmount(uint256 newRewardAmount) external;

    /// @notice Sets the FLT taken from each slashed node per round. Only DEFAULT_ADMIN_ROLE.
    /// @param newSlashAmount New slash, in wei.
    function setSlashAmount(uint256 newSlashAmount) external;

    /// @notice Sets the minimum stake a node needs to be eligible. Only DEFAULT_ADMIN_ROLE.
    /// @param newMinStake New minimum, in wei.
    function setMinStake(uint256 newMinStake) external;

    /// @notice Sets the delay between an unstake request and its withdrawal. Only DEFAULT_ADMIN_ROLE.
    /// @dev Applies to requests made afterwards; a zero cooldown lets a node withdraw before a pending slash lands.
    /// @param newCooldown New cooldown, in seconds.
    function setCooldown(uint64 newCooldown) external;

    /// @notice Sets the address that receives slashed FLT. Only DEFAULT_ADMIN_ROLE.
    /// @param newTreasury New treasury; must be non-zero.
    function setTreasury(address newTreasury) external;

    /// @notice Moves ORCHESTRATOR_ROLE from the current orchestrator to `newOrchestrator`. Only DEFAULT_ADMIN_ROLE.
    /// @dev The only way the role changes hands: `grantRole`, `revokeRole` and `renounceRole` refuse it with
    ///      `OrchestratorRoleNotTransferable`.
    /// @param newOrchestrator New orchestrator; must be non-zero.
    function setOrchestrator(address newOrchestrator) external;

    // ------------------------------------------------------------------ views

    /// @notice The role allowed to settle rounds: `keccak256("ORCHESTRATOR_ROLE")`.
    function ORCHESTRATOR_ROLE() external view returns (bytes32);

    /// @notice The FLT token staked, rewarded and slashed here.
    function token() external view returns (address);

    /// @notice The active stake of `node` (excluding its pending withdrawal).
    function stakeOf(address node) external view returns (uint256);

    /// @notice The pending withdrawal of `node` and the timestamp from which it can be withdrawn.
    /// @return amount Pending FLT, in wei.
    /// @return unlockAt Timestamp from which `withdraw` succeeds; zero when nothing is pending.
    function pendingWithdrawalOf(address node) external view returns (uint256 amount, uint64 unlockAt);

    /// @notice Whether `node` has a positive stake of at least `minStake()`.
    function isEligible(address node) external view returns (bool);

    /// @notice The model hash recorded when round `roundId` was settled; zero if it has not been.
    function roundModelHash(uint256 roundId) external view returns (bytes32);

    /// @notice The last settled round id; zero before the first settlement.
    function lastRoundId() external view returns (uint256);

    /// @notice FLT minted to each accepted node per round, in wei.
    function rewardAmount() external view returns (uint256);

    /// @notice FLT taken from each slashed node per round (capped at what it holds here), in wei.
    function slashAmount() external view returns (uint256);

    /// @notice Minimum stake for eligibility, in wei.
    function minStake() external view returns (uint256);

    /// @notice Delay between an unstake request and its withdrawal, in seconds.
    function cooldown() external view returns (uint64);

    /// @notice The address that receives slashed FLT.
    function treasury() external view returns (address);

    /// @notice The one account holding ORCHESTRATOR_ROLE, set by the constructor and `setOrchestrator` only.
    function orchestrator() external view returns (address);

    /// @notice Sum of all nodes' active stakes.
    function totalStaked() external view returns (uint256);

    /// @notice Sum of all nodes' pending withdrawals.
    function totalPending() external view returns (uint256);
}
