"""Layout checks over a report PDF, as an auditor reading it would notice them (pdfplumber: characters, fonts and
positions as drawn).

- nothing drawn beyond the right margin (a table wider than the page loses its last columns);
- no heading stranded in the bottom 15% of a page with less than two lines of its content after it while
  the rest of its content goes on the next page;
- no page more than 70% empty, except the last page of a section (the next page opens a section) and the last;
- every link either a web address or a path relative to the PDF that exists inside the package;
- the document's title (not nbconvert's "Notebook") and language set, and the PDF tagged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pdfplumber

MM = 72 / 25.4
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 18 * MM, 12 * MM, 18 * MM  # report/export.py PRINT_CSS @page
TOLERANCE = 1.0  # points: anti-aliasing and glyph side bearings
HEADING_SIZE, SECTION_SIZE = 10.3, 12.4  # h3 and larger; h2 and larger (PAPER_CSS)
STRANDED_ZONE, MOST_EMPTY = 0.85, 0.70
KEPT_LINES = 2  # a heading at the foot of a page needs at least this many lines of its content after it


@dataclass(frozen=True)
class Line:
    top: float
    bottom: float
    text: str
    heading: bool
    section: bool


def _lines(page: pdfplumber.page.Page) -> list[Line]:
    """The page's text lines inside the content area (running header and footer left out), top to bottom."""
    inside = sorted((c for c in page.chars if c["text"].strip() and c["top"] >= MARGIN_TOP - 2
                     and c["bottom"] <= page.height - MARGIN_BOTTOM + 2), key=lambda c: c["top"])
    rows: list[list[dict]] = []
    for char in inside:  # a line: characters whose tops are within 3 pt (a status badge sits lower than its title)
        if rows and char["top"] - rows[-1][0]["top"] <= 3:
            rows[-1].append(char)
        else:
            rows.append([char])
    lines = []
    for chars in rows:
        chars.sort(key=lambda c: c["x0"])
        size = max(c["size"] for c in chars)
        bold = all("Bold" in c["fontname"] for c in chars if c["size"] >= size - 0.5)  # the line's largest text
        lines.append(Line(min(c["top"] for c in chars), max(c["bottom"] for c in chars),
                          "".join(c["text"] for c in chars), bold and size >= HEADING_SIZE,
                          bold and size >= SECTION_SIZE))
    return lines


def _content_bottom(page: pdfplumber.page.Page, lines: list[Line]) -> float:
    bottoms = [line.bottom for line in lines]
    bottoms += [img["bottom"] for img in page.images if img["bottom"] <= page.height - MARGIN_BOTTOM + 2]
    bottoms += [r["bottom"] for r in page.rects if r["top"] >= MARGIN_TOP - 2 and
                r["bottom"] <= page.height - MARGIN_BOTTOM + 2]
    return max(bottoms, default=MARGIN_TOP)


def _link_problem(uri: str, pdf: Path, package: Path) -> str:
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https", "mailto"):
        return ""
    if parts.scheme or uri.startswith("/"):
        return f"link to {uri[:80]!r} is not relative to the package"
    target = (pdf.parent / unquote(parts.path)).resolve() if parts.path else pdf.resolve()
    if not target.is_relative_to(package.resolve()):
        return f"link to {uri!r} leaves the package"
    if not target.exists():
        return f"link to {uri!r}: no such file in the package"
    return ""


def problems(pdf_path: Path, package: Path) -> list[str]:
    """Every layout problem of one PDF, one line each ("CC8.1.pdf p. 14: …")."""
    found: list[str] = []
    name = pdf_path.name
    with pdfplumber.open(pdf_path) as pdf:
        title = (pdf.metadata or {}).get("Title") or ""
        if not title or title == "Notebook":
            found.append(f"{name}: document title is {title!r}")
        if not pdf.doc.catalog.get("Lang"):
            found.append(f"{name}: document language not set")
        if not pdf.doc.catalog.get("StructTreeRoot"):
            found.append(f"{name}: the PDF is not tagged (no structure tree)")
        pages = list(pdf.pages)
        lines = [_lines(page) for page in pages]
        for number, (page, page_lines) in enumerate(zip(pages, lines, strict=True), 1):
            where = f"{name} p. {number}"
            right = page.width - MARGIN_RIGHT + TOLERANCE
            beyond = [c for c in page.chars if c["x1"] > right and c["text"].strip()]
            if beyond:
                text = "".join(c["text"] for c in sorted(beyond, key=lambda c: (round(c["top"]), c["x0"])))[:60]
                found.append(f"{where}: {len(beyond)} characters beyond the right margin ({text!r})")
            headings = [i for i, line in enumerate(page_lines) if line.heading]
            if headings:
                last = headings[-1]
                after = sum(not line.heading for line in page_lines[last + 1:])
                continues = number < len(pages) and bool(lines[number]) and not lines[number][0].heading
                if page_lines[last].top > page.height * STRANDED_ZONE and after < KEPT_LINES and continues:
                    found.append(f"{where}: heading {page_lines[last].text[:60]!r} stranded at the foot of the page "
                                 f"({after} line(s) after it)")
            usable = page.height - MARGIN_TOP - MARGIN_BOTTOM
            empty = 1 - (_content_bottom(page, page_lines) - MARGIN_TOP) / usable
            next_opens_section = number < len(pages) and bool(lines[number]) and lines[number][0].section
            if empty > MOST_EMPTY and number < len(pages) and not next_opens_section:
                found.append(f"{where}: {empty:.0%} of the page is empty and the next page does not open a section")
            for link in page.hyperlinks:
                problem = _link_problem(str(link.get("uri") or ""), pdf_path, package)
                if problem:
                    found.append(f"{where}: {problem}")
    return found


def package_problems(package: Path, pdfs: Iterable[Path] | None = None) -> list[str]:
    return [p for pdf in (pdfs or sorted((package / "reports").glob("*.pdf"))) for p in problems(pdf, package)]
