// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Carbon credits: verified tonnes of CO2e as ERC-1155 tokens, retired with certificates
/// @notice A registrar registers a project (as the national registry SRN-PPI or a standard such as
/// Verra or Gold Standard lists it). A verifier verifies a vintage — the tonnes verified for one
/// project and year, with the SHA-256 hash and IPFS CID of the verification documents — and then
/// issues credits for it, one token per tonne, never more than verified. Token id =
/// projectKey << 16 | vintage year. Holders trade them as ERC-1155 tokens, retire them for a
/// beneficiary (burned, recorded with a permanent certificate anyone can read), or return them to
/// the registry (held by this contract until the registry confirms, then burned, or refuses, then
/// returned).
///
/// Granularity: whole tonnes. A token is one tonne CO2e; fractions do not exist.
/// Retirement text (beneficiary name, reason) is public and permanent: never put personal data in it.
///
/// Invariants (tests/contracts/test_carbon_properties.py), per token id:
/// - sum of holders' balances + held for bridge-back + retired + bridged == issued;
/// - issued <= verified tonnes;
/// - retired or bridged credits never move again (they are burned), and credits held for a
///   bridge-back can only be burned (confirmed) or returned to the requester (refused).
interface ICarbonCredits {
    /// @notice Kinds of project, as the registries classify them.
    enum ProjectType {
        Reforestation,
        Mangrove,
        Peatland,
        Solar,
        Wind,
        Hydro,
        Biogas,
        Other
    }

    /// @notice The standard (or registry) a project is certified under.
    enum Standard {
        VerraVCS,
        GoldStandard,
        SRNPPI
    }

    /// @notice A bridge-back request's state.
    enum BridgeStatus {
        None,
        Pending,
        Confirmed,
        Refused
    }

    /// @notice A registered project.
    struct Project {
        string registryId; // e.g. the SRN-PPI or Verra project id
        ProjectType projectType;
        Standard standard;
        string location; // e.g. "Kab. Madiun, Jawa Timur"
        bool registered;
    }

    /// @notice One project's vintage: the token id's metadata and supply counters.
    struct Vintage {
        uint64 projectKey;
        uint16 year;
        bool verified;
        uint64 verifiedTonnes;
        uint64 issued;
        uint64 retired;
        uint64 bridged;
        bytes32 documentsSha256;
        string documentsCid;
        string metadataCid;
    }

    /// @notice A retirement certificate: a non-transferable, permanent record.
    struct Certificate {
        uint256 tokenId;
        uint64 tonnes;
        uint40 retiredAt;
        uint40 periodStart;
        uint40 periodEnd;
        address retiredBy;
        address beneficiary;
        string beneficiaryName;
        string reason;
    }

    /// @notice What a retirement asks for (also the EIP-712 type a holder signs for retireWithSig).
    struct Retirement {
        address holder; // whose credits are retired
        uint256 tokenId;
        uint64 tonnes;
        address beneficiary; // who the offset is claimed for
        string beneficiaryName;
        string reason;
        uint40 periodStart; // the consumption period the offset covers
        uint40 periodEnd;
    }

    /// @notice A request to return credits to the registry.
    struct BridgeRequest {
        uint256 tokenId;
        address holder;
        uint64 tonnes;
        BridgeStatus status;
        string registryAccount;
    }

    // ---------------------------------------------------------------- errors

    error CarbonProjectUnknown(uint64 projectKey);
    error CarbonVintageInvalidYear(uint16 year);
    error CarbonVintageAlreadyVerified(uint256 tokenId);
    error CarbonVintageNotVerified(uint256 tokenId);
    /// @notice Issuing `amount` more would exceed the `verified` tonnes (`issued` so far).
    error CarbonIssuanceExceedsVerified(uint256 tokenId, uint256 issued, uint256 verified, uint256 amount);
    error CarbonZeroAmount();
    /// @notice The field `field` must not be empty.
    error CarbonEmptyField(string field);
    /// @notice The offset period [`start`, `end`] is empty (start zero or after end) or not over yet
    /// (end after the block's time): an offset covers emissions that already happened.
    error CarbonInvalidPeriod(uint40 start, uint40 end);
    error CarbonSignatureExpired(uint256 deadline);
    error CarbonInvalidSignature(address holder);
    /// @notice `operator` may not act for `holder`.
    error CarbonNotApproved(address holder, address operator);
    error CarbonCertificateUnknown(uint256 certificateId);
    error CarbonBridgeRequestNotPending(uint256 requestId, BridgeStatus status);
    error CarbonZeroAddress();

