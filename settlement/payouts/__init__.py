"""Redemption payouts: MSC burned by a merchant, paid out in Rupiah by bank transfer."""
