"""Redeeming MSC for Rupiah: the merchant's MSC moved by a signed authorization and burned, and a
payout for the bank transfer."""