    // ---------------------------------------------------------------- events

    event ProjectRegistered(
        uint64 indexed projectKey, string registryId, ProjectType projectType, Standard standard, string location
    );
    event VintageVerified(
        uint256 indexed tokenId,
        uint64 indexed projectKey,
        uint16 year,
        uint64 verifiedTonnes,
        bytes32 documentsSha256,
        string documentsCid,
        string metadataCid
    );
    event CreditsIssued(uint256 indexed tokenId, address indexed to, uint64 tonnes, uint64 issuedTotal);
    event CreditsRetired(
        uint256 indexed certificateId,
        uint256 indexed tokenId,
        address indexed beneficiary,
        address retiredBy,
        uint64 tonnes,
        string beneficiaryName,
        string reason,
        uint40 periodStart,
        uint40 periodEnd
    );
    event BridgeBackRequested(
        uint256 indexed requestId, uint256 indexed tokenId, address indexed holder, uint64 tonnes, string registryAccount
    );
    event BridgeBackConfirmed(uint256 indexed requestId, uint256 indexed tokenId, uint64 tonnes, string registryReference);
    event BridgeBackRefused(uint256 indexed requestId, uint256 indexed tokenId, uint64 tonnes, string reason);

    // ---------------------------------------------------------------- functions

    /// @notice Registers a project; returns its key. Only the registrar.
    function registerProject(string calldata registryId, ProjectType projectType, Standard standard, string calldata location)
        external
        returns (uint64 projectKey);

    /// @notice Records a verified vintage and its documents; returns the token id. Only a verifier.
    function verifyVintage(
        uint64 projectKey,
        uint16 year,
        uint64 verifiedTonnes,
        bytes32 documentsSha256,
        string calldata documentsCid,
        string calldata metadataCid
    ) external returns (uint256 tokenId);

    /// @notice Issues `tonnes` credits of a verified vintage to `to`. Only a verifier.
    function issue(uint256 tokenId, address to, uint64 tonnes) external;

    /// @notice Retires `r.holder`'s credits (the caller's, or with the holder's ERC-1155 approval)
    /// for a beneficiary: burns them and issues a certificate; returns its id.
    function retire(Retirement calldata r) external returns (uint256 certificateId);

    /// @notice Retires with the holder's EIP-712 signature over `r`, a nonce and `deadline`, so a
    /// buyer can retire through the API without paying gas. Anyone may relay it, once.
    function retireWithSig(Retirement calldata r, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 certificateId);

    /// @notice Requests the return of `tonnes` to the registry account `registryAccount`; the
    /// credits are held by this contract until the registry answers. Returns the request id.
    function requestBridgeBack(uint256 tokenId, uint64 tonnes, string calldata registryAccount)
        external
        returns (uint256 requestId);

    /// @notice The registry confirmed: the held credits are burned. Only the bridge operator.
    function confirmBridgeBack(uint256 requestId, string calldata registryReference) external;

    /// @notice The registry refused: the held credits go back to the requester. Only the bridge operator.
    function refuseBridgeBack(uint256 requestId, string calldata reason) external;

    function project(uint64 projectKey) external view returns (Project memory);
    function vintage(uint256 tokenId) external view returns (Vintage memory);
    function certificate(uint256 certificateId) external view returns (Certificate memory);
    function bridgeRequest(uint256 requestId) external view returns (BridgeRequest memory);
    /// @notice Tonnes of `tokenId` retired for `beneficiary`.
    function retiredFor(uint256 tokenId, address beneficiary) external view returns (uint256);
    /// @notice The token id of a project's vintage.
    function tokenIdOf(uint64 projectKey, uint16 year) external pure returns (uint256);
}
