"""Merchants refund their customers' payments, in full or in part, with a reason: from the escrow
while a payment is held (the merchant's signed authorization, relayed by the platform), from the
guarantee fund after it was released (the operator's cover). Written ahead and resumable."""
