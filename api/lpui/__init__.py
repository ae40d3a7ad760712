"""The LPUI's public read API (``/v1/lpui``) and its explorer page (``/explorer/lpui``)."""
