"""The run's log: retries logged with their waits, secrets never, console levels of --verbose/--quiet."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from auditbook import cli, logs
from auditbook.package import RunOutcome
from auditbook.results import Status
from auditbook.sources.aws.session import RETRY_CONFIG
from auditbook.sources.github import caller_login, connect

FAKE_TOKEN = "ghp_" + "Z9" * 18  # shaped like a GitHub token, so the package's secret scan would find it
STS_OK = (b"<GetCallerIdentityResponse xmlns='https://sts.amazonaws.com/doc/2011-06-15/'><GetCallerIdentityResult>"
          b"<Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>AIDA</UserId><Account>123456789012</Account>"
          b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
          b"</GetCallerIdentityResponse>")
STS_THROTTLED = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                 b"</Error><RequestId>2</RequestId></ErrorResponse>")


def serve(answers: list[tuple[int, dict[str, str], bytes]]) -> tuple[ThreadingHTTPServer, list[dict[str, str]]]:
    """A server that gives ``answers`` in turn (the last one again once they run out), recording request headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(dict(self.headers))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body = answers[min(len(seen), len(answers)) - 1]
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def run_log(tmp_path: Path) -> Iterator[Path]:
    """run.log of a run in ``tmp_path`` at DEBUG (--verbose): the most a run ever logs."""
    with logs.run_log(tmp_path, verbose=True):
        yield tmp_path / logs.RUN_LOG


def test_an_aws_retry_is_logged_with_its_wait(run_log, monkeypatch):
    server, seen = serve([(400, {"Content-Type": "text/xml"}, STS_THROTTLED), (200, {"Content-Type": "text/xml"},
                                                                                STS_OK)])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SecretKeyOfThisTest/abcdefghijklmnopqrstu")
    try:
        sts = boto3.Session(aws_access_key_id="AKIAEXAMPLEEXAMPLE12",
                            aws_secret_access_key="SecretKeyOfThisTest/abcdefghijklmnopqrstu",
                            region_name="us-east-1").client(
            "sts", endpoint_url=f"http://127.0.0.1:{server.server_address[1]}", config=RETRY_CONFIG)
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        server.shutdown()
    text = run_log.read_text()
    assert len(seen) == 2
    assert "botocore.retries.standard Retry needed, retrying request after delay of: " in text, text
    assert "Not retrying request" not in text  # botocore says so after every answer: not a line of run.log
    assert "SecretKeyOfThisTest" not in text and "Signature=" not in text


