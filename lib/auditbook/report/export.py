"""Executed notebook → HTML (code hidden) → PDF, without TeX or a browser.

nbconvert's HTMLExporter with ``exclude_input`` hides the code (``--report-mode`` does not);
WeasyPrint lays the HTML out on A4 pages with a print stylesheet (running footer, page x of y).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

PRINT_CSS = """
@page { size: A4; margin: 16mm 12mm 18mm 12mm;
  @bottom-left { content: "%(footer)s"; font-size: 7pt; color: #555; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 7pt; color: #555; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; }
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
.jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { padding: 0 !important; margin: 0 !important; }
.jp-RenderedHTMLCommon table { table-layout: auto; }
img { max-width: 100%%; }
h1, h2, h3 { page-break-after: avoid; }
tr, img { page-break-inside: avoid; }
table.ab-table td { overflow-wrap: anywhere; }
"""


def to_html(notebook_path: Path, footer: str) -> str:
    nb = nbformat.read(notebook_path, as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_output_prompt=True,
                            exclude_input_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    css = PRINT_CSS % {"footer": footer.replace('"', "'")}
    return body.replace("</head>", f"<style>{css}</style></head>", 1)


def html_to_pdf(html: str, pdf_path: Path, base_url: Path) -> None:
    from weasyprint import HTML  # imported here: only the export step needs it

    HTML(string=html, base_url=str(base_url)).write_pdf(pdf_path)


def export_notebook(notebook_path: Path, footer: str) -> tuple[Path, Path]:
    html = to_html(notebook_path, footer)
    html_path = notebook_path.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    pdf_path = notebook_path.with_suffix(".pdf")
    html_to_pdf(html, pdf_path, notebook_path.parent)
    return html_path, pdf_path
