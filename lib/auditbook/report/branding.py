"""The organization's look on its reports (params ``report``): a logo on the covers and the index, an accent
colour for headings, a confidentiality line in every page footer. Everything from params reaches the HTML
escaped (Jinja2 autoescape, ``html.escape``) or as a hex-escaped CSS string (``export.css_string``)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
LOGO_MAX_BYTES = 256 * 1024


def logo_problem(params: dict[str, Any]) -> str | None:
    """Why params ``report.logo`` cannot be used (None when it can): one line naming the file."""
    logo = (params.get("report") or {}).get("logo")
    if not logo:
        return None
    path = Path(logo)
    if path.suffix.lower() not in LOGO_TYPES:
        return f"report.logo: {path.name} is not a PNG, JPEG or SVG file"
    if not path.is_file():
        return f"report.logo: {path} does not exist"
    if path.stat().st_size > LOGO_MAX_BYTES:
        return f"report.logo: {path.name} is larger than {LOGO_MAX_BYTES // 1024} KiB"
    return None


def branding(params: dict[str, Any]) -> dict[str, str]:
    """The report look a run records (run.json): logo as a data: URI (the reports fetch nothing), accent colour,
    confidentiality line; empty values when params set none."""
    report = params.get("report") or {}
    logo = ""
    if report.get("logo"):
        path = Path(report["logo"])
        logo = f"data:{LOGO_TYPES[path.suffix.lower()]};base64,{base64.b64encode(path.read_bytes()).decode()}"
    return {"logo": logo, "accent_colour": report.get("accent_colour") or "",
            "confidentiality": report.get("confidentiality") or ""}


def accent_css(colour: str) -> str:
    """Headings in the accent colour; the colour is checked against ``#RRGGBB`` by the params schema."""
    return f"h1, h2, .ab-toc h2 {{ color: {colour}; }} .ab-cover {{ border-top: 3mm solid {colour}; }}" \
        if colour else ""
