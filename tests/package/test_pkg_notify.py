"""Summary lines for schedulers, exit status, and the optional webhook (a local HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    assert "notification not sent: webhook at 127.0.0.1 answered HTTP 500" in capsys.readouterr().err


def test_unreachable_webhook_is_reported():
    assert notify.send("x", "http://127.0.0.1:9/hook", timeout=2).startswith("webhook at 127.0.0.1 not reached")
    assert notify.send("x", "file:///etc/passwd") == f"{notify.WEBHOOK_ENV} is not an http(s) URL"
    assert notify.webhook_url({}) is None


SECRET = "T0AUDIT/B0HOOK/xoxb-s3cr3t-path"
# A space or a control character in the URL, a port that is not a number or out of range, user info, a bracket
# that never closes, a host that does not resolve: each used to end in a traceback quoting the whole URL.
MALFORMED = [
    f"http://127.0.0.1:9/services/{SECRET} trailing",
    f"http://127.0.0.1:9/services/{SECRET}\r\nX-Injected: 1",
    f"http://127.0.0.1:abc/services/{SECRET}",
    f"http://127.0.0.1:99999/services/{SECRET}",
    f"https://user:pw@hooks.example.com/services/{SECRET}?token={SECRET}",
    f"http://[::1/services/{SECRET}",
    f"http://no-such-host.invalid/services/{SECRET}",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_or_unreachable_webhook_is_one_line_naming_the_host_only(url):
    problem = notify.send("x", url, timeout=2)
    assert problem and "\n" not in problem and "\r" not in problem
    assert SECRET not in problem and "services" not in problem and "pw" not in problem
    host = notify.host_of(url)
    assert host in problem and host in ("127.0.0.1", "hooks.example.com", "no-such-host.invalid", "an unreadable host")


REPORT = """
import sys
from pathlib import Path
from auditbook import cli
from auditbook.package import CriterionOutcome, RunOutcome
from auditbook.results import Status
crit = CriterionOutcome("CC6.1", Status.FAIL, 6.2, tests=5, deviations=8, error=None, accepted=1,
                        statuses={"PASS": 3, "FAIL": 2})
sys.exit(cli._report(RunOutcome(Path("outputs/2026-Q3/20261003T061500Z"), Status.FAIL, [crit], 24.0), False))
"""


@pytest.mark.parametrize("url", MALFORMED[:4])
def test_the_exit_status_is_the_one_the_status_line_printed(url):
    """The process, not only the function: no traceback, the secret nowhere, exit 0 as printed."""
    env = {**os.environ, notify.WEBHOOK_ENV: url}
    done = subprocess.run([sys.executable, "-c", REPORT], env=env, capture_output=True, text=True, timeout=60)
    assert "status: FAIL exit=0 " in done.stdout and done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditbook: notification not sent: ") and "127.0.0.1" in lines[0]
