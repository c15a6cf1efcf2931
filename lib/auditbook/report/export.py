"""Executed notebook → HTML (code hidden) → PDF, without TeX or a browser.

nbconvert's HTMLExporter with ``exclude_input`` hides the code (``--report-mode`` does not);
WeasyPrint lays the HTML out on A4 pages with a print stylesheet: a cover page, a table of
contents with page numbers (``target-counter``), a running header (criterion, period) and footer
(organization, run, page x of y). The page of every anchor (each test's ``test-<id>``) is returned
so the index can point at the page of a test.

Values from params and evidence reach the HTML escaped for their context: text and attributes with
``html.escape`` (report/display.py, the cover page here, report/index.py), the running header and footer as
CSS strings with every character outside ``[A-Za-z0-9 ]`` as a hex escape, so nothing closes the string or
the style element. The HTML carries no script and a Content-Security-Policy that forbids any.

The HTML report keeps JupyterLab's look; the PDF is laid out from the same HTML with JupyterLab's 240 KB
screen stylesheet swapped for :data:`PAPER_CSS` (:func:`for_paper`): WeasyPrint parsed and matched the whole
of it for every report, a third of the export's time, to print a handful of elements.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter

from auditbook.report.branding import accent_css

PRINT_CSS = """
@page { size: A4; margin: 18mm 12mm 18mm 12mm;
  @top-left { content: "%(header)s"; font-size: 7pt; color: #555; font-family: "DejaVu Sans", sans-serif; }
  @top-right { content: "%(top_right)s"; font-size: 7pt; color: #555; font-family: "DejaVu Sans", sans-serif; }
  @bottom-left { content: "%(footer)s"; font-size: 7pt; color: #555; font-family: "DejaVu Sans", sans-serif; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 7pt; color: #555;
    font-family: "DejaVu Sans", sans-serif; } }
@page :first { @top-left { content: none; } @top-right { content: none; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; }
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
.jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { padding: 0 !important; margin: 0 !important; }
.jp-RenderedHTMLCommon table { table-layout: auto; }
img { max-width: 100%%; }
h1, h2, h3, h4 { page-break-after: avoid; }
tr, img { page-break-inside: avoid; }
/* A markdown cell introduces what follows it; a test's title, description and conclusion stay with its body. */
.jp-MarkdownCell, .ab-test > h3, .ab-test > .ab-desc, .ab-test > .ab-count { break-after: avoid; }
table.ab-table { font-size: 7.2pt; }
/* break-word, not anywhere: 'anywhere' makes every character a break opportunity when WeasyPrint sizes table
   columns, which more than doubled export time; long words still break when they would overflow. */
table.ab-table td, table.kv td { overflow-wrap: break-word !important; word-break: normal !important; }
.ab-cover { page-break-after: always; }
.ab-cover h1 { font-size: 20pt; margin: 30mm 0 4mm 0; }
.ab-logo { max-height: 18mm; max-width: 70mm; display: block; margin-top: 8mm; }
.ab-logo + h1 { margin-top: 12mm; }
.ab-cover .ab-cover-sub { font-size: 11pt; color: #444; margin-bottom: 8mm; }
.ab-cover table.kv { font-size: 9pt; }
.ab-cover .ab-cover-status { font-size: 14pt; margin: 6mm 0; }
.ab-toc { page-break-after: always; }
.ab-toc h2 { font-size: 13pt; }
.ab-toc ul { list-style: none; padding: 0; margin: 0; }
.ab-toc li { margin: 2px 0; font-size: 9pt; }
.ab-toc li.sub { padding-left: 14px; font-size: 8.5pt; }
.ab-toc a { color: #111; text-decoration: none; }
.ab-toc a::after { content: leader('.') target-counter(attr(href), page); }
"""

# The PDF's base look, in place of JupyterLab's stylesheet: only the elements a report prints (markdown text,
# the display.py blocks, text and image outputs). report.css (in the header's output) and PRINT_CSS come later
# in the document and win where both speak.
PAPER_CSS = """
body { margin: 0; color: #111; line-height: 1.35; }
main, .jp-Cell, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output { display: block; }
a.anchor-link, .jp-Collapser, .jp-InputPrompt, .jp-OutputPrompt { display: none; }
h1 { font-size: 16pt; margin: 0 0 6pt 0; font-weight: 600; }
h2 { font-size: 12.5pt; margin: 12pt 0 4pt 0; font-weight: 600; }
h3 { font-size: 10.5pt; margin: 8pt 0 3pt 0; font-weight: 600; }
h4 { font-size: 9.5pt; margin: 6pt 0 2pt 0; font-weight: 600; }
p { margin: 0 0 5pt 0; }
ul, ol { margin: 0 0 5pt 0; padding-left: 16pt; }
code, pre { font-family: "DejaVu Sans Mono", monospace; }
code { font-size: 88%; background: #eeeff1; padding: 0 2pt; }
pre { font-size: 7.5pt; margin: 2pt 0 6pt 0; white-space: pre-wrap; overflow-wrap: break-word; }
.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"] { background: #fdd; }
table { border-collapse: collapse; border-spacing: 0; }
th, td { text-align: left; vertical-align: top; padding: 1pt 5pt; }
thead { border-bottom: 1px solid #9ea5ad; }
.jp-RenderedHTMLCommon tbody tr:nth-child(even) { background: #f5f5f5; }
.jp-RenderedImage { text-align: center; margin: 4pt 0; }
.ansi-bold { font-weight: bold; }
.ansi-red-fg { color: #b22b31; } .ansi-green-fg { color: #007427; } .ansi-yellow-fg { color: #b27d12; }
.ansi-blue-fg { color: #0065ca; } .ansi-magenta-fg { color: #a03196; } .ansi-cyan-fg { color: #258f8f; }
"""
LAB_CSS = ("<!-- ab:lab-css -->", "<!-- /ab:lab-css -->")  # around JupyterLab's stylesheet (report.html.j2)

STATUS_COLOURS = {"PASS": "#1b7f3b", "FAIL": "#b3261e", "ERROR": "#7a4b00", "NOT_APPLICABLE": "#5f6368"}

# A markdown heading (nbconvert gives it an id) or a test block (report/display.py gives it test-<id>).
_ANCHORS = re.compile(
    r"<h(?P<level>[12]) id=[\"'](?P<hid>[^\"']+)[\"']>(?P<htext>.*?)</h[12]>"
    r"|<div class=[\"']ab-test[\"'] id=[\"'](?P<tid>test-[^\"']+)[\"']>\s*<h3>(?P<ttext>.*?)</h3>",
    re.S,
)
_TAGS = re.compile(r"<[^>]+>")


# Scripts never run in a report (there is none); styles are inline, charts are inline data: PNG images.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">'
TEMPLATES = Path(__file__).parent / "templates"
_CSS_UNSAFE = re.compile(r"[^A-Za-z0-9 ]")


def css_string(text: object) -> str:
    """``text`` as the content of a double-quoted CSS string: whitespace runs become one space, and every other
    character outside ``[A-Za-z0-9 ]`` a six-digit hex escape (``<`` is ``\\00003C ``), so no value can end the
    string, the rule or the style element it sits in."""
    collapsed = " ".join(str(text).split())
    return _CSS_UNSAFE.sub(lambda m: f"\\{ord(m[0]):06X} ", collapsed)


def css(header: str, footer: str, top_right: str = "") -> str:
    return PRINT_CSS % {"header": css_string(header), "footer": css_string(footer), "top_right": css_string(top_right)}


def footer_text(footer: str, confidentiality: str = "") -> str:
    """The running footer: the organization's confidentiality line (params report.confidentiality) first."""
    return f"{confidentiality} · {footer}" if confidentiality else footer


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment (anchor links of headings dropped)."""
    return " ".join(html.unescape(_TAGS.sub(" ", fragment.replace("¶", ""))).split())


def table_of_contents(body: str) -> list[tuple[str, str, int]]:
    """(anchor, title, level) for the markdown sections (h1/h2) and each test, in document order."""
    entries = []
    for m in _ANCHORS.finditer(body):
        if m["tid"]:
            entries.append((m["tid"], _text(m["ttext"]), 3))
        else:
            entries.append((m["hid"], _text(m["htext"]), int(m["level"])))
    # The first h1 is the notebook's title, already on the cover.
    if entries and entries[0][2] == 1:
        entries = entries[1:]
    return entries


def front_matter(cover: dict[str, Any], toc: list[tuple[str, str, int]]) -> str:
    esc = html.escape
    status = cover.get("status") or ""
    colour = STATUS_COLOURS.get(status, "#5f6368")
    facts = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in cover["facts"].items()
                    if v not in (None, ""))
    note = f"<p class='ab-cause'>{esc(cover['note'])}</p>" if cover.get("note") else ""
    items = "".join(
        f"<li class='{'sub' if level == 3 else ''}'><a href='#{esc(anchor, quote=True)}'>{esc(title)}</a></li>"
        for anchor, title, level in toc
    )
    logo = f"<img class='ab-logo' alt='logo' src='{esc(cover['logo'], quote=True)}'>" if cover.get("logo") else ""
    return (
        f"<div class='ab-cover'>{logo}<h1>{esc(cover['title'])}</h1>"
        "<div class='ab-cover-sub'>SOC 2 Type II evidence report, produced by auditbook</div>"
        f"<div class='ab-cover-status'>Result: <span class='ab-badge' style='background:{colour}'>"
        f"{esc(status)}</span></div><table class='kv'>{facts}</table>{note}"
        "<p class='ab-note'>The complete populations, samples and raw API responses are in the package; "
        "every file's sha256 is in manifest.json (<code>auditbook verify &lt;package&gt;</code>).</p></div>"
        + (f"<div class='ab-toc'><h2>Contents</h2><ul>{items}</ul></div>" if items else "")
    )


def to_html(notebook_path: Path, cover: dict[str, Any] | str) -> str:
    """The report's HTML; ``cover`` is the cover facts (see package.report_cover) or a footer text."""
    if isinstance(cover, str):
        cover = {"title": notebook_path.stem, "header": cover, "footer": cover, "status": "", "facts": {}}
    nb = nbformat.read(notebook_path, as_version=4)
    nb.metadata["title"] = cover["title"]  # the HTML <title>, the PDF's document title (not nbconvert's "Notebook")
    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)], template_file="report.html.j2",
                            exclude_input=True, exclude_output_prompt=True, exclude_input_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"content_security_policy": CONTENT_SECURITY_POLICY})
    style = css(cover["header"], footer_text(cover["footer"], cover.get("confidentiality", "")),
                cover.get("top_right", "")) + accent_css(cover.get("accent_colour", ""))
    body = body.replace("</head>", f"<style>{style}</style></head>", 1)
    if cover.get("facts"):
        front = front_matter(cover, table_of_contents(body))
        body = re.sub(r"(<body[^>]*>)", lambda m: m[1] + front, body, count=1)
    return body


def for_paper(html_text: str) -> str:
    """The report's HTML for the PDF: the head's JupyterLab stylesheet (between :data:`LAB_CSS`) replaced by
    :data:`PAPER_CSS`; everything else, the Content-Security-Policy included, as it is in the HTML report."""
    head_end = html_text.find("</head>")
    start = html_text.find(LAB_CSS[0], 0, head_end)
    end = html_text.find(LAB_CSS[1], start, head_end)
    if head_end < 0 or start < 0 or end < 0:
        raise ValueError("the report's HTML has no JupyterLab stylesheet between the markers of report.html.j2")
    return f"{html_text[:start]}<style>{PAPER_CSS}</style>{html_text[end + len(LAB_CSS[1]):]}"


def html_to_pdf(html_text: str, pdf_path: Path, attachments: list[Path] | None = None) -> dict[str, int]:
    """Write the PDF (tagged, so a screen reader and a copy-paste follow its structure); return the 1-based page
    of every anchor (element id) in it. With ``attachments`` it is PDF/A-3 (ISO 19005-3, level A: tagged) with
    those files embedded, one file carrying the summary and its data.

    No base URL: a report fetches nothing (images are inline), and its links to other files of the package stay
    relative to the PDF — with one, WeasyPrint writes them as absolute ``file://`` URLs into the staging folder,
    dead once the package is published."""
    from weasyprint import HTML, Attachment  # imported here: only the export step needs it

    document = HTML(string=html_text).render()
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, 1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    if attachments:
        files = [Attachment(filename=str(path), name=path.name, relationship="Data",
                            description=f"{path.name} of this evidence package") for path in attachments]
        document.write_pdf(pdf_path, pdf_variant="pdf/a-3a", attachments=files)
    else:
        document.write_pdf(pdf_path, pdf_tags=True)
    return pages


def export_notebook(notebook_path: Path, cover: dict[str, Any] | str) -> tuple[Path, Path, dict[str, int]]:
    html_text = to_html(notebook_path, cover)
    html_path = notebook_path.with_suffix(".html")
    html_path.write_text(html_text, encoding="utf-8")
    pdf_path = notebook_path.with_suffix(".pdf")
    pages = html_to_pdf(for_paper(html_text), pdf_path)
    return html_path, pdf_path, {k: v for k, v in pages.items() if k.startswith("test-")}
