"""The analyst's JupyterLab: evidence shown as written (no math), the analyst's own run opened by explore, the
CLI's checks in the lab, overrides in the header, one Ctrl-C ending the lab as Jupyter ends it."""

from __future__ import annotations

import html.parser

import pandas as pd
import pytest
from auditbook.provenance import Operation, Population, Provenance
from auditbook.report import display

QUERY = "query($owner: String!, $name: String!, $baseRefName: String!) { repository(owner: $owner) { id } }"


class _Texts(html.parser.HTMLParser):
    """Each text node with whether it sits inside an element that JupyterLab's MathJax skips."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[bool] = []
        self.texts: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("wbr", "br", "img", "meta"):
            return
        classes = (dict(attrs).get("class") or "").split()
        self.open.append(display.NO_MATH in classes or any(self.open))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("wbr", "br", "img", "meta") and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((data, any(self.open)))


@pytest.fixture
def shown(monkeypatch) -> list[str]:
    """The HTML each display call would send to JupyterLab."""
    out: list[str] = []
    monkeypatch.setattr(display, "display", lambda obj: out.append(obj.data))
    return out


def test_evidence_with_dollars_is_never_typeset_as_math(shown):
    pop = Population("github-merged-pulls", pd.DataFrame({"id": ["a"]}), Provenance(
        "GitHub", "https://api.github.com/graphql", "org $x", "bot", "2026-10-01T00:00:00Z",
        operations=[Operation("graphql:pullRequests", {"query": QUERY, "owner": "$owner"})], record_count=1))
    display.provenance(pop, "populations/github-merged-pulls.csv")
    display.query_appendix()
    display.show("<p>cost: $5 and $6</p>")
    assert len(shown) == 3
    parsed = _Texts()
    for markup in shown:
        parsed.feed(markup)
    dollars = [(text, ignored) for text, ignored in parsed.texts if "$" in text]
    assert any("$owner" in text and "$baseRefName" in text for text, _ in dollars)  # the query, as sent
    assert dollars and all(ignored for _, ignored in dollars), [t for t, i in dollars if not i]
