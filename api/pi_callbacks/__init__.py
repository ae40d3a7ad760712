"""The Pi SDK's server callbacks, forwarded by a merchant's Pi app server, as HTTP endpoints."""
