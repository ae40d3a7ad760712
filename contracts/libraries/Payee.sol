// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IMadiunStableCoin} from "../interfaces/IMadiunStableCoin.sol";

/// @title Payee — can a token pay an address at all?
/// @notice The platform's contracts pay in MSC, which refuses transfers to the zero address, to
/// the token itself and to and from frozen accounts. A recipient that a contract stores (a fee or
/// penalty recipient, a merchant) and that can never be paid would make every later payment to it
/// revert, so the contracts refuse such an address when it is set. A recipient frozen *after* it
/// was set is the callers' other half of the job: they route around it (accrue, skip) instead of
/// reverting.
library Payee {
    /// @notice Whether `token` can, as of now, be expected to pay `account` from `payer`:
    /// not the zero address, not the token, not the paying contract itself, not frozen.
    function isPayable(IERC20 token, address account, address payer) internal view returns (bool) {
        if (account == address(0) || account == address(token) || account == payer) return false;
        return !isFrozen(token, account);
    }

    /// @notice Whether `token` reports `account` frozen; false for a token without `isFrozen`.
    function isFrozen(IERC20 token, address account) internal view returns (bool) {
        (bool ok, bytes memory data) =
            address(token).staticcall(abi.encodeCall(IMadiunStableCoin.isFrozen, (account)));
        return ok && data.length >= 32 && abi.decode(data, (bool));
    }
}
