// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "solady/src/tokens/ERC20.sol";

/// @title Solady's ERC-20 (with its built-in permit): the lean gas baseline in bench/gas.py.
/// Anyone may mint and burn; it is never deployed for real.
contract SoladyBaselineToken is ERC20 {
    function name() public pure override returns (string memory) {
        return "Solady Baseline";
    }

    function symbol() public pure override returns (string memory) {
        return "SDB";
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
