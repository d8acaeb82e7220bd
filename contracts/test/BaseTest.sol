// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IFedShieldStaking} from "../src/interfaces/IFedShieldStaking.sol";
import {IFLToken} from "../src/interfaces/IFLToken.sol";

/// @notice Deploys FLT and the staking contract as the deployment script does, and funds a few nodes.
/// @dev The contracts are deployed from their artifacts (built through the IR pipeline, see foundry.toml) and
///      used through their interfaces, so no test embeds their creation code.
abstract contract BaseTest is Test {
    string internal constant TOKEN_ARTIFACT = "FLToken.sol:FLToken";
    string internal constant STAKING_ARTIFACT = "FedShieldStaking.sol:FedShieldStaking";
    bytes32 internal constant DEFAULT_ADMIN_ROLE = 0x00;

    uint256 internal constant INITIAL_SUPPLY = 1_000_000 ether;
    uint256 internal constant NODE_FUNDS = 1000 ether;
    uint256 internal constant REWARD = 10 ether;
    uint256 internal constant SLASH = 15 ether;
    uint256 internal constant MIN_STAKE = 10 ether;
    uint64 internal constant COOLDOWN = 1 days;

    bytes32 internal constant MODEL_HASH = keccak256("global model, round 1");
    bytes32 internal constant RESULTS_ROOT = keccak256("results, round 1");

    address internal admin = makeAddr("admin");
    address internal orchestrator = makeAddr("orchestrator");
    address internal treasury = makeAddr("treasury");
    address internal stranger = makeAddr("stranger");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");

    IFLToken internal token;
    IFedShieldStaking internal staking;

    function setUp() public virtual {
        token = _deployToken(admin, admin, INITIAL_SUPPLY);
        staking = _deployStaking(address(token), admin, orchestrator, treasury);
        bytes32 minterRole = token.MINTER_ROLE();
        vm.prank(admin);
        token.grantRole(minterRole, address(staking));
        _fundAndApprove(alice, NODE_FUNDS);
        _fundAndApprove(bob, NODE_FUNDS);
        _fundAndApprove(carol, NODE_FUNDS);
        _fundAndApprove(dave, NODE_FUNDS);
    }

    /// @dev Sends `node` FLT from the admin's initial supply and approves the staking contract for all of it.
    function _fundAndApprove(address node, uint256 amount) internal {
        vm.prank(admin);
        assertTrue(token.transfer(node, amount));
        _approveStaking(node);
    }

    function _deployToken(address tokenAdmin, address initialHolder, uint256 initialSupply)
        internal
        returns (IFLToken)
    {
        return IFLToken(deployArtifact(TOKEN_ARTIFACT, abi.encode(tokenAdmin, initialHolder, initialSupply)));
    }

    function _deployStaking(address stakedToken, address stakingAdmin, address stakingOrchestrator, address vault)
        internal
        returns (IFedShieldStaking)
    {
        return IFedShieldStaking(
            deployArtifact(STAKING_ARTIFACT, abi.encode(stakedToken, stakingAdmin, stakingOrchestrator, vault))
        );
    }

    /// @notice Deploys `artifact` with ABI-encoded constructor `args`, bubbling up a constructor's revert.
    /// @dev Public so a test can call it through `this` after `vm.expectRevert`.
    function deployArtifact(string memory artifact, bytes memory args) public returns (address deployed) {
        bytes memory initCode = bytes.concat(vm.getCode(artifact), args);
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
            if iszero(deployed) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    function _approveStaking(address node) internal {
        vm.prank(node);
        token.approve(address(staking), type(uint256).max);
    }

    function _stake(address node, uint256 amount) internal {
        vm.prank(node);
        staking.stake(amount);
    }

    function _requestUnstake(address node, uint256 amount) internal {
        vm.prank(node);
        staking.requestUnstake(amount);
    }

    /// @dev Settles the next round as the orchestrator.
    function _settle(address[] memory accepted, address[] memory slashed) internal {
        uint256 roundId = staking.lastRoundId() + 1;
        vm.prank(orchestrator);
        staking.settleRound(roundId, keccak256(abi.encode("model", roundId)), RESULTS_ROOT, accepted, slashed);
    }

    function _list() internal pure returns (address[] memory nodes) {
        nodes = new address[](0);
    }

    function _list(address a) internal pure returns (address[] memory nodes) {
        nodes = new address[](1);
        nodes[0] = a;
    }

    function _list(address a, address b) internal pure returns (address[] memory nodes) {
        nodes = new address[](2);
        nodes[0] = a;
        nodes[1] = b;
    }

    /// @dev Balance of the staking contract must always back every stake and pending withdrawal.
    function _assertBacked() internal view {
        assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalPending(), "backing");
    }

    function _pending(address node) internal view returns (uint256 amount) {
        (amount,) = staking.pendingWithdrawalOf(node);
    }

    function _unlockAt(address node) internal view returns (uint64 unlockAt) {
        (, unlockAt) = staking.pendingWithdrawalOf(node);
    }
}
