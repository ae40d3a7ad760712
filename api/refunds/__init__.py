"""``/v1/payments/{payment_id}/refunds``: API merchants refund their customers' payments."""
