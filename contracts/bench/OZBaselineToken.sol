// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title A plain OpenZeppelin ERC-20 with permit: the gas baseline in bench/gas.py, and a
/// stray token for the rescue tests. Anyone may mint and burn; it is never deployed for real.
contract OZBaselineToken is ERC20Permit {
    constructor() ERC20("OZ Baseline", "OZB") ERC20Permit("OZ Baseline") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
