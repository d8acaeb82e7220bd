// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IFedShieldStaking} from "../../src/interfaces/IFedShieldStaking.sol";

/// @notice A hostile token that calls back into the staking contract from inside `transferFrom`.
contract ReentrantToken is ERC20 {
    IFedShieldStaking public target;

    constructor() ERC20("Reentrant", "RE") {}

    function setTarget(IFedShieldStaking target_) external {
        target = target_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function mintBatch(address[] calldata, uint256) external {}

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (address(target) != address(0)) target.stake(1);
        return super.transferFrom(from, to, value);
    }
}
