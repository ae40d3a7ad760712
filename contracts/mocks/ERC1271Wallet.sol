// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ERC1271Wallet — a minimal contract wallet for tests
/// @notice Accepts a signature over a digest when its one owner key made it, as a smart-account
/// wallet (Safe with one owner) would; used to test ERC-1271 merchants of the escrow.
contract ERC1271Wallet is IERC1271 {
    address private immutable _owner;

    constructor(address owner) {
        _owner = owner;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature);
        if (error == ECDSA.RecoverError.NoError && signer == _owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}
