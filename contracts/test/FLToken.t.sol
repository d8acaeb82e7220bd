// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IFLToken} from "../src/interfaces/IFLToken.sol";
import {BaseTest} from "./BaseTest.sol";

contract FLTokenTest is BaseTest {
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address private minter = makeAddr("minter");

    function setUp() public override {
        super.setUp();
        bytes32 minterRole = token.MINTER_ROLE();
        vm.prank(admin);
        token.grantRole(minterRole, minter);
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_SetsMetadataRolesAndInitialSupply() public view {
        assertEq(token.name(), "FedShield Learning Token");
        assertEq(token.symbol(), "FLT");
        assertEq(token.decimals(), 18);
        assertEq(token.totalSupply(), INITIAL_SUPPLY);
        assertEq(token.balanceOf(admin), INITIAL_SUPPLY - 4 * NODE_FUNDS);
        assertTrue(token.hasRole(DEFAULT_ADMIN_ROLE, admin));
        assertEq(token.MINTER_ROLE(), keccak256("MINTER_ROLE"));
        assertTrue(token.hasRole(token.MINTER_ROLE(), address(staking)));
        assertFalse(token.hasRole(token.MINTER_ROLE(), admin));
    }

    function test_constructor_MintsToInitialHolder() public {
        IFLToken fresh = _deployToken(admin, alice, 5 ether);
        assertEq(fresh.balanceOf(alice), 5 ether);
        assertEq(fresh.balanceOf(admin), 0);
    }

    function test_constructor_ZeroSupplyMintsNothing() public {
        IFLToken fresh = _deployToken(admin, address(0), 0);
        assertEq(fresh.totalSupply(), 0);
    }

    function test_constructor_RevertWhen_AdminIsZero() public {
        vm.expectRevert(IFLToken.ZeroAdmin.selector);
        this.deployArtifact(TOKEN_ARTIFACT, abi.encode(address(0), alice, 1 ether));
    }

    function test_constructor_RevertWhen_InitialHolderIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        this.deployArtifact(TOKEN_ARTIFACT, abi.encode(admin, address(0), 1 ether));
    }

    // ------------------------------------------------------------------ mint

    function test_mint_MintsToRecipient() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), alice, 3 ether);
        vm.prank(minter);
        token.mint(alice, 3 ether);
        assertEq(token.balanceOf(alice), NODE_FUNDS + 3 ether);
        assertEq(token.totalSupply(), INITIAL_SUPPLY + 3 ether);
    }

    function test_mint_RevertWhen_CallerNotMinter() public {
        bytes32 minterRole = token.MINTER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, minterRole)
        );
        vm.prank(admin);
        token.mint(alice, 1 ether);
    }

    function test_mint_RevertWhen_RecipientIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(minter);
        token.mint(address(0), 1 ether);
    }

    // ------------------------------------------------------------------ mintBatch

    function test_mintBatch_MintsSameAmountToEach() public {
        address[] memory recipients = _list(alice, bob);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), alice, 2 ether);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), bob, 2 ether);
        vm.prank(minter);
        token.mintBatch(recipients, 2 ether);
        assertEq(token.balanceOf(alice), NODE_FUNDS + 2 ether);
        assertEq(token.balanceOf(bob), NODE_FUNDS + 2 ether);
        assertEq(token.totalSupply(), INITIAL_SUPPLY + 4 ether);
    }

    function test_mintBatch_EmptyListMintsNothing() public {
        vm.prank(minter);
        token.mintBatch(_list(), 2 ether);
        assertEq(token.totalSupply(), INITIAL_SUPPLY);
    }

    function test_mintBatch_RevertWhen_CallerNotMinter() public {
        bytes32 minterRole = token.MINTER_ROLE();
        address[] memory recipients = _list(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, minterRole)
        );
        vm.prank(stranger);
        token.mintBatch(recipients, 1 ether);
    }

    function test_mintBatch_RevertWhen_RecipientIsZero() public {
        address[] memory recipients = _list(alice, address(0));
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(minter);
        token.mintBatch(recipients, 1 ether);
    }

    function testFuzz_mintBatch(uint8 count, uint96 amount) public {
        address[] memory recipients = new address[](bound(count, 0, 50));
        for (uint256 i; i < recipients.length; ++i) {
            recipients[i] = vm.addr(i + 1);
        }
        vm.prank(minter);
        token.mintBatch(recipients, amount);
        for (uint256 i; i < recipients.length; ++i) {
            assertEq(token.balanceOf(recipients[i]), amount);
        }
        assertEq(token.totalSupply(), INITIAL_SUPPLY + uint256(amount) * recipients.length);
    }

    // ------------------------------------------------------------------ permit

    function test_permit_SetsAllowanceFromOwnerSignature() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("permit owner");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, address(staking), 25 ether, 0, deadline);

        vm.expectEmit(address(token));
        emit IERC20.Approval(owner, address(staking), 25 ether);
        vm.prank(stranger); // anyone may relay a permit
        token.permit(owner, address(staking), 25 ether, deadline, v, r, s);

        assertEq(token.allowance(owner, address(staking)), 25 ether);
        assertEq(token.nonces(owner), 1);
    }

    function test_permit_LetsNodeStakeWithoutApproveTransaction() public {
        (address node, uint256 nodeKey) = makeAddrAndKey("permit node");
        vm.prank(admin);
        assertTrue(token.transfer(node, 20 ether));
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(nodeKey, node, address(staking), 20 ether, 0, deadline);

        vm.startPrank(node);
        token.permit(node, address(staking), 20 ether, deadline, v, r, s);
        staking.stake(20 ether);
        vm.stopPrank();

        assertEq(staking.stakeOf(node), 20 ether);
    }

    function test_permit_RevertWhen_DeadlinePassed() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("permit owner");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, bob, 1 ether, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, bob, 1 ether, deadline, v, r, s);
    }

    function test_permit_RevertWhen_SignerIsNotOwner() public {
        (address owner,) = makeAddrAndKey("permit owner");
        (address impostor, uint256 impostorKey) = makeAddrAndKey("impostor");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(impostorKey, owner, bob, 1 ether, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, impostor, owner));
        token.permit(owner, bob, 1 ether, deadline, v, r, s);
    }

    function test_permit_RevertWhen_SignatureReplayed() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("permit owner");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(ownerKey, owner, bob, 1 ether, 0, deadline);
        token.permit(owner, bob, 1 ether, deadline, v, r, s);

        // The nonce moved on, so the same signature now recovers to a different address.
        bytes32 replayDigest = _permitDigest(owner, bob, 1 ether, 1, deadline);
        address recovered = ecrecover(replayDigest, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, owner));
        token.permit(owner, bob, 1 ether, deadline, v, r, s);
    }

    function _signPermit(uint256 key, address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)
        private
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(key, _permitDigest(owner, spender, value, nonce, deadline));
    }

    function _permitDigest(address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }
}
