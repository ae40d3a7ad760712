"""``/v1/liabilities``: the published proof-of-liabilities roots, and a merchant's own proof."""
