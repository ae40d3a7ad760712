"""Issue #15's API: a merchant's consents (``/v1/merchants/me/consents``, ``/v1/lenders``) and the
lender role's routes (``/v1/lender/...``), which read only merchants who consented to that lender."""
