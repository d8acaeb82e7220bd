// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title IFLToken
/// @notice The FedShield Learning Token (FLT): an ERC-20 with EIP-2612 permits and role-based minting, that a
///         minter can issue one recipient at a time or one amount to a whole cohort in a single call.
interface IFLToken is IERC20Metadata, IERC20Permit, IAccessControl {
    /// @notice Thrown when the token is deployed with the zero address as admin.
    error ZeroAdmin();

    /// @notice The role allowed to mint: `keccak256("MINTER_ROLE")`.
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice Mints `amount` FLT to `to`.
    /// @dev Restricted to MINTER_ROLE.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount to mint, in wei (18 decimals).
    function mint(address to, uint256 amount) external;

    /// @notice Mints the same `amount` of FLT to every address in `to`.
    /// @dev Restricted to MINTER_ROLE. Lets a round's settlement pay all accepted nodes in one external call.
    /// @param to Recipients; a recipient listed twice is paid twice.
    /// @param amount Amount minted to each recipient, in wei (18 decimals).
    function mintBatch(address[] calldata to, uint256 amount) external;
}
