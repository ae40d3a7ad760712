// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title Madiun Stable Coin (MSC) — a Rupiah-pegged token issued against attested reserves
/// @notice The issuer (a regional bank) mints MSC 1:1 against Rupiah held in reserve and burns
/// it when a holder redeems. Besides ERC-20 it offers EIP-2612 permits and EIP-3009 transfer
/// authorizations so that wallets can pay without holding gas, and the controls a regulated
/// fiat token needs: minters with allowances, pause, freeze, court-ordered wipe, rescue.
///
/// Invariants (tested as stateful properties in tests/contracts/test_msc_properties.py):
/// - the sum of all balances equals totalSupply();
/// - totalSupply() never exceeds the attested reserves;
/// - a frozen account's balance changes only by a court-ordered wipe (or a burn by the frozen
///   minter itself, the issuer's own operation);
/// - while paused no balance changes except by a court-ordered wipe;
/// - a permit or an authorization is used at most once, never after it expires, and only by the
///   spender or payee it names.
interface IMadiunStableCoin is IERC20Metadata, IERC20Permit {
    /// @notice The operational roles, each held by one address that the owner assigns.
    enum Role {
        MasterMinter, // configures minters and their allowances
        Pauser, // pauses and unpauses all movements
        Freezer, // freezes and unfreezes accounts
        Rescuer, // returns other tokens sent to this contract by mistake
        ReserveAttester // records the attested Rupiah reserves
    }

    // ---------------------------------------------------------------- errors

    /// @notice `caller` does not hold `role`.
    error MSCUnauthorized(address caller, Role role);
    /// @notice `caller` is not a configured minter.
    error MSCNotMinter(address caller);
    /// @notice `account` is frozen and can neither send, receive, approve nor be approved.
    error MSCAccountFrozen(address account);
    /// @notice `account` is not frozen (unfreeze and wipe need a frozen account).
    error MSCAccountNotFrozen(address account);
    /// @notice The minter's remaining allowance `allowance` is below `needed`.
    error MSCMintAllowanceExceeded(address minter, uint256 allowance, uint256 needed);
    /// @notice Minting would take the supply to `supplyAfter`, above the attested `reserves`.
    error MSCReservesExceeded(uint256 supplyAfter, uint256 reserves);
    /// @notice An attestation of `reserves` is below the current `supply`; burn first.
    error MSCReservesBelowSupply(uint256 reserves, uint256 supply);
    /// @notice An amount of `amount` is above the largest the token can hold, `max`.
    error MSCAmountTooLarge(uint256 amount, uint256 max);
    /// @notice An amount must be above zero here.
    error MSCZeroAmount();
    /// @notice A role or minter cannot be the zero address.
    error MSCZeroAddress();
    /// @notice A reserve attestation or a wipe needs a non-empty off-chain reference.
    error MSCEmptyReference();
    /// @notice The owner cannot renounce: a regulated token must always have an owner.
    error MSCRenounceDisabled();
    /// @notice The EIP-2612 permit expired at `deadline`.
    error MSCPermitExpired(uint256 deadline);
    /// @notice The EIP-3009 authorization is valid only after `validAfter`.
    error MSCAuthorizationNotYetValid(uint256 validAfter);
    /// @notice The EIP-3009 authorization expired at `validBefore`.
    error MSCAuthorizationExpired(uint256 validBefore);
    /// @notice The EIP-3009 authorization `nonce` of `authorizer` was used or cancelled.
    error MSCAuthorizationUsed(address authorizer, bytes32 nonce);
    /// @notice The signature does not come from `expectedSigner`.
    error MSCInvalidSignature(address expectedSigner);
    /// @notice receiveWithAuthorization must be called by the payee `payee`.
    error MSCCallerNotPayee(address caller, address payee);

    // ---------------------------------------------------------------- events

