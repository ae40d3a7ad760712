"""The carbon market: signed orders in, book depth, trades and candles out."""
