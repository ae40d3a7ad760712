"""QR codes of checkout links, drawn on the server with segno (SVG for print and screens, PNG for chat).

Error correction ``M`` (15 %): readable on a laminated card with a scratch, still small.
"""

from __future__ import annotations

import io

import segno

SVG_SCALE = 8
PNG_SCALE = 10
BORDER = 4  # the quiet zone the QR standard asks for, in modules


def svg(url: str) -> bytes:
    """``url`` as an SVG QR code (black on white, with its quiet zone and a title)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=SVG_SCALE, border=BORDER, title=url, xmldecl=True)
    return out.getvalue()


def png(url: str) -> bytes:
    """``url`` as a PNG QR code."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=PNG_SCALE, border=BORDER)
    return out.getvalue()
