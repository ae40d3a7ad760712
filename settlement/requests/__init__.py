"""Payment requests (BTCPay's invoice / payment request): a merchant's amount, reference and expiry,
paid through the hosted checkout, once or again and again."""
