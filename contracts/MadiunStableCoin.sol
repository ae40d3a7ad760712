// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IMadiunStableCoin} from "./interfaces/IMadiunStableCoin.sol";

/// @title Madiun Stable Coin
/// @notice See {IMadiunStableCoin}. One MSC unit is one sen: 100 units are Rp 1.
/// @dev Design notes, each answering a pitfall found in audits of fiat tokens:
/// - The freeze flag is the top bit of the balance's storage word (as in FiatToken v2.2), so the
///   freeze checks on transfers cost no extra storage read and each side of a transfer is one
///   read and one write. The checks sit in the public entry points, not in a shared
///   transfer hook, so the issuer's own burn and the court-ordered wipe are never blocked by them.
/// - A frozen account can neither approve nor be approved (approve and permit check both sides),
///   and transferFrom checks the spender too, so no allowance granted while frozen can spring to
///   life on unfreeze, and a frozen spender cannot use an older one.
/// - A permit can be front-run (its signature is public once in the mempool); contracts that
///   consume permits should use {SafePermit}, and payees should prefer receiveWithAuthorization.
/// - Attested reserves are capped at type(uint248).max and supply <= reserves, so no balance can
///   reach the freeze bit or overflow.
contract MadiunStableCoin is IMadiunStableCoin, IERC20Errors, Ownable2Step, Pausable, EIP712, Nonces {
    using SafeERC20 for IERC20;

    /// @dev A minter's remaining allowance and whether it is configured, packed into one slot.
    struct Minter {
        uint248 allowance;
        bool active;
    }

    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 private constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    uint256 private constant MAX_AMOUNT = type(uint248).max;
    /// @dev Top bit of an account word: the account is frozen. The low bits are its balance.
    uint256 private constant FROZEN = 1 << 255;
    uint256 private constant BALANCE_MASK = FROZEN - 1;

    /// @dev Balance | (frozen ? FROZEN : 0), one word per account. An unfrozen word IS the balance.
    mapping(address account => uint256) private _accounts;
    mapping(address owner => mapping(address spender => uint256)) private _allowances;
    mapping(address minter => Minter) private _minters;
    mapping(address authorizer => mapping(bytes32 nonce => bool)) private _authorizations;
    mapping(Role role => address) private _roles;
    uint256 private _totalSupply;
    uint256 private _reserves;
    uint64 private _reservesAttestedAt;

    modifier onlyRole(Role role) {
        if (msg.sender != _roles[role]) revert MSCUnauthorized(msg.sender, role);
        _;
    }

    modifier onlyMinter() {
        if (!_minters[msg.sender].active) revert MSCNotMinter(msg.sender);
        _;
    }

    /// @param initialOwner The owner, who assigns every other role.
    /// @param masterMinter Configures minters. @param pauser Pauses. @param freezer Freezes accounts.
    /// @param rescuer Rescues stray tokens. @param reserveAttester Attests reserves.
    constructor(
        address initialOwner,
        address masterMinter,
        address pauser,
        address freezer,
        address rescuer,
        address reserveAttester
    ) Ownable(initialOwner) EIP712("Madiun Stable Coin", "1") {
        _setRole(Role.MasterMinter, masterMinter);
        _setRole(Role.Pauser, pauser);
        _setRole(Role.Freezer, freezer);
        _setRole(Role.Rescuer, rescuer);
        _setRole(Role.ReserveAttester, reserveAttester);
    }

    // ================================================================ ERC-20 metadata

    /// @inheritdoc IERC20Metadata
    function name() external pure returns (string memory) {
        return "Madiun Stable Coin";
    }

    /// @inheritdoc IERC20Metadata
    function symbol() external pure returns (string memory) {
        return "MSC";
    }

    /// @inheritdoc IERC20Metadata
    /// @dev Two decimals: ISO 4217 gives the Rupiah a minor unit of 2 (the sen), and the issuing
    /// bank's core ledger and ISO 20022 payment messages carry IDR amounts with two decimals. With
    /// the same exponent on-chain, every amount maps 1:1 to the bank's books with no rounding, and
    /// the whole platform keeps money as an integer count of sen end to end.
    function decimals() external pure returns (uint8) {
        return 2;
    }

    // ================================================================ ERC-20

    /// @inheritdoc IERC20
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account] & BALANCE_MASK;
    }

    /// @inheritdoc IERC20
    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    /// @inheritdoc IERC20
    function transfer(address to, uint256 value) external whenNotPaused returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    /// @inheritdoc IERC20
    function transferFrom(address from, address to, uint256 value) external whenNotPaused returns (bool) {
        // A frozen spender cannot use an allowance it already had. When the spender is `from` or
        // `to`, _transfer checks it anyway, so the extra read is spent only on third-party pulls.
        if (msg.sender != from && msg.sender != to && _accounts[msg.sender] >= FROZEN) {
            revert MSCAccountFrozen(msg.sender);
        }
        _spendAllowance(from, msg.sender, value);
        _transfer(from, to, value);
        return true;
    }

    /// @inheritdoc IERC20
    function approve(address spender, uint256 value) external whenNotPaused returns (bool) {
        _approve(msg.sender, spender, value);
        return true;
    }

    // ================================================================ EIP-2612

    /// @inheritdoc IERC20Permit
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
    {
        if (block.timestamp > deadline) revert MSCPermitExpired(deadline);
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline));
        _checkSignature(owner, structHash, v, r, s);
        _approve(owner, spender, value);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IERC20Permit
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ EIP-3009

    /// @inheritdoc IMadiunStableCoin
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
    ) external whenNotPaused {
        _useAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s
        );
        _transfer(from, to, value);
    }

    /// @inheritdoc IMadiunStableCoin
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
    ) external whenNotPaused {
        if (msg.sender != to) revert MSCCallerNotPayee(msg.sender, to);
        _useAuthorization(RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s);
        _transfer(from, to, value);
    }

    /// @inheritdoc IMadiunStableCoin
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
    {
        if (_authorizations[authorizer][nonce]) revert MSCAuthorizationUsed(authorizer, nonce);
        _checkSignature(authorizer, keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)), v, r, s);
        _authorizations[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    /// @inheritdoc IMadiunStableCoin
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizations[authorizer][nonce];
    }

    // ================================================================ issuer roles

    /// @inheritdoc IMadiunStableCoin
    function setRole(Role role, address account) external onlyOwner {
        _setRole(role, account);
    }

    /// @inheritdoc IMadiunStableCoin
    function roleHolder(Role role) external view returns (address) {
        return _roles[role];
    }

    /// @notice Disabled: a regulated token must always have an owner.
    function renounceOwnership() public view override onlyOwner {
        revert MSCRenounceDisabled();
    }

    /// @inheritdoc IMadiunStableCoin
    function configureMinter(address minter, uint256 allowance_) external onlyRole(Role.MasterMinter) {
        if (minter == address(0)) revert MSCZeroAddress();
        if (allowance_ > MAX_AMOUNT) revert MSCAmountTooLarge(allowance_, MAX_AMOUNT);
        _minters[minter] = Minter({allowance: uint248(allowance_), active: true});
        emit MinterConfigured(minter, allowance_);
    }

    /// @inheritdoc IMadiunStableCoin
    function removeMinter(address minter) external onlyRole(Role.MasterMinter) {
        if (!_minters[minter].active) revert MSCNotMinter(minter);
        delete _minters[minter];
        emit MinterRemoved(minter);
    }

    /// @inheritdoc IMadiunStableCoin
    function isMinter(address account) external view returns (bool) {
        return _minters[account].active;
    }

    /// @inheritdoc IMadiunStableCoin
    function minterAllowance(address minter) external view returns (uint256) {
        return _minters[minter].allowance;
    }

    /// @inheritdoc IMadiunStableCoin
    function mint(address to, uint256 amount) external whenNotPaused onlyMinter {
        if (amount == 0) revert MSCZeroAmount();
        if (to == address(0) || to == address(this)) revert ERC20InvalidReceiver(to);
        if (_accounts[msg.sender] >= FROZEN) revert MSCAccountFrozen(msg.sender);
        uint256 dst = _accounts[to];
        if (dst >= FROZEN) revert MSCAccountFrozen(to);
        Minter storage minter = _minters[msg.sender];
        uint256 remaining = minter.allowance;
        if (amount > remaining) revert MSCMintAllowanceExceeded(msg.sender, remaining, amount);
        uint256 supplyAfter = _totalSupply + amount;
        if (supplyAfter > _reserves) revert MSCReservesExceeded(supplyAfter, _reserves);
        unchecked {
            // amount <= remaining; supplyAfter <= reserves <= MAX_AMOUNT bounds every balance.
            minter.allowance = uint248(remaining - amount);
            _accounts[to] = dst + amount;
        }
        _totalSupply = supplyAfter;
        emit Mint(msg.sender, to, amount);
        emit Transfer(address(0), to, amount);
    }

    /// @inheritdoc IMadiunStableCoin
    function burn(uint256 amount) external whenNotPaused onlyMinter {
        if (amount == 0) revert MSCZeroAmount();
        uint256 word = _accounts[msg.sender];
        uint256 balance = word & BALANCE_MASK;
        if (amount > balance) revert ERC20InsufficientBalance(msg.sender, balance, amount);
        unchecked {
            // amount <= balance <= totalSupply; subtracting from the word keeps its freeze bit.
            _accounts[msg.sender] = word - amount;
            _totalSupply -= amount;
        }
        emit Burn(msg.sender, amount);
        emit Transfer(msg.sender, address(0), amount);
    }

    /// @inheritdoc IMadiunStableCoin
    function pause() external onlyRole(Role.Pauser) {
        _pause();
    }

    /// @inheritdoc IMadiunStableCoin
    function unpause() external onlyRole(Role.Pauser) {
        _unpause();
    }

    /// @inheritdoc IMadiunStableCoin
    function freeze(address account) external onlyRole(Role.Freezer) {
        uint256 word = _accounts[account];
        if (word >= FROZEN) revert MSCAccountFrozen(account);
        _accounts[account] = word | FROZEN;
        emit AccountFrozen(account);
    }

    /// @inheritdoc IMadiunStableCoin
    function unfreeze(address account) external onlyRole(Role.Freezer) {
        uint256 word = _accounts[account];
        if (word < FROZEN) revert MSCAccountNotFrozen(account);
        _accounts[account] = word & BALANCE_MASK;
        emit AccountUnfrozen(account);
    }

    /// @inheritdoc IMadiunStableCoin
    function isFrozen(address account) external view returns (bool) {
        return _accounts[account] >= FROZEN;
    }

    /// @inheritdoc IMadiunStableCoin
    function wipeFrozenBalance(address account, string calldata courtOrder) external onlyOwner {
        if (bytes(courtOrder).length == 0) revert MSCEmptyReference();
        uint256 word = _accounts[account];
        if (word < FROZEN) revert MSCAccountNotFrozen(account);
        uint256 amount = word & BALANCE_MASK;
        _accounts[account] = FROZEN;
        unchecked {
            // amount <= totalSupply.
            _totalSupply -= amount;
        }
        emit FrozenBalanceWiped(account, amount, courtOrder);
        emit Transfer(account, address(0), amount);
    }

    /// @inheritdoc IMadiunStableCoin
    function rescueERC20(address token, address to, uint256 amount) external onlyRole(Role.Rescuer) {
        if (to == address(0)) revert MSCZeroAddress();
        IERC20(token).safeTransfer(to, amount);
        emit TokensRescued(token, to, amount);
    }

    /// @inheritdoc IMadiunStableCoin
    function attestReserves(uint256 reserves, string calldata attestationRef) external onlyRole(Role.ReserveAttester) {
        if (bytes(attestationRef).length == 0) revert MSCEmptyReference();
        if (reserves > MAX_AMOUNT) revert MSCAmountTooLarge(reserves, MAX_AMOUNT);
        uint256 supply = _totalSupply;
        if (reserves < supply) revert MSCReservesBelowSupply(reserves, supply);
        _reserves = reserves;
        _reservesAttestedAt = uint64(block.timestamp);
        emit ReservesAttested(reserves, supply, attestationRef);
    }

    /// @inheritdoc IMadiunStableCoin
    function attestedReserves() external view returns (uint256 reserves, uint64 attestedAt) {
        return (_reserves, _reservesAttestedAt);
    }

    // ================================================================ internals

    /// @dev Moves `value` from `from` to `to`; both must be unfrozen. Callers check pause.
    function _transfer(address from, address to, uint256 value) private {
        if (to == address(0) || to == address(this)) revert ERC20InvalidReceiver(to);
        uint256 balance = _accounts[from];
        if (balance >= FROZEN) revert MSCAccountFrozen(from);
        if (value > balance) revert ERC20InsufficientBalance(from, balance, value);
        unchecked {
            // value <= balance. Written before `to` is read, so from == to nets to zero.
            _accounts[from] = balance - value;
        }
        uint256 dst = _accounts[to];
        if (dst >= FROZEN) revert MSCAccountFrozen(to);
        unchecked {
            // The sum of balances is totalSupply <= MAX_AMOUNT < FROZEN: cannot reach the freeze bit.
            _accounts[to] = dst + value;
        }
        emit Transfer(from, to, value);
    }

    /// @dev Sets an allowance; neither side may be frozen, so a frozen account gains no approval.
    function _approve(address owner, address spender, uint256 value) private {
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        if (_accounts[owner] >= FROZEN) revert MSCAccountFrozen(owner);
        if (_accounts[spender] >= FROZEN) revert MSCAccountFrozen(spender);
        _allowances[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    /// @dev Consumes `value` of `spender`'s allowance from `owner`; an infinite allowance stays.
    function _spendAllowance(address owner, address spender, uint256 value) private {
        uint256 current = _allowances[owner][spender];
        if (current != type(uint256).max) {
            if (current < value) revert ERC20InsufficientAllowance(spender, current, value);
            unchecked {
                // current >= value.
                _allowances[owner][spender] = current - value;
            }
        }
    }

    /// @dev Checks and spends an EIP-3009 authorization.
    function _useAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        if (block.timestamp <= validAfter) revert MSCAuthorizationNotYetValid(validAfter);
        if (block.timestamp >= validBefore) revert MSCAuthorizationExpired(validBefore);
        if (_authorizations[from][nonce]) revert MSCAuthorizationUsed(from, nonce);
        _checkSignature(from, keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)), v, r, s);
        _authorizations[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
    }

    /// @dev Reverts unless `signer` signed the EIP-712 digest of `structHash`. Accepts ERC-1271
    /// contract wallets as well as plain keys.
    function _checkSignature(address signer, bytes32 structHash, uint8 v, bytes32 r, bytes32 s) private view {
        bytes32 digest = _hashTypedDataV4(structHash);
        if (!SignatureChecker.isValidSignatureNow(signer, digest, abi.encodePacked(r, s, v))) {
            revert MSCInvalidSignature(signer);
        }
    }

    function _setRole(Role role, address account) private {
        if (account == address(0)) revert MSCZeroAddress();
        address previous = _roles[role];
        _roles[role] = account;
        emit RoleTransferred(role, previous, account);
    }
}
