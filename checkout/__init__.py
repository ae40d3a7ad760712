"""The hosted checkout: customers pay any merchant in Pi from its QR code, in the Pi Browser."""
