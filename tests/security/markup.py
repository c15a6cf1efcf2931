"""Reading a report the way a browser and WeasyPrint do, for the markup-injection tests: its elements (was a
script or a style smuggled in?), its visible text, its running header/footer strings as CSS tokens, and the
laid-out PDF pages (badge colours, margin boxes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import tinycss2

# Closes the style element and the CSS string, turns every badge green, hides the deviation tables, runs script.
HOSTILE_ORGANIZATION = (
    'Acme"; } .ab-badge { background: #1b7f3b !important } \\"</style><style>.ab-badge{background:#1b7f3b '
    "!important} table.ab-table{display:none}</style><script>alert(1)</script><img src=x onerror=alert(2)>"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
FAIL_RGB = (0xB3, 0x26, 0x1E)


@dataclass
class Page(HTMLParser):
    """Every element (tag, attributes, whether inside <head>), the text, and each <style> element's text."""

    elements: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    _in_head: bool = False
    _in_style: bool = False

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, self._in_head))
        self._in_head = self._in_head or tag == "head"
        if tag == "style":
            self._in_style = True
            self.styles.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, self._in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data
        else:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs, _ in self.elements if tag == name]

    def csp(self) -> list[str]:
        return [attrs.get("content", "") for tag, attrs, in_head in self.elements
                if tag == "meta" and in_head and attrs.get("http-equiv", "").lower() == "content-security-policy"]

    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html_text: str) -> Page:
    page = Page()
    page.feed(html_text)
    page.close()
    return page


def margin_strings(page: Page) -> dict[str, list[str]]:
    """The `content` strings of the @page margin boxes (@top-left, @bottom-left...), as CSS reads them."""
    found: dict[str, list[str]] = {}
    for style in page.styles:
        for rule in tinycss2.parse_stylesheet(style, skip_comments=True, skip_whitespace=True):
            if rule.type != "at-rule" or rule.lower_at_keyword != "page" or rule.content is None:
                continue
            for box in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
                if box.type != "at-rule" or box.content is None:
                    continue
                for decl in tinycss2.parse_blocks_contents(box.content, skip_comments=True, skip_whitespace=True):
                    if decl.type == "declaration" and decl.lower_name == "content":
                        tokens = [t for t in decl.value if t.type != "whitespace"]
                        found.setdefault(box.at_keyword, []).append(
                            tokens[0].value if len(tokens) == 1 and tokens[0].type == "string" else repr(tokens))
    return found


@dataclass
class Laid:
    badges: list[tuple[str, tuple[int, int, int]]]  # (text, background rgb) of every .ab-badge
    tables_shown: int  # table.ab-table boxes laid out (display:none lays out none)
    margins: list[dict[str, str]]  # per page: margin box → its text


def lay_out(html_path: Path) -> Laid:
    """The report laid out by WeasyPrint, as its PDF is written: a criterion report with its paper stylesheet in
    place of JupyterLab's (``export.for_paper``), the index as it is."""
    from auditbook.report.export import LAB_CSS, for_paper
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    text = html_path.read_text(encoding="utf-8")
    document = HTML(string=for_paper(text) if LAB_CSS[0] in text else text, base_url=str(html_path.parent)).render()
    badges, tables, margins = [], 0, []
    for page in document.pages:
        texts: dict[str, str] = {}
        for margin in page._page_box.children:
            if isinstance(margin, boxes.MarginBox):
                texts[margin.at_keyword] = "".join(b.text for b in margin.descendants() if isinstance(b, boxes.TextBox))
        margins.append(texts)
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or box.element_tag not in ("span", "table"):
                continue
            classes = (element.get("class") or "").split()
            if box.element_tag == "span" and "ab-badge" in classes and isinstance(box, boxes.InlineBox):
                colour = box.style["background_color"]
                badges.append(("".join(element.itertext()), tuple(round(c * 255) for c in colour.coordinates)))
            elif box.element_tag == "table" and "ab-table" in classes and isinstance(box, boxes.TableBox):
                tables += 1
    return Laid(badges, tables, margins)
