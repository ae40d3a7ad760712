"""``/v1/redemptions``: merchants redeem MSC for Rupiah; operators record the bank's answer."""
