// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {ILiabilityAttestation} from "./interfaces/ILiabilityAttestation.sol";

/// @title LiabilityAttestation
/// @notice Stores the issuer's monthly proof-of-liabilities roots; see ILiabilityAttestation.
/// Invariant: a stored period never changes, and `latestPeriod` is the greatest one stored.
contract LiabilityAttestation is ILiabilityAttestation, AccessControl {
    /// @notice Who may publish a period's root.
    bytes32 public constant ATTESTER_ROLE = keccak256("ATTESTER_ROLE");

    mapping(uint64 period => Attestation) private _attestations;
    uint64 private _latestPeriod;

    /// @param admin holds DEFAULT_ADMIN_ROLE (grants and revokes the attester)
    /// @param attester holds ATTESTER_ROLE
    constructor(address admin, address attester) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ATTESTER_ROLE, attester);
    }

    /// @inheritdoc ILiabilityAttestation
    function publish(uint64 period, bytes32 root, uint256 total, uint256 blockNumber)
        external
        onlyRole(ATTESTER_ROLE)
    {
        uint64 month = period % 100;
        if (period < 100_001 || month == 0 || month > 12) revert LiabilityPeriodInvalid(period);
        if (period <= _latestPeriod) revert LiabilityPeriodNotAfterLatest(period, _latestPeriod);
        if (blockNumber > block.number) revert LiabilityBlockInFuture(blockNumber, block.number);
        if (root == bytes32(0)) revert LiabilityRootZero();
        // blockNumber <= block.number and block.timestamp both fit 64 bits for billions of years.
        _attestations[period] = Attestation(root, total, uint64(blockNumber), uint64(block.timestamp));
        _latestPeriod = period;
        emit LiabilitiesAttested(period, root, total, blockNumber, msg.sender);
    }

    /// @inheritdoc ILiabilityAttestation
    function attestation(uint64 period) external view returns (Attestation memory) {
        Attestation memory stored = _attestations[period];
        if (stored.root == bytes32(0)) revert LiabilityPeriodUnknown(period);
        return stored;
    }

    /// @inheritdoc ILiabilityAttestation
    function latestPeriod() external view returns (uint64) {
        return _latestPeriod;
    }
}
