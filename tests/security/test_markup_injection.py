"""Markup injection through params: the organization name (any params value, any collected text) reaches the
reports' HTML as text, and their CSS only as an escaped string. The whole-run check is in test_injection_run.py.
"""

from __future__ import annotations

import base64
import io

import matplotlib
import nbformat
import pandas as pd
import pytest
import tinycss2
from auditbook.report import display, export
from auditbook.results import Status
from markup import CSP, FAIL_RGB, HOSTILE_ORGANIZATION, lay_out, margin_strings, parse

matplotlib.use("Agg")

CSS_PAYLOADS = [
    HOSTILE_ORGANIZATION,
    '"; } body { display: none } x { content: "',
    "\\\"; } body { display: none } x { content: \\\"",
    "</style><script>alert(1)</script>",
    "line\nbreak\r\nand\ttab",
    "Ünïcødé · 株式会社 😀 \\0041 \\",
    "%(header)s %s %% {}",
]


@pytest.mark.parametrize("text", CSS_PAYLOADS)
def test_a_css_string_holds_any_text_and_nothing_else(text):
    declaration = tinycss2.parse_one_declaration(f'content: "{export.css_string(text)}"')
    tokens = [t for t in declaration.value if t.type != "whitespace"]
    assert [t.type for t in tokens] == ["string"] and tokens[0].value == " ".join(text.split())
    assert "<" not in export.css_string(text) and '"' not in export.css_string(text)


def chart_png() -> str:
    fig, ax = display.figure()
    ax.bar(["a", "b"], [1, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def crafted_report(tmp_path):
    """A criterion notebook's outputs as display.py draws them, every value the hostile organization name."""
    header = (f"<style>{display.stylesheet()}</style><div class='ab-header'><h1>CC6.1 Logical access</h1>"
              f"{display.key_values({'Organization': HOSTILE_ORGANIZATION})}</div>")
    deviations = pd.DataFrame({"resource_id": [HOSTILE_ORGANIZATION], "detail": ["no MFA"]})
    test = (f"<div class='ab-test' id='test-CC6.1-MFA'><h3>{display.badge(Status.FAIL)} CC6.1-MFA — "
            f"{display.escape(HOSTILE_ORGANIZATION)}</h3><h4>Deviations</h4>{display.table(deviations)}</div>")
    cell = nbformat.v4.new_code_cell("run.header()", outputs=[
        nbformat.v4.new_output("display_data", {"text/html": header}),
        nbformat.v4.new_output("display_data", {"text/html": test}),
        nbformat.v4.new_output("display_data", {"image/png": chart_png(), "text/plain": "<Figure>"}),
    ])
    path = tmp_path / "CC6.1.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# CC6.1"), cell]), path)
    cover = {"title": HOSTILE_ORGANIZATION, "header": f"CC6.1 · {HOSTILE_ORGANIZATION}",
             "footer": f"{HOSTILE_ORGANIZATION} · run 20261003T061500Z", "top_right": HOSTILE_ORGANIZATION,
             "status": "FAIL", "facts": {"Organization": HOSTILE_ORGANIZATION}, "note": HOSTILE_ORGANIZATION}
    return path, cover


def test_a_criterion_report_shows_hostile_text_as_text_and_runs_nothing(tmp_path):
    notebook, cover = crafted_report(tmp_path)
    html_path, pdf_path, pages = export.export_notebook(notebook, cover)
    page = parse(html_path.read_text(encoding="utf-8"))
    assert page.tags("script") == [] and "<script" not in html_path.read_text(encoding="utf-8")
    assert page.csp() == [CSP]
    assert all(not attrs.get(a, "").strip() for attrs in page.tags("img") for a in ("onerror", "onload"))
    assert HOSTILE_ORGANIZATION in page.visible_text()  # cover, header table, test title and the deviation row
    assert page.visible_text().count(HOSTILE_ORGANIZATION) >= 4
    margins = margin_strings(page)
    assert margins["bottom-left"] == [f"{HOSTILE_ORGANIZATION} · run 20261003T061500Z"]
    assert [img["src"][:22] for img in page.tags("img")] == ["data:image/png;base64,"]  # the chart, allowed by CSP

    assert pdf_path.read_bytes().startswith(b"%PDF") and pages == {"test-CC6.1-MFA": pages["test-CC6.1-MFA"]}
    text = html_path.read_text(encoding="utf-8")
    paper_text = export.for_paper(text)  # what the PDF is laid out from: JupyterLab's stylesheet swapped out
    paper = parse(paper_text)
    assert paper.tags("script") == [] and paper.csp() == [CSP] and paper.visible_text() == page.visible_text()
    assert len(paper_text) < len(text) - 200_000 and export.PAPER_CSS in paper_text
    laid = lay_out(html_path)
    assert laid.badges and {rgb for text, rgb in laid.badges if text == "FAIL"} == {FAIL_RGB}
    assert laid.tables_shown >= 1  # the deviation table is laid out, not hidden
    assert laid.margins[-1]["@bottom-left"] == f"{HOSTILE_ORGANIZATION} · run 20261003T061500Z"
