"""The report PDFs' layout, checked as drawn (tests/package/pdf_layout.py): every demo PDF passes, and each
check catches the defect it is for on a PDF made to have it."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from auditbook.report.export import PRINT_CSS, html_to_pdf
from pdf_layout import package_problems, problems

STYLE = PRINT_CSS % {"header": "h", "footer": "f", "top_right": ""}


def test_every_pdf_of_the_demo_package_passes_the_layout_checks(demo_run):
    assert package_problems(demo_run.run_dir) == []


def _pdf(tmp_path: Path, body: str, title: str = "A report", lang: str = "en", name: str = "r.pdf") -> Path:
    (tmp_path / "reports").mkdir(exist_ok=True)
    path = tmp_path / "reports" / name
    head = f"<title>{title}</title>" if title else ""
    html_to_pdf(f"<html lang='{lang}'><head>{head}<style>{STYLE}</style></head><body>{body}</body></html>", path)
    return path


def _filler(lines: int) -> str:
    return "".join(f"<p>line {n} of the evidence narrative</p>" for n in range(lines))


def test_a_clean_pdf_has_no_problem(tmp_path):
    assert problems(_pdf(tmp_path, "<h2>Section</h2>" + _filler(10)), tmp_path) == []


@pytest.mark.parametrize(("body", "expected"), [
    ("<table><tr><td style='white-space:nowrap'>" + "x" * 200 + "</td></tr></table>", "beyond the right margin"),
    ("<div style='height:238mm'></div><h2 style='break-after:auto'>Stranded heading</h2><p>one line</p>"
     "<div style='height:200mm;break-inside:avoid'><p>the rest of the section</p></div>", "stranded at the foot"),
    ("<p>a little</p><div style='break-before:page'><p>next page, no section</p></div>", "of the page is empty"),
    ("<a href='file:///tmp/staging/reports/other.pdf#page=2'>p. 2</a>", "is not relative to the package"),
    ("<a href='missing.pdf#page=2'>p. 2</a>", "no such file in the package"),
    ("<a href='../../outside.pdf'>up</a>", "leaves the package"),
])
def test_each_check_finds_its_defect(tmp_path, body, expected):
    found = problems(_pdf(tmp_path, body), tmp_path)
    assert any(expected in p for p in found), found


def test_a_link_to_a_file_of_the_package_and_a_web_address_pass(tmp_path):
    _pdf(tmp_path, "<p>target</p>", name="other.pdf")
    assert problems(_pdf(tmp_path, "<a href='other.pdf#page=1'>p. 1</a> <a href='https://github.com/x'>x</a>"),
                    tmp_path) == []


def test_a_page_that_ends_a_section_may_be_mostly_empty(tmp_path):
    body = "<p>a little</p><h2 style='break-before:page'>Next section</h2>" + _filler(3)
    assert problems(_pdf(tmp_path, body), tmp_path) == []


def test_title_and_language_are_required(tmp_path):
    found = problems(_pdf(tmp_path, "<p>x</p>", title="Notebook", lang=""), tmp_path)
    assert "r.pdf: document title is 'Notebook'" in found and "r.pdf: document language not set" in found


def test_the_index_is_pdf_a_3_carrying_the_packages_data(demo_run):
    """One file for the auditor: index.pdf embeds results.json, exceptions.csv and the tests of controls, each
    byte for byte as in the package, and declares PDF/A-3 (level A) in its XMP metadata."""
    from pdfminer.pdftypes import resolve1

    run_dir = demo_run.run_dir
    with pdfplumber.open(run_dir / "reports" / "index.pdf") as pdf:
        catalog = pdf.doc.catalog
        names = resolve1(resolve1(resolve1(catalog["Names"])["EmbeddedFiles"])["Names"])
        embedded = {}
        for name, spec in zip(names[::2], names[1::2], strict=True):
            stream = resolve1(resolve1(resolve1(spec)["EF"])["F"])
            embedded[name.decode() if isinstance(name, bytes) else name] = stream.get_data()
        xmp = resolve1(catalog["Metadata"]).get_data().decode()
    assert embedded == {name: (run_dir / path).read_bytes() for name, path in [
        ("results.json", "results.json"), ("exceptions.csv", "exceptions.csv"),
        ("tests-of-controls.md", "reports/tests-of-controls.md")]}
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="A"' in xmp
