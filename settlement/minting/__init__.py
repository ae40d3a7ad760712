"""Minting credited Pi payments as MSC into the merchant escrow in batches, and releasing them."""
