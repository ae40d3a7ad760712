"""``/v1/payment-requests``: merchants' payment requests paid through the hosted checkout."""
