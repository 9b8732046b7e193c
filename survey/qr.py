"""QR codes as inline SVG, for letters to residents and authenticator-app enrolment."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, title: str, scale: int = 4) -> Markup:
    """A QR code as inline SVG (segno writes attributes, never style=, so the CSP allows it)."""
    svg = segno.make(data, error="m").svg_inline(scale=scale, title=title, svgclass="qr", lineclass="qr-line")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704  # nosec B704 - segno SVG of our own start URL
