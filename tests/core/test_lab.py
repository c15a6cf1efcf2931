"""The analyst's JupyterLab: evidence shown as written (no math), the analyst's own run opened by explore, the
CLI's checks in the lab, overrides in the header, one Ctrl-C ending the lab as Jupyter ends it."""

from __future__ import annotations

import html.parser
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from auditbook import catalog, explore, notebook
from auditbook.provenance import Collected, Operation, Population, Provenance
from auditbook.report import display
from auditbook.results import ControlTest, evaluate

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
    monkeypatch.setattr(display, "display", lambda obj, **kw: out.append(obj.data))
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


# An analyst's run in the lab (no run folder): a fake population the tests control, a test with a threshold.
FAKE = "lab-test-population"
T = ControlTest("CC6.1-LAB", "CC6.1", "t", "d", "continuous", (FAKE,), sample_keys=("id",),
                options=lambda settings, ctx: {"max_days": settings.get("max_days", 90)})


@T.rule
def older_than(frame: pd.DataFrame, max_days: int) -> object:
    return evaluate(T, frame, [{"resource_type": "thing", "resource_id": r.id, "detail": f"{r.age} days"}
                               for r in frame.itertuples() if int(r.age) > max_days])


@pytest.fixture
def lab(monkeypatch, tmp_path, shown):
    """A fake catalog entry, a params file, the outputs root in tmp_path, no session runs yet."""
    frame = pd.DataFrame({"id": ["a", "b"], "age": [10, 100]})
    monkeypatch.setitem(catalog.ENTRIES, FAKE, catalog.Entry(
        FAKE, "for the tests", catalog.columns("id age"), "file", basis="records",
        collector=lambda raw, **arguments: Collected(frame, Provenance("s", "e", "scope", "me", "now"))))
    monkeypatch.setenv("AUDITBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setattr(notebook, "SESSION_RUNS", [])
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"organization": "X", "scope": {"aws": {"accounts": [{"id": "111111111111"}],
                                                                            "regions": ["us-east-1"]}}}))
    return str(path)


def test_a_period_that_has_not_ended_is_refused_in_the_lab_as_on_the_command_line(lab):
    with pytest.raises(notebook.Refused) as refused:
        notebook.start("CC6.1", "2999-Q4", lab)
    assert str(refused.value).startswith("period 2999-Q4 has not ended yet (ends ")  # the CLI's line
    assert refused.value._render_traceback_() == [f"auditbook: {refused.value}"]  # one line, no traceback
    with pytest.raises(notebook.Refused, match="more than 13 months"):
        notebook.start("CC6.1", "2020-01-01..2022-12-31", lab)
    with pytest.raises(notebook.Refused, match="no such params file"):
        notebook.start("CC6.1", "2026-Q3", str(Path(lab).with_name("none.yaml")))
    assert notebook.SESSION_RUNS == []


def test_a_threshold_overridden_in_a_cell_shows_in_the_header(lab, shown):
    run = notebook.start("CC6.1", "2026-Q3", lab)
    run.header()
    assert len(shown) == 1 and "Overridden" not in shown[0]
    updates: list[str] = []
    run._header = type("Handle", (), {"update": lambda self, obj: updates.append(obj.data)})()
    assert run.test(T).deviation_count == 1
    assert updates == []  # the params' value: nothing overridden
    assert run.test(T, max_days=5).deviation_count == 2
    assert len(updates) == 1
    assert "Overridden in this notebook" in updates[0] and "CC6.1-LAB: max_days = 5 (params: 90)" in updates[0]
    record = run.finish()  # the lab run's record keeps the override beside the results it made
    assert record["overrides"] == {"CC6.1-LAB": {"max_days": {"used": 5, "params": 90}}}


def test_explore_opens_the_sessions_own_run_and_says_what_a_folder_is(lab, tmp_path):
    with pytest.raises(explore.NoPackage) as none:
        explore.open_package()
    assert none.value._render_traceback_()[0].startswith(f"auditbook: no package under {tmp_path / 'out'}")
    run = notebook.start("CC6.1", "2026-Q3", lab)
    run.test(T)
    with pytest.raises(explore.NoPackage, match="neither a package .* nor a finished lab run"):
        explore.open_package(run.run_dir)  # not finished: no record yet
    run.finish()
    assert explore.open_package().path == run.run_dir == explore.open_package(run.run_dir).path
    pkg = explore.open_package(run.run_dir)
    assert "lab run of CC6.1 (not sealed)" in repr(pkg) and pkg.results["status"] == "FAIL"
    trail = explore.find(pkg, "b")
    assert list(trail.frames) == [FAKE] and list(trail.deviations["test_id"]) == ["CC6.1-LAB"]
    assert display.NO_MATH in trail._repr_html_()
    with pytest.raises(explore.NoPackage, match="no such folder"):
        explore.open_package(tmp_path / "nowhere")


def test_the_result_cell_says_where_the_run_was_written(lab, shown):
    run = notebook.start("CC6.1", "2026-Q3", lab)
    run.test(T)
    run.finish()
    assert any(f"<code>{run.run_dir}</code>" in markup and "explore.open_package()" in markup for markup in shown)


CHILD = """
import sys, time
try:  # "ready" inside the try: a SIGINT that arrives as soon as it is read is still the child's to handle
    print("ready", flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    print("the child handled Ctrl-C", flush=True)
    sys.exit(3)
"""


def test_one_ctrl_c_is_left_to_the_child_and_the_parent_waits_for_it():
    """As in a terminal: SIGINT to the whole process group (demo-env and JupyterLab under it)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys; from auditbook.cli import run_child; "
                               f"sys.exit(run_child([sys.executable, '-c', {CHILD!r}]))"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert parent.stdout.readline() == "ready\n"
    os.killpg(parent.pid, signal.SIGINT)
    out, err = parent.communicate(timeout=30)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert out == "the child handled Ctrl-C\n" and parent.returncode == 3
