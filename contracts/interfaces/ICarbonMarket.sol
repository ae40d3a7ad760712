// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Carbon market settlement: EIP-712 signed orders settled delivery-versus-payment
/// @notice Traders sign orders (buy or sell tonnes of one carbon credit id at a price in MSC sen
/// per tonne) in their wallets; the platform's matching engine matches them off-chain and its
/// settler submits the matched fills here. Each fill moves MSC from the buyer to the seller (minus
/// the fee, to the fee recipient) and the credits from the seller to the buyer in one transaction,
/// or nothing moves. Orders fill partially up to their amount; traders cancel one order, or all
/// their open orders at once by bumping their nonce. Above a size limit only allowlisted accounts
/// (verified entities) may trade: an order above it, or fills that take an account's tonnes traded
/// in one UTC day (both sides) above it, need the account allowlisted. A fee the fee recipient
/// cannot take (frozen) accrues in the contract and is collected to the recipient later.
///
/// Invariants (tests/contracts/test_market_properties.py): across any sequence of fills, MSC and
/// credits are conserved (what a buyer pays, the seller and fee recipient receive; what a seller
/// delivers, the buyer receives, fees accrued included); an order is never filled beyond its
/// amount; a cancelled, expired or stale-nonce order never fills; an account that is not
/// allowlisted never trades more than the size limit in one UTC day.
interface ICarbonMarket {
    enum Side {
        Buy,
        Sell
    }

    /// @notice A signed order, as the trader's wallet shows it.
    struct Order {
        address trader;
        Side side;
        uint256 tokenId;
        uint64 amount; // tonnes
        uint256 price; // MSC sen per tonne: the limit (max for a buy, min for a sell)
        uint64 expiry; // unix seconds
        uint256 salt;
        uint256 nonce; // must equal the trader's current nonce
    }

    /// @notice One matched fill of a buy and a sell order.
    struct Fill {
        Order buy;
        bytes buySignature;
        Order sell;
        bytes sellSignature;
        uint64 amount; // tonnes
        uint256 price; // the maker's price, between the two limits
    }

    error MarketZeroAmount();
    error MarketWrongSide(bytes32 orderHash);
    error MarketTokenMismatch(uint256 buyTokenId, uint256 sellTokenId);
    error MarketSelfTrade(address trader);
    /// @notice `price` is above the buy limit `buyPrice` or below the sell limit `sellPrice`.
    error MarketPriceOutsideLimits(uint256 price, uint256 buyPrice, uint256 sellPrice);
    error MarketOrderExpired(bytes32 orderHash, uint64 expiry);
    error MarketOrderCancelled(bytes32 orderHash);
    /// @notice The order's nonce `nonce` is not the trader's current `current` (cancelled by a bump).
    error MarketOrderNonceStale(bytes32 orderHash, uint256 nonce, uint256 current);
    /// @notice Filling `fill` more would exceed the order's `amount` (`filled` so far).
    error MarketOrderOverfilled(bytes32 orderHash, uint256 filled, uint256 amount, uint256 fill);
    error MarketInvalidSignature(address trader);
    /// @notice `trader` is not allowlisted to trade `amount` tonnes (the limit is `sizeLimit`).
    error MarketNotAllowlisted(address trader, uint256 amount, uint256 sizeLimit);
    error MarketNotTrader(address caller, address trader);
    error MarketFeeTooHigh(uint16 feeBps, uint16 maxBps);
    error MarketZeroAddress();
    error MarketBatchSize(uint256 size, uint256 max);
    /// @notice `trader`, not allowlisted, traded `traded` t today; `amount` more exceeds `sizeLimit`.
    error MarketDailyLimitExceeded(address trader, uint256 traded, uint256 amount, uint256 sizeLimit);
    /// @notice MSC cannot pay `recipient` (the token, this market, or a frozen account).
    error MarketRecipientUnpayable(address recipient);
    /// @notice No fees have accrued.
    error MarketNothingToCollect();

    event OrderFilled(
        bytes32 indexed buyHash,
        bytes32 indexed sellHash,
        uint256 indexed tokenId,
        address buyer,
        address seller,
        uint64 amount,
        uint256 price,
        uint256 fee
    );
    event OrderCancelled(bytes32 indexed orderHash, address indexed trader);
    event NonceIncremented(address indexed trader, uint256 nonce);
    event AllowlistSet(address indexed account, bool allowed);
    event SizeLimitSet(uint256 sizeLimit);
    event FeeSet(uint16 feeBps, address indexed recipient);
    /// @notice The fee `fee` of the fill of buy order `buyHash` could not be paid to `recipient`
    /// (frozen); it was taken into the market and accrued for it.
    event FeeAccrued(bytes32 indexed buyHash, address indexed recipient, uint256 fee);
    /// @notice The accrued fees `amount` were paid to `recipient`.
    event FeesCollected(address indexed recipient, uint256 amount);

    /// @notice Settles one matched fill. Only the settler.
    function settle(Fill calldata fill) external;

    /// @notice Settles many fills atomically (all or none). Only the settler.
    function settleBatch(Fill[] calldata fills) external;

    /// @notice The trader cancels one of its orders.
    function cancel(Order calldata order) external;

    /// @notice The caller cancels all its open orders (they carry the old nonce).
    function incrementNonce() external returns (uint256);

    function setAllowlisted(address account, bool allowed) external;
    function setSizeLimit(uint256 sizeLimit) external;
    /// @notice Sets the fee and its recipient; refuses a recipient MSC cannot pay.
    function setFee(uint16 feeBps, address recipient) external;

    /// @notice Pays the accrued fees to the fee recipient; anyone may call it.
    function collectFees() external returns (uint256 amount);

    /// @notice Fees waiting for collectFees.
    function feesAccrued() external view returns (uint256);

    /// @notice Tonnes `account` traded today (UTC day of the block), both sides.
    function tradedToday(address account) external view returns (uint256);

    /// @notice The EIP-712 hash of `order` (what the trader signs).
    function hashOrder(Order calldata order) external view returns (bytes32);
    function filled(bytes32 orderHash) external view returns (uint256);
    function cancelled(bytes32 orderHash) external view returns (bool);
    function nonceOf(address trader) external view returns (uint256);
    function isAllowlisted(address account) external view returns (bool);
}
