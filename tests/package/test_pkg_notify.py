"""Summary lines for schedulers, exit status, and the optional webhook (a local HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from auditbook import cli, notify
from auditbook.package import CriterionOutcome, RunOutcome
from auditbook.results import Status


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"body": json.loads(body), "type": self.headers["Content-Type"]})
            self.send_response(500 if "fail" in self.path else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def outcome(status: Status, error: str | None = None) -> RunOutcome:
    crit = CriterionOutcome("CC6.1", status, 6.2, tests=5 if not error else 0, deviations=8, error=error,
                            accepted=1, statuses={"PASS": 3, "FAIL": 2} if not error else {})
    return RunOutcome(Path("outputs/2026-Q3/20261003T061500Z"), status, [crit], 24.0)


def test_summary_lines_are_stable_key_value_words():
    lines = cli.summary_lines(outcome(Status.FAIL), 0)
    assert lines == [
        "CC6.1 FAIL tests=5 pass=3 fail=2 error=0 not_applicable=0 deviations=8 accepted=1 (6.2 s)",
        "status: FAIL exit=0 criteria=1 package=outputs/2026-Q3/20261003T061500Z (24.0 s)",
    ]
    error_line = cli.summary_lines(outcome(Status.ERROR, "notebook failed: boom"), 1)[0]
    assert error_line.startswith("CC6.1 ERROR tests=0") and "cause='notebook failed: boom'" in error_line


@pytest.mark.parametrize(("status", "flag", "code"), [
    (Status.PASS, False, 0), (Status.FAIL, False, 0), (Status.FAIL, True, 1), (Status.ERROR, False, 1),
])
def test_exit_status(status, flag, code, monkeypatch, capsys):
    monkeypatch.delenv(notify.WEBHOOK_ENV, raising=False)
    assert cli._report(outcome(status), flag) == code
    assert f"exit={code}" in capsys.readouterr().out


def test_webhook_receives_the_summary(webhook, monkeypatch, capsys):
    url, received = webhook
    monkeypatch.setenv(notify.WEBHOOK_ENV, url + "/hook")
    assert cli._report(outcome(Status.FAIL), False) == 0
    assert len(received) == 1 and received[0]["type"] == "application/json"
    text = received[0]["body"]["text"]
    assert "CC6.1 FAIL tests=5" in text and "status: FAIL exit=0" in text
    assert capsys.readouterr().err == ""


def test_a_failing_webhook_does_not_change_the_exit_status(webhook, monkeypatch, capsys):
    url, _ = webhook
    monkeypatch.setenv(notify.WEBHOOK_ENV, url + "/fail")
    assert cli._report(outcome(Status.FAIL), False) == 0
    assert "notification not sent: webhook answered HTTP 500" in capsys.readouterr().err


def test_unreachable_webhook_is_reported():
    assert notify.send("x", "http://127.0.0.1:9/hook", timeout=2).startswith("webhook not reached")
    assert notify.send("x", "file:///etc/passwd") == f"{notify.WEBHOOK_ENV} is not an http(s) URL"
    assert notify.webhook_url({}) is None
