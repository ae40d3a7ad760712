// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {SafePermit} from "../libraries/SafePermit.sol";

/// @title A minimal permit consumer for the tests: the front-run-tolerant path next to the naive one.
contract PermitVault {
    using SafeERC20 for IERC20;

    IERC20 public immutable token;
    mapping(address depositor => uint256) public deposits;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// @notice Deposits with a permit through {SafePermit}: still works if someone used the permit first.
    function depositWithPermit(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        SafePermit.permitOrAllowance(IERC20Permit(address(token)), msg.sender, value, deadline, v, r, s);
        _deposit(value);
    }

    /// @notice The naive pattern, which a front-run permit breaks. For comparison in tests only.
    function depositWithPermitNaive(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        IERC20Permit(address(token)).permit(msg.sender, address(this), value, deadline, v, r, s);
        _deposit(value);
    }

    function _deposit(uint256 value) private {
        token.safeTransferFrom(msg.sender, address(this), value);
        deposits[msg.sender] += value;
    }
}
