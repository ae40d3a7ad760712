"""In-memory matching engine for carbon-credit tokens against MSC: order book, safeguards, market data."""
