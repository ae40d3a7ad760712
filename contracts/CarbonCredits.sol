// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICarbonCredits} from "./interfaces/ICarbonCredits.sol";

/// @title CarbonCredits — see {ICarbonCredits}
/// @dev Double counting is designed out: a retirement or a confirmed bridge-back burns the
/// credits, and credits awaiting the registry sit in this contract's own balance, which only
/// confirmBridgeBack (burn) and refuseBridgeBack (return to the requester) can move. Every movement
/// goes through _update, which stops while paused.
contract CarbonCredits is ICarbonCredits, ERC1155, AccessControl, Pausable, EIP712, Nonces {
    /// @notice Registers projects.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Verifies vintages and issues credits.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice Relays the registry's answers to bridge-back requests.
    bytes32 public constant BRIDGE_OPERATOR_ROLE = keccak256("BRIDGE_OPERATOR_ROLE");
    /// @notice Pauses every movement.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    bytes32 private constant RETIREMENT_TYPEHASH = keccak256(
        "Retirement(address holder,uint256 tokenId,uint64 tonnes,address beneficiary,string beneficiaryName,"
        "string reason,uint40 periodStart,uint40 periodEnd,uint256 nonce,uint256 deadline)"
    );

    mapping(uint64 projectKey => Project) private _projects;
    mapping(uint256 tokenId => Vintage) private _vintages;
    mapping(uint256 certificateId => Certificate) private _certificates;
    mapping(uint256 requestId => BridgeRequest) private _bridgeRequests;
    mapping(uint256 tokenId => mapping(address beneficiary => uint256)) private _retiredFor;
    uint64 private _projectCount;
    uint64 private _certificateCount;
    uint64 private _bridgeRequestCount;

    constructor(address admin, address registrar, address verifier, address bridgeOperator, address pauser)
        ERC1155("")
        EIP712("MSC Carbon Credits", "1")
    {
        if (
            admin == address(0) || registrar == address(0) || verifier == address(0) || bridgeOperator == address(0)
                || pauser == address(0)
        ) revert CarbonZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
        _grantRole(VERIFIER_ROLE, verifier);
        _grantRole(BRIDGE_OPERATOR_ROLE, bridgeOperator);
        _grantRole(PAUSER_ROLE, pauser);
    }

    // ================================================================ issuance

    /// @inheritdoc ICarbonCredits
    function registerProject(string calldata registryId, ProjectType projectType, Standard standard, string calldata location)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint64 projectKey)
    {
        if (bytes(registryId).length == 0) revert CarbonEmptyField("registryId");
        if (bytes(location).length == 0) revert CarbonEmptyField("location");
        projectKey = ++_projectCount;
        _projects[projectKey] = Project(registryId, projectType, standard, location, true);
        emit ProjectRegistered(projectKey, registryId, projectType, standard, location);
    }

    /// @inheritdoc ICarbonCredits
    function verifyVintage(
        uint64 projectKey,
        uint16 year,
        uint64 verifiedTonnes,
        bytes32 documentsSha256,
        string calldata documentsCid,
        string calldata metadataCid
    ) external onlyRole(VERIFIER_ROLE) returns (uint256 tokenId) {
        if (!_projects[projectKey].registered) revert CarbonProjectUnknown(projectKey);
        if (year < 1990 || year > 2100) revert CarbonVintageInvalidYear(year);
        if (verifiedTonnes == 0) revert CarbonZeroAmount();
        if (documentsSha256 == bytes32(0)) revert CarbonEmptyField("documentsSha256");
        if (bytes(documentsCid).length == 0) revert CarbonEmptyField("documentsCid");
        if (bytes(metadataCid).length == 0) revert CarbonEmptyField("metadataCid");
        tokenId = tokenIdOf(projectKey, year);
        Vintage storage v = _vintages[tokenId];
        if (v.verified) revert CarbonVintageAlreadyVerified(tokenId);
        v.projectKey = projectKey;
        v.year = year;
        v.verified = true;
        v.verifiedTonnes = verifiedTonnes;
        v.documentsSha256 = documentsSha256;
        v.documentsCid = documentsCid;
        v.metadataCid = metadataCid;
        emit VintageVerified(tokenId, projectKey, year, verifiedTonnes, documentsSha256, documentsCid, metadataCid);
        emit URI(uri(tokenId), tokenId);
    }

    /// @inheritdoc ICarbonCredits
    function issue(uint256 tokenId, address to, uint64 tonnes) external onlyRole(VERIFIER_ROLE) {
        if (tonnes == 0) revert CarbonZeroAmount();
        Vintage storage v = _vintages[tokenId];
        if (!v.verified) revert CarbonVintageNotVerified(tokenId);
        uint64 issued = v.issued;
        if (uint256(issued) + tonnes > v.verifiedTonnes) {
            revert CarbonIssuanceExceedsVerified(tokenId, issued, v.verifiedTonnes, tonnes);
        }
        v.issued = issued + tonnes;
        emit CreditsIssued(tokenId, to, tonnes, issued + tonnes);
        _mint(to, tokenId, tonnes, "");
    }

    // ================================================================ retirement

    /// @inheritdoc ICarbonCredits
    function retire(Retirement calldata r) external returns (uint256) {
        if (r.holder != msg.sender && !isApprovedForAll(r.holder, msg.sender)) {
            revert CarbonNotApproved(r.holder, msg.sender);
        }
        return _retire(r);
    }

    /// @inheritdoc ICarbonCredits
    function retireWithSig(Retirement calldata r, uint256 deadline, bytes calldata signature)
        external
        returns (uint256)
    {
        if (block.timestamp > deadline) revert CarbonSignatureExpired(deadline);
        bytes32 structHash = keccak256(
            abi.encode(
                RETIREMENT_TYPEHASH,
                r.holder,
                r.tokenId,
                r.tonnes,
                r.beneficiary,
                keccak256(bytes(r.beneficiaryName)),
                keccak256(bytes(r.reason)),
                r.periodStart,
                r.periodEnd,
                _useNonce(r.holder),
                deadline
            )
        );
        if (!SignatureChecker.isValidSignatureNow(r.holder, _hashTypedDataV4(structHash), signature)) {
            revert CarbonInvalidSignature(r.holder);
        }
        return _retire(r);
    }

    // ================================================================ bridge back

    /// @inheritdoc ICarbonCredits
    function requestBridgeBack(uint256 tokenId, uint64 tonnes, string calldata registryAccount)
        external
        returns (uint256 requestId)
    {
        if (tonnes == 0) revert CarbonZeroAmount();
        if (bytes(registryAccount).length == 0) revert CarbonEmptyField("registryAccount");
        requestId = ++_bridgeRequestCount;
        _bridgeRequests[requestId] = BridgeRequest(tokenId, msg.sender, tonnes, BridgeStatus.Pending, registryAccount);
        emit BridgeBackRequested(requestId, tokenId, msg.sender, tonnes, registryAccount);
        // Into this contract's custody, without the receiver hook: only confirm or refuse move it on.
        _update(msg.sender, address(this), _single(tokenId), _single(tonnes));
    }

    /// @inheritdoc ICarbonCredits
    function confirmBridgeBack(uint256 requestId, string calldata registryReference)
        external
        onlyRole(BRIDGE_OPERATOR_ROLE)
    {
        if (bytes(registryReference).length == 0) revert CarbonEmptyField("registryReference");
        BridgeRequest storage req = _pendingBridgeRequest(requestId);
        req.status = BridgeStatus.Confirmed;
        uint256 tokenId = req.tokenId;
        uint64 tonnes = req.tonnes;
        _vintages[tokenId].bridged += tonnes;
        emit BridgeBackConfirmed(requestId, tokenId, tonnes, registryReference);
        _burn(address(this), tokenId, tonnes);
    }

    /// @inheritdoc ICarbonCredits
    function refuseBridgeBack(uint256 requestId, string calldata reason) external onlyRole(BRIDGE_OPERATOR_ROLE) {
        if (bytes(reason).length == 0) revert CarbonEmptyField("reason");
        BridgeRequest storage req = _pendingBridgeRequest(requestId);
        req.status = BridgeStatus.Refused;
        uint256 tokenId = req.tokenId;
        uint64 tonnes = req.tonnes;
        emit BridgeBackRefused(requestId, tokenId, tonnes, reason);
        _update(address(this), req.holder, _single(tokenId), _single(tonnes));
    }

    // ================================================================ admin

    /// @notice Stops every movement of credits.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes movements.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @notice `ipfs://<metadata CID>` of a verified vintage (empty for unknown ids).
    function uri(uint256 tokenId) public view override returns (string memory) {
        string memory cid = _vintages[tokenId].metadataCid;
        return bytes(cid).length == 0 ? "" : string.concat("ipfs://", cid);
    }

    /// @inheritdoc ICarbonCredits
    function project(uint64 projectKey) external view returns (Project memory) {
        return _projects[projectKey];
    }

    /// @inheritdoc ICarbonCredits
    function vintage(uint256 tokenId) external view returns (Vintage memory) {
        return _vintages[tokenId];
    }

    /// @inheritdoc ICarbonCredits
    function certificate(uint256 certificateId) external view returns (Certificate memory) {
        Certificate storage c = _certificates[certificateId];
        if (c.tonnes == 0) revert CarbonCertificateUnknown(certificateId);
        return c;
    }

    /// @inheritdoc ICarbonCredits
    function bridgeRequest(uint256 requestId) external view returns (BridgeRequest memory) {
        return _bridgeRequests[requestId];
    }

    /// @inheritdoc ICarbonCredits
    function retiredFor(uint256 tokenId, address beneficiary) external view returns (uint256) {
        return _retiredFor[tokenId][beneficiary];
    }

    /// @notice The holder's next retireWithSig nonce.
    function nonces(address holder) public view override returns (uint256) {
        return super.nonces(holder);
    }

    /// @inheritdoc ICarbonCredits
    function tokenIdOf(uint64 projectKey, uint16 year) public pure returns (uint256) {
        return (uint256(projectKey) << 16) | year;
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ================================================================ internals

    function _retire(Retirement calldata r) private returns (uint256 certificateId) {
        if (r.tonnes == 0) revert CarbonZeroAmount();
        if (r.beneficiary == address(0)) revert CarbonZeroAddress();
        if (bytes(r.beneficiaryName).length == 0) revert CarbonEmptyField("beneficiaryName");
        if (bytes(r.reason).length == 0) revert CarbonEmptyField("reason");
        // An offset claims emissions that happened: the period must be non-empty and already over.
        if (r.periodStart == 0 || r.periodStart > r.periodEnd || r.periodEnd > block.timestamp) {
            revert CarbonInvalidPeriod(r.periodStart, r.periodEnd);
        }
        certificateId = ++_certificateCount;
        _vintages[r.tokenId].retired += r.tonnes;
        _retiredFor[r.tokenId][r.beneficiary] += r.tonnes;
        _certificates[certificateId] = Certificate({
            tokenId: r.tokenId,
            tonnes: r.tonnes,
            retiredAt: uint40(block.timestamp),
            periodStart: r.periodStart,
            periodEnd: r.periodEnd,
            retiredBy: r.holder,
            beneficiary: r.beneficiary,
            beneficiaryName: r.beneficiaryName,
            reason: r.reason
        });
        emit CreditsRetired(
            certificateId, r.tokenId, r.beneficiary, r.holder, r.tonnes, r.beneficiaryName, r.reason, r.periodStart, r.periodEnd
        );
        _burn(r.holder, r.tokenId, r.tonnes);
    }

    function _pendingBridgeRequest(uint256 requestId) private view returns (BridgeRequest storage req) {
        req = _bridgeRequests[requestId];
        if (req.status != BridgeStatus.Pending) revert CarbonBridgeRequestNotPending(requestId, req.status);
    }

    function _single(uint256 value) private pure returns (uint256[] memory array) {
        array = new uint256[](1);
        array[0] = value;
    }

    /// @dev Every mint, transfer, burn and custody move passes here; none while paused.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
        whenNotPaused
    {
        super._update(from, to, ids, values);
    }
}
