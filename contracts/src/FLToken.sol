// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IFLToken} from "./interfaces/IFLToken.sol";

/// @title FLToken
/// @notice FedShield Learning Token (FLT): the reward paid to honest federated-learning nodes and the stake
///         that attackers lose. Supports EIP-2612 permits so a node can approve and stake without a
///         separate approval transaction.
/// @dev In deployment only the settlement contract (FedShieldStaking) holds MINTER_ROLE.
contract FLToken is ERC20, ERC20Permit, AccessControl, IFLToken {
    /// @inheritdoc IFLToken
    bytes32 public constant override MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin Holder of DEFAULT_ADMIN_ROLE, who grants MINTER_ROLE.
    /// @param initialHolder Recipient of the initial supply (ignored when `initialSupply` is zero).
    /// @param initialSupply FLT minted at deployment, in wei.
    constructor(address admin, address initialHolder, uint256 initialSupply)
        ERC20("FedShield Learning Token", "FLT")
        ERC20Permit("FedShield Learning Token")
    {
        if (admin == address(0)) revert ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (initialSupply > 0) _mint(initialHolder, initialSupply);
    }

    /// @inheritdoc IFLToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IFLToken
    function mintBatch(address[] calldata to, uint256 amount) external onlyRole(MINTER_ROLE) {
        uint256 count = to.length;
        for (uint256 i; i < count; ++i) {
            _mint(to[i], amount);
        }
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }
}