def test_a_github_retry_is_logged_with_its_wait_and_the_token_never(run_log, monkeypatch):
    """GITHUB_TOKEN planted: the token travels in every request's header and never reaches run.log, even at DEBUG."""
    server, seen = serve([(429, {"Retry-After": "1"}, b'{"message": "slow down"}'),
                          (200, {"Content-Type": "application/json"}, b'{"login": "auditor"}')])
    monkeypatch.setenv("GITHUB_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert caller_login(connect(backoff_factor=0.01, max_wait=5)) == "auditor"
    finally:
        server.shutdown()
    logging.getLogger("auditbook.test").info("a message quoting the token %s by mistake", FAKE_TOKEN)
    text = run_log.read_text()
    assert FAKE_TOKEN in seen[0].get("Authorization", "")  # it was sent
    assert "GitHub GET /user answered 429: retry 1 of at most 5, waiting 1.0 s (Retry-After)" in text, text
    assert "by mistake" in text and FAKE_TOKEN not in text and "Z9Z9Z9" not in text


@pytest.mark.parametrize("text", [f"token {FAKE_TOKEN}", "headers {'Authorization': 'token abcdef123456'}",
                                  "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc123def&X-Amz-Security-Token=x"])
def test_token_shaped_text_is_redacted(text):
    clean = logs.redact(text)
    assert "[redacted]" in clean and FAKE_TOKEN not in clean and "abcdef123456" not in clean \
        and "abc123def" not in clean


def test_run_log_ends_before_the_manifest(tmp_path):
    """close_run_log: nothing more is written into run.log once the package is being hashed."""
    with logs.run_log(tmp_path):
        logging.getLogger("auditbook.runner").info("before")
        logs.close_run_log(tmp_path)
        logging.getLogger("auditbook.runner").info("after")
    text = (tmp_path / logs.RUN_LOG).read_text()
    assert "before" in text and "after" not in text
    assert all(not isinstance(h, logging.FileHandler) for h in logging.getLogger("auditbook").handlers)


def fake_run(*_: object, **kwargs: object) -> RunOutcome:
    logging.getLogger("auditbook.runner").info("CC6.1 started")
    logging.getLogger("auditbook.evidence").info("iam-users: collected 3 rows (0.1 s)")
    logging.getLogger("auditbook.evidence").debug("a debug line")
    fake_run.kwargs = kwargs  # type: ignore[attr-defined]
    return RunOutcome(Path("out/2026-Q3/x"), Status.PASS, [], 1.0)


@pytest.mark.parametrize("flag", ["--quiet", None, "--verbose"])
def test_console_levels(flag, monkeypatch, capsys):
    monkeypatch.setattr("auditbook.runner.run", fake_run)
    params = Path(__file__).resolve().parents[2] / "lib" / "auditbook" / "demo" / "params" / "demo.yaml"
    code = cli.main(["run", "--params", str(params), "--period", "2026-Q3", *([flag] if flag else [])])
    out, err = capsys.readouterr()
    assert code == 0 and out.splitlines() == ["status: PASS exit=0 criteria=0 package=out/2026-Q3/x (1.0 s)"]
    if flag == "--quiet":
        assert err == ""
    else:
        assert "auditbook: CC6.1 started" in err
        assert ("iam-users: collected 3 rows" in err) == ("a debug line" in err) == (flag == "--verbose")
    assert fake_run.kwargs["verbose"] is (flag == "--verbose")  # type: ignore[attr-defined]
    assert fake_run.kwargs["live"] is False  # capsys is no terminal: plain lines  # type: ignore[attr-defined]


def test_live_progress_follows_run_log(tmp_path):
    """On a terminal the runner draws one line from run.log: the criteria running, the newest collection line;
    "started" lines are printed above it."""
    import io
    import time

    log = tmp_path / logs.RUN_LOG
    log.write_text("")
    stream = io.StringIO()
    with logs.LiveProgress(log, stream, live=True) as progress:
        with open(log, "a") as fh:
            fh.write("2026-10-01T00:00:00.000Z INFO auditbook.runner [CC6.1] CC6.1 started\n"
                     "2026-10-01T00:00:00.000Z INFO auditbook.evidence [CC6.1] iam-users: collected 3 rows (0.1 s)\n"
                     "2026-10-01T00:00:00.000Z INFO auditbook.runner [1/2] CC8.1  FAIL  9 tests (1.0 s)\n")
        time.sleep(1.2)
        drawn = stream.getvalue()
        with open(log, "a") as fh:
            fh.write("2026-10-01T00:00:01.000Z INFO auditbook.runner [CC6.1] CC6.1 finished: PASS (1.0 s)\n")
    out = stream.getvalue()
    assert "auditbook: CC6.1 started\n" in drawn
    assert "running CC6.1 · CC6.1: iam-users: collected 3 rows (0.1 s)" in drawn
    assert "finished" not in out and out.endswith("\r\x1b[K")  # the runner says that one ([i/n])
    assert progress.running == []


def test_two_runs_in_one_process_log_apart(tmp_path):
    """Each run.log takes the lines of the thread that runs it."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()

    def other() -> None:
        with logs.run_log(second):
            logging.getLogger("auditbook.runner").info("second run")

    with logs.run_log(first):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        logging.getLogger("auditbook.runner").info("first run")
    assert "second run" not in (first / logs.RUN_LOG).read_text()
    assert "first run" not in (second / logs.RUN_LOG).read_text()
    assert "second run" in (second / logs.RUN_LOG).read_text()


def test_the_console_sees_what_workers_and_kernels_log(tmp_path):
    """Plain lines (no terminal): started/finished and warnings; every line with --verbose; warnings with --quiet."""
    import io

    log = tmp_path / logs.RUN_LOG
    log.write_text("2026-10-01T00:00:00.000Z INFO auditbook.runner [CC6.1] CC6.1 started\n"
                   "2026-10-01T00:00:00.000Z INFO auditbook.evidence [CC6.1] iam-users: collected 3 rows (0.1 s)\n"
                   "2026-10-01T00:00:00.000Z WARNING auditbook.sources.github.client [CC6.1] GitHub GET /user "
                   "answered 429: retry 1 of at most 5, waiting 1.0 s\n")
    shown = {}
    for mode in ("quiet", "plain", "verbose"):
        stream = io.StringIO()
        with logs.LiveProgress(log, stream, quiet=mode == "quiet", verbose=mode == "verbose"):
            pass
        shown[mode] = stream.getvalue().splitlines()
    warning = "auditbook: warning: [CC6.1] GitHub GET /user answered 429: retry 1 of at most 5, waiting 1.0 s"
    assert shown["quiet"] == [warning]
    assert shown["plain"] == ["auditbook: CC6.1 started", warning]
    assert shown["verbose"] == ["auditbook: CC6.1 started", "auditbook: [CC6.1] iam-users: collected 3 rows (0.1 s)",
                                warning]
    assert all(logs.PROGRESS.match(line) for line in shown["verbose"])
