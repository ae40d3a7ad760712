"""The platform's HTTP API (FastAPI): merchants, quotes, wallet metadata, with keys, idempotency and metrics.

Start it with ``uvicorn api.app:create_app --factory``; settings come from ``MSC_API_*`` variables
(:mod:`api.settings`).
"""
