// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ICarbonMarket} from "./interfaces/ICarbonMarket.sol";
import {Payee} from "./libraries/Payee.sol";

/// @title CarbonMarket — see {ICarbonMarket}
/// @dev Checks, then effects (fill counters), then the two transfers; a revert anywhere undoes
/// the whole fill (and the whole batch). The fee is taken from the seller's proceeds and rounded
/// down: fee = amount x price x feeBps / 10_000. The fee transfer is tried, not required: a fee
/// recipient frozen after it was set would otherwise make every fill revert, so a fee it cannot
/// take is pulled into this contract instead (`_feesAccrued`) and collected to it later.
/// The size limit binds an account that is not allowlisted per UTC day (block.timestamp / 1 days),
/// over the tonnes it trades on either side, so splitting an order does not evade it; each order
/// must also fit the limit on its own, as before.
/// Balance identity: MSC held by this contract >= _feesAccrued (equal but for donations).
contract CarbonMarket is ICarbonMarket, AccessControl, Pausable, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Submits matched fills (the matching engine's signer).
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    /// @notice Maintains the allowlist, the size limit and the fee; pauses.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint8 side,uint256 tokenId,uint64 amount,uint256 price,uint64 expiry,uint256 salt,uint256 nonce)"
    );
    uint16 public constant MAX_FEE_BPS = 500;
    uint256 public constant MAX_BATCH = 100;

    IERC20 private immutable _msc;
    IERC1155 private immutable _credits;
    mapping(bytes32 orderHash => uint256) private _filled;
    mapping(bytes32 orderHash => bool) private _cancelled;
    mapping(address trader => uint256) private _nonces;
    mapping(address account => bool) private _allowlisted;
    /// @dev Per account: (UTC day << 128) | tonnes traded that day, one word per account.
    mapping(address account => uint256) private _daily;
    uint256 private _sizeLimit;
    // One slot: the fee terms read on every fill, and the fees accrued for a recipient that could
    // not take them (written only then).
    uint16 private _feeBps;
    address private _feeRecipient;
    uint80 private _feesAccrued;

    constructor(
        IERC20 msc,
        IERC1155 credits,
        address admin,
        address settler,
        address operator,
        address feeRecipient,
        uint16 feeBps,
        uint256 sizeLimit
    ) EIP712("MSC Carbon Market", "1") {
        if (
            address(msc) == address(0) || address(credits) == address(0) || admin == address(0)
                || settler == address(0) || operator == address(0) || feeRecipient == address(0)
        ) revert MarketZeroAddress();
        if (feeBps > MAX_FEE_BPS) revert MarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        if (!Payee.isPayable(msc, feeRecipient, address(this))) revert MarketRecipientUnpayable(feeRecipient);
        _msc = msc;
        _credits = credits;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SETTLER_ROLE, settler);
        _grantRole(OPERATOR_ROLE, operator);
        _feeBps = feeBps;
        _feeRecipient = feeRecipient;
        _sizeLimit = sizeLimit;
        emit FeeSet(feeBps, feeRecipient);
        emit SizeLimitSet(sizeLimit);
    }

    // ================================================================ settlement

    /// @inheritdoc ICarbonMarket
    function settle(Fill calldata fill) external whenNotPaused onlyRole(SETTLER_ROLE) {
        _settle(fill);
    }

    /// @inheritdoc ICarbonMarket
    function settleBatch(Fill[] calldata fills) external whenNotPaused onlyRole(SETTLER_ROLE) {
        uint256 n = fills.length;
        if (n == 0 || n > MAX_BATCH) revert MarketBatchSize(n, MAX_BATCH);
        for (uint256 i = 0; i < n; ++i) {
            _settle(fills[i]);
        }
    }

    // ================================================================ traders

    /// @inheritdoc ICarbonMarket
    function cancel(Order calldata order) external {
        if (msg.sender != order.trader) revert MarketNotTrader(msg.sender, order.trader);
        bytes32 orderHash = _hashOrder(order);
        _cancelled[orderHash] = true;
        emit OrderCancelled(orderHash, msg.sender);
    }

    /// @inheritdoc ICarbonMarket
    function incrementNonce() external returns (uint256 nonce) {
        nonce = ++_nonces[msg.sender];
        emit NonceIncremented(msg.sender, nonce);
    }

    // ================================================================ operator

    /// @inheritdoc ICarbonMarket
    function setAllowlisted(address account, bool allowed) external onlyRole(OPERATOR_ROLE) {
        _allowlisted[account] = allowed;
        emit AllowlistSet(account, allowed);
    }

    /// @inheritdoc ICarbonMarket
    function setSizeLimit(uint256 sizeLimit) external onlyRole(OPERATOR_ROLE) {
        _sizeLimit = sizeLimit;
        emit SizeLimitSet(sizeLimit);
    }

    /// @inheritdoc ICarbonMarket
    function setFee(uint16 feeBps, address recipient) external onlyRole(OPERATOR_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert MarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        if (recipient == address(0)) revert MarketZeroAddress();
        if (!Payee.isPayable(_msc, recipient, address(this))) revert MarketRecipientUnpayable(recipient);
        _feeBps = feeBps;
        _feeRecipient = recipient;
        emit FeeSet(feeBps, recipient);
    }

    /// @inheritdoc ICarbonMarket
    function collectFees() external returns (uint256 amount) {
        amount = _feesAccrued;
        if (amount == 0) revert MarketNothingToCollect();
        address recipient = _feeRecipient;
        _feesAccrued = 0;
        emit FeesCollected(recipient, amount);
        _msc.safeTransfer(recipient, amount);
    }

    /// @notice Stops settlement.
    function pause() external onlyRole(OPERATOR_ROLE) {
        _pause();
    }

    /// @notice Resumes settlement.
    function unpause() external onlyRole(OPERATOR_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @inheritdoc ICarbonMarket
    function hashOrder(Order calldata order) external view returns (bytes32) {
        return _hashOrder(order);
    }

    /// @inheritdoc ICarbonMarket
    function filled(bytes32 orderHash) external view returns (uint256) {
        return _filled[orderHash];
    }

    /// @inheritdoc ICarbonMarket
    function cancelled(bytes32 orderHash) external view returns (bool) {
        return _cancelled[orderHash];
    }

    /// @inheritdoc ICarbonMarket
    function nonceOf(address trader) external view returns (uint256) {
        return _nonces[trader];
    }

    /// @inheritdoc ICarbonMarket
    function isAllowlisted(address account) external view returns (bool) {
        return _allowlisted[account];
    }

    /// @inheritdoc ICarbonMarket
    function feesAccrued() external view returns (uint256) {
        return _feesAccrued;
    }

    /// @inheritdoc ICarbonMarket
    function tradedToday(address account) external view returns (uint256) {
        uint256 word = _daily[account];
        return word >> 128 < block.timestamp / 1 days ? 0 : uint128(word);
    }

    /// @notice The fee in basis points, its recipient, and the size above which only allowlisted trade.
    function terms() external view returns (uint16 feeBps, address feeRecipient, uint256 sizeLimit) {
        return (_feeBps, _feeRecipient, _sizeLimit);
    }

    // ================================================================ internals

    function _settle(Fill calldata fill) private {
        Order calldata buy = fill.buy;
        Order calldata sell = fill.sell;
        uint64 amount = fill.amount;
        if (amount == 0) revert MarketZeroAmount();
        if (buy.tokenId != sell.tokenId) revert MarketTokenMismatch(buy.tokenId, sell.tokenId);
        if (buy.trader == sell.trader) revert MarketSelfTrade(buy.trader);
        if (fill.price > buy.price || fill.price < sell.price) {
            revert MarketPriceOutsideLimits(fill.price, buy.price, sell.price);
        }
        bytes32 buyHash = _checkOrder(buy, Side.Buy, fill.buySignature, amount);
        bytes32 sellHash = _checkOrder(sell, Side.Sell, fill.sellSignature, amount);
        _filled[buyHash] += amount;
        _filled[sellHash] += amount;
        uint256 limit = _sizeLimit; // warm: _checkOrder read it
        _countDaily(buy.trader, amount, limit);
        _countDaily(sell.trader, amount, limit);

        uint256 notional = uint256(amount) * fill.price;
        uint256 fee = notional * _feeBps / 10_000;
        emit OrderFilled(buyHash, sellHash, buy.tokenId, buy.trader, sell.trader, amount, fill.price, fee);
        _msc.safeTransferFrom(buy.trader, sell.trader, notional - fee);
        if (fee > 0) {
            address recipient = _feeRecipient;
            // Tried, not required (see the header); the try is the call safeTransferFrom makes.
            if (!_msc.trySafeTransferFrom(buy.trader, recipient, fee)) {
                _msc.safeTransferFrom(buy.trader, address(this), fee); // reverts with the buyer's reason
                _feesAccrued = SafeCast.toUint80(_feesAccrued + fee); // the transfer bounds fee by a balance
                emit FeeAccrued(buyHash, recipient, fee);
            }
        }
        _credits.safeTransferFrom(sell.trader, buy.trader, buy.tokenId, amount, "");
    }

    /// @dev Adds `amount` tonnes to `trader`'s volume of the UTC day and refuses it above `limit`
    /// unless the trader is allowlisted. One storage word per account (about 5k gas per trader on
    /// its first fill of a transaction, 200 after): the cost of a limit that splitting cannot evade.
    function _countDaily(address trader, uint256 amount, uint256 limit) private {
        uint256 word = _daily[trader];
        uint256 today = block.timestamp / 1 days;
        uint256 before = word >> 128 < today ? 0 : uint128(word); // days only grow: a past day is 0
        uint256 traded = before + amount; // amounts are uint64: no overflow of the 128-bit half
        if (traded > limit && !_allowlisted[trader]) {
            revert MarketDailyLimitExceeded(trader, before, amount, limit);
        }
        _daily[trader] = (today << 128) | traded;
    }

    /// @dev Checks an order for a fill of `amount` and returns its hash.
    function _checkOrder(Order calldata order, Side side, bytes calldata signature, uint64 amount)
        private
        view
        returns (bytes32 orderHash)
    {
        orderHash = _hashOrder(order);
        if (order.side != side) revert MarketWrongSide(orderHash);
        if (block.timestamp > order.expiry) revert MarketOrderExpired(orderHash, order.expiry);
        if (_cancelled[orderHash]) revert MarketOrderCancelled(orderHash);
        uint256 current = _nonces[order.trader];
        if (order.nonce != current) revert MarketOrderNonceStale(orderHash, order.nonce, current);
        uint256 done = _filled[orderHash];
        if (done + amount > order.amount) revert MarketOrderOverfilled(orderHash, done, order.amount, amount);
        if (order.amount > _sizeLimit && !_allowlisted[order.trader]) {
            revert MarketNotAllowlisted(order.trader, order.amount, _sizeLimit);
        }
        if (!SignatureChecker.isValidSignatureNow(order.trader, _hashTypedDataV4(orderHash), signature)) {
            revert MarketInvalidSignature(order.trader);
        }
    }

    function _hashOrder(Order calldata o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(ORDER_TYPEHASH, o.trader, o.side, o.tokenId, o.amount, o.price, o.expiry, o.salt, o.nonce)
        );
    }
}