    /// @notice The owner gave `role` to `account`, taking it from `previous`.
    event RoleTransferred(Role indexed role, address indexed previous, address indexed account);
    /// @notice `minter` may now mint up to `allowance` more.
    event MinterConfigured(address indexed minter, uint256 allowance);
    /// @notice `minter` may no longer mint or burn.
    event MinterRemoved(address indexed minter);
    /// @notice `minter` minted `amount` to `to`.
    event Mint(address indexed minter, address indexed to, uint256 amount);
    /// @notice `minter` burned `amount` of its own balance.
    event Burn(address indexed minter, uint256 amount);
    /// @notice `account` was frozen.
    event AccountFrozen(address indexed account);
    /// @notice `account` was unfrozen.
    event AccountUnfrozen(address indexed account);
    /// @notice The balance `amount` of frozen `account` was wiped (burned) under court order `courtOrder`.
    event FrozenBalanceWiped(address indexed account, uint256 amount, string courtOrder);
    /// @notice The attester recorded `reserves` Rupiah (in sen) held against a supply of `supply`.
    event ReservesAttested(uint256 reserves, uint256 supply, string attestationRef);
    /// @notice The rescuer sent `amount` of `token`, held by this contract by mistake, to `to`.
    event TokensRescued(address indexed token, address indexed to, uint256 amount);
    /// @notice EIP-3009: `authorizer` used the authorization `nonce`.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice EIP-3009: `authorizer` cancelled the authorization `nonce`.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    // ---------------------------------------------------------------- issuer roles

    /// @notice Gives `role` to `account`. Only the owner.
    function setRole(Role role, address account) external;

    /// @notice The address holding `role`.
    function roleHolder(Role role) external view returns (address);

    /// @notice Lets `minter` mint up to `allowance` (replacing any previous allowance). Only the master minter.
    function configureMinter(address minter, uint256 allowance) external;

    /// @notice Stops `minter` from minting and burning. Only the master minter.
    function removeMinter(address minter) external;

    /// @notice Whether `account` is a configured minter.
    function isMinter(address account) external view returns (bool);

    /// @notice How much more `minter` may mint.
    function minterAllowance(address minter) external view returns (uint256);

    /// @notice Mints `amount` to `to`, consuming the caller's minter allowance. Reverts if the
    /// supply would exceed the attested reserves.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the calling minter's own balance (the last step of a redemption).
    /// Not blocked by a freeze of the minter: the issuer's own burn must always be possible.
    function burn(uint256 amount) external;

    /// @notice Pauses every transfer, approval, mint and burn. Only the pauser.
    function pause() external;

    /// @notice Ends a pause. Only the pauser.
    function unpause() external;

    /// @notice Freezes `account`: it can no longer send, receive, approve or be approved. Only the freezer.
    function freeze(address account) external;

    /// @notice Unfreezes `account`. Only the freezer.
    function unfreeze(address account) external;

    /// @notice Whether `account` is frozen.
    function isFrozen(address account) external view returns (bool);

    /// @notice Burns the whole balance of frozen `account` under the court order `courtOrder`.
    /// Only the owner; works while paused, since a court order does not wait.
    function wipeFrozenBalance(address account, string calldata courtOrder) external;

    /// @notice Sends `amount` of `token` that this contract holds by mistake to `to`. Only the rescuer.
    function rescueERC20(address token, address to, uint256 amount) external;

    /// @notice Records `reserves` Rupiah (in sen) attested as held against the supply, with an
    /// off-chain `attestationRef` (auditor's report id). Only the reserve attester.
    function attestReserves(uint256 reserves, string calldata attestationRef) external;

    /// @notice The last attested reserves (in sen) and when they were attested.
    function attestedReserves() external view returns (uint256 reserves, uint64 attestedAt);

    // ---------------------------------------------------------------- EIP-3009

    /// @notice Moves `value` from `from` to `to` with `from`'s signed authorization; anyone may relay it.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Like transferWithAuthorization, but only the payee `to` may submit it, so nobody
    /// can front-run the payee's call with the signature. The path that tolerates front-running.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Cancels an unused authorization `nonce` of `authorizer` with its signature.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Whether `nonce` of `authorizer` was used or cancelled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}
