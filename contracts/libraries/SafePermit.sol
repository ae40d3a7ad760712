// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title SafePermit — use an EIP-2612 permit in a way a front-runner cannot break
/// @notice A permit's signature is public once its transaction is in the mempool. Anyone can
/// submit it first; the permit then succeeds for them and the original `permit(...) ; transferFrom`
/// reverts on the used nonce, so the user's deposit fails although the approval is in place.
/// This library tries the permit and, when it reverts, accepts the call anyway if the allowance
/// it was meant to grant is already there.
library SafePermit {
    /// @notice The permit failed and `spender`'s allowance from `owner` is `allowance`, below `needed`.
    error SafePermitFailed(address owner, address spender, uint256 allowance, uint256 needed);

    /// @notice Applies `owner`'s permit for `spender` = this contract, tolerating a front-run.
    function permitOrAllowance(
        IERC20Permit token,
        address owner,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) internal {
        try token.permit(owner, address(this), value, deadline, v, r, s) {
            return;
        } catch {
            uint256 current = IERC20(address(token)).allowance(owner, address(this));
            if (current < value) revert SafePermitFailed(owner, address(this), current, value);
        }
    }
}
