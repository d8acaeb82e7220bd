// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Deploys FLToken and FedShieldStaking and makes the staking contract FLT's only minter. Writes no files: addresses
// are in contracts/broadcast/01_Deploy.s.sol/<chain id>/run-latest.json (and in the `returns` of that file), ABIs
// in contracts/out/. Run from the repository root.
//
// Environment: DEPLOYER_PRIVATE_KEY (required); ORCHESTRATOR_ADDRESS, TREASURY_ADDRESS (default: the deployer);
// INITIAL_SUPPLY in wei (default 1,000,000 FLT, minted to the deployer).
//
// Local anvil (chain id 31337):
//   DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 \
//     forge script contracts/script/01_Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast
//
// Arbitrum Sepolia (chain id 421614), verified on Arbiscan:
//   DEPLOYER_PRIVATE_KEY=0x... ORCHESTRATOR_ADDRESS=0x... ARBITRUM_SEPOLIA_RPC_URL=https://... ARBISCAN_API_KEY=... \
//     forge script contracts/script/01_Deploy.s.sol --rpc-url arbitrum_sepolia --broadcast --verify

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {IFLToken} from "../src/interfaces/IFLToken.sol";

/// @notice Deploys the FedShield contracts from their artifacts (they are built through the IR pipeline, see
///         foundry.toml; deploying from artifacts keeps this script from recompiling them).
contract Deploy is Script {
    uint256 internal constant DEFAULT_INITIAL_SUPPLY = 1_000_000 ether;

    /// @notice Deploys FLT, then the staking contract, then grants it MINTER_ROLE.
    /// @return token The FLToken address.
    /// @return staking The FedShieldStaking address.
    function run() external returns (address token, address staking) {
        uint256 deployerKey = vm.envUint("DEPLOYER_PRIVATE_KEY");
        address deployer = vm.addr(deployerKey);
        address orchestrator = vm.envOr("ORCHESTRATOR_ADDRESS", deployer);
        address treasury = vm.envOr("TREASURY_ADDRESS", deployer);
        uint256 initialSupply = vm.envOr("INITIAL_SUPPLY", DEFAULT_INITIAL_SUPPLY);

        vm.startBroadcast(deployerKey);
        token = _deploy("FLToken.sol:FLToken", abi.encode(deployer, deployer, initialSupply));
        staking = _deploy("FedShieldStaking.sol:FedShieldStaking", abi.encode(token, deployer, orchestrator, treasury));
        IFLToken(token).grantRole(keccak256("MINTER_ROLE"), staking);
        vm.stopBroadcast();

        console.log("chain id:        ", block.chainid);
        console.log("FLToken:         ", token);
        console.log("FedShieldStaking:", staking);
        console.log("orchestrator:    ", orchestrator);
        console.log("treasury:        ", treasury);
    }

    function _deploy(string memory artifact, bytes memory args) private returns (address deployed) {
        bytes memory initCode = bytes.concat(vm.getCode(artifact), args);
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (deployed == address(0)) revert DeploymentFailed(artifact);
    }

    /// @notice Thrown when a contract's constructor reverts.
    error DeploymentFailed(string artifact);
}
