"""The run's log: stdlib ``logging`` into ``run.log`` in the package, and to the console.

Every module logs with ``logging.getLogger(__name__)`` under ``auditbook``. A run attaches one
:class:`logging.FileHandler` on ``<staging>/run.log`` (UTC, ``time level logger message``); the notebooks'
kernels (where evidence is collected and tested) append to the same file, their lines marked with their
criterion, so ``run.log`` tells the whole run in time order. The file is closed before the manifest is
written: it is listed and hashed like every file of the package.

Secrets are never logged: third-party loggers (botocore, urllib3, PyGithub) log request headers, signed
requests and response bodies at DEBUG, so only the retry loggers below are let through at DEBUG; and every
line is passed through :class:`Redact`, which removes token-shaped text and the values of the credential
variables of the environment, should any ever reach a message.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auditbook import layout

RUN_LOG = layout.RUN_LOG
ROOT = "auditbook"
LEVEL_VARIABLE = "AUDITBOOK_LOG_LEVEL"  # what a run's kernels log into run.log (DEBUG with --verbose)
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Third-party loggers whose lines say what throttling cost: botocore's at DEBUG ("Retry needed, retrying request
# after delay of: 0.8"), PyGithub's at INFO ("Setting next backoff to 60s"). Nothing else of theirs is logged.
RETRY_LOGGERS = {"botocore.retries.standard": logging.DEBUG, "botocore.retryhandler": logging.DEBUG,
                 "botocore.retries.adaptive": logging.DEBUG, "github.GithubRetry": logging.INFO}
SECRET_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "AWS_SECURITY_TOKEN", "AUDITBOOK_WEBHOOK_URL")
SECRET_PATTERNS = [
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b"),  # GitHub tokens
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+"),  # an Authorization header's value
    re.compile(r"(?i)((?:x-amz-signature|x-amz-security-token|x-amz-credential|signature|token|"
               r"aws_secret_access_key|secretaccesskey|sessiontoken)['\"]?\s*[=:]\s*['\"]?)[^&'\"\s,}]+"),
]
REDACTED = "[redacted]"
# The console lines of a run in progress (auditbook: ...), told apart from the one line of a refusal or an error
PROGRESS = re.compile(r"^auditbook: (?:running \d|run \d{8}T\d{6}Z started|\[\d+/\d+\] |"
                      r"(?:warning: )?\[[A-Z][\w.@]*\] |[A-Z][\w.]* (?:started|finished|notebook executed)|"
                      r"render|sealed|published|starting the embedded|the demo company's daily)")


class Redact(logging.Filter):
    """Removes from every record the values of the credential variables and anything token-shaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


def redact(text: str) -> str:
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - stdlib name
        return f"{time.strftime(DATE_FORMAT, self.converter(record.created))}.{int(record.msecs):03d}Z"


def _loggers() -> list[tuple[logging.Logger, int | None]]:
    """auditbook's logger (its level set by the handler's), and the retry loggers with their fixed levels."""
    return [(logging.getLogger(ROOT), None),
            *((logging.getLogger(name), level) for name, level in RETRY_LOGGERS.items())]


class Threshold(logging.Filter):
    """auditbook's records at ``level`` and up; of the retry loggers, the lines that say a request is retried
    (botocore says "Not retrying request." after every answer), unless ``level`` is above INFO."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name not in RETRY_LOGGERS:
            return record.levelno >= self.level
        if self.level > logging.INFO and record.levelno < logging.WARNING:
            return False
        text = str(record.msg).lower()
        return not (text.startswith("not retrying") or text.startswith("no retry needed"))


def attach(handler: logging.Handler, level: int) -> None:
    """Send auditbook's records at ``level`` and up, and the retry loggers' lines, to ``handler``."""
    handler.setLevel(logging.DEBUG)
    handler.addFilter(Threshold(level))
    handler.addFilter(Redact())
    for logger, fixed in _loggers():
        logger.addHandler(handler)
        wanted = min(level, fixed) if fixed is not None else level
        if logger.level == logging.NOTSET or logger.level > wanted:
            logger.setLevel(wanted)
        if fixed is not None:
            logger.propagate = False  # botocore's own DEBUG stays out of any root handler a host configured


def detach(handler: logging.Handler) -> None:
    for logger, _ in _loggers():
        logger.removeHandler(handler)
    handler.close()


def file_handler(path: Path, prefix: str = "") -> logging.FileHandler:
    """Appending to ``path`` (the runner and the kernels write one file: each line is one ``write``)."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=False)
    handler.setFormatter(UTCFormatter(FORMAT.replace("%(message)s", f"{prefix}%(message)s")))
    return handler


@contextmanager
def run_log(staging: Path, verbose: bool = False) -> Iterator[logging.FileHandler]:
    """``run.log`` in the staging folder for the length of a run (INFO, DEBUG with ``verbose``)."""
    import threading

    level = logging.DEBUG if verbose else logging.INFO
    handler = file_handler(Path(staging) / RUN_LOG)
    mine = threading.get_ident()  # two runs at once in one process (a library's caller): each logs its own
    handler.addFilter(lambda record: record.thread == mine)
    attach(handler, level)
    try:
        yield handler
    finally:
        detach(handler)


def close_run_log(staging: Path) -> None:
    """Before the manifest: no more lines into ``run.log`` (it is hashed as it is now)."""
    path = os.path.abspath(Path(staging) / RUN_LOG)
    for logger, _ in _loggers():
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and handler.baseFilename == path:
                detach(handler)


def run_level() -> int:
    """The level of a run's log in this process (a worker, a kernel): what the runner set, else INFO."""
    level = logging.getLevelName(os.environ.get(LEVEL_VARIABLE, "INFO"))
    return level if isinstance(level, int) else logging.INFO


def kernel_log(run_dir: Path, criterion: str) -> logging.Handler | None:
    """In a run's worker or kernel: append to the run's ``run.log`` (when the run keeps one), lines marked
    ``[criterion]``."""
    path = Path(run_dir) / RUN_LOG
    if not path.is_file():
        return None
    close_run_log(run_dir)  # a notebook started twice in one kernel logs once
    handler = file_handler(path, prefix=f"[{criterion}] ")
    attach(handler, run_level())
    return handler


class ConsoleFormatter(logging.Formatter):
    """``auditbook: message`` as the command's other lines; DEBUG and retries with their logger's name. On a
    terminal, the line starts by clearing the live progress line (:class:`LiveProgress`) it is printed over."""

    def format(self, record: logging.LogRecord) -> str:
        return ("\r\x1b[K" if self.terminal else "") + self._format(record)

    terminal = False

    def _format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname.lower()}: {message}"
        if record.levelno < logging.INFO or not record.name.startswith(ROOT):
            message = f"{record.name}: {message}"
        return f"auditbook: {message}"


def terminal() -> bool:
    """Whether stderr is a terminal (live progress line) rather than a file or a pipe (plain lines)."""
    import sys

    return sys.stderr.isatty()


# What the console shows at INFO: the run's phases; the collectors' progress (hundreds of lines in a demo, whose
# daily snapshots collect too) is in run.log, and on the console with --verbose.
CONSOLE_LOGGERS = ("auditbook.cli", "auditbook.runner", "auditbook.package")


class ConsoleThreshold(logging.Filter):
    """Without ``--verbose``: the run's phases at INFO, warnings and errors from anywhere (a retry is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name in CONSOLE_LOGGERS


def console(verbose: bool = False, quiet: bool = False) -> logging.Handler:
    """The command's stderr: the run's phases ("started" lines), warnings only with ``quiet``, every auditbook
    line and the retry loggers' with ``verbose``."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler()
    formatter = ConsoleFormatter()
    formatter.terminal = terminal()
    handler.setFormatter(formatter)
    attach(handler, level)
    if not verbose:
        handler.addFilter(ConsoleThreshold())
    return handler


class LiveProgress:
    """The console's view of what the workers and kernels write into run.log, read every half second by the
    runner: the criteria's "started" lines, warnings (a retry and its wait), and with ``verbose``
    every line; on a terminal (``live``) one line redrawn below them: elapsed time, the criteria running and the
    newest collection line. ``quiet``: warnings only, no progress line."""

    LINE = re.compile(r"^\S+ (?P<level>[A-Z]+) \S+ \[(?P<criterion>[A-Z][\w.@]*)\] (?P<message>.*)$")

    def __init__(self, path: Path, stream: object = None, *, live: bool = False, verbose: bool = False,
                 quiet: bool = False) -> None:
        import sys
        import threading

        self.path, self.stream = Path(path), stream or sys.stderr
        self.live, self.verbose, self.quiet = live and not quiet, verbose, quiet
        self.started = time.monotonic()
        self.running: list[str] = []
        self.latest = ""
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="auditbook-progress", daemon=True)

    def __enter__(self) -> LiveProgress:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._read()
        if self.live:
            self._write("\r\x1b[K")

    def _write(self, text: str) -> None:
        self.stream.write(text)  # type: ignore[attr-defined]
        self.stream.flush()  # type: ignore[attr-defined]

    def _echo(self, text: str) -> None:
        self._write(f"{chr(13) + chr(27) + '[K' if self.live else ''}auditbook: {text}\n")

    def _read(self) -> None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return
        complete = chunk[:chunk.rfind("\n") + 1]  # a line being written is read next time
        self._offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            match = self.LINE.match(line)
            if not match:
                continue
            criterion, message, level = match["criterion"], match["message"], match["level"]
            said = re.match(rf"{re.escape(criterion)} (started|finished)\b", message)
            phase = said[1] if said else ""
            if phase == "started":
                self.running.append(criterion)
            elif phase == "finished" and criterion in self.running:
                self.running.remove(criterion)
            if level not in ("DEBUG", "INFO"):
                self._echo(f"{level.lower()}: [{criterion}] {message}")
            elif phase == "started" and not self.quiet:  # the runner itself says when one finished ([i/n])
                self._echo(message)
            elif self.verbose:
                self._echo(f"[{criterion}] {message}")
            if not phase:
                self.latest = f"{criterion}: {message}"

    def _loop(self) -> None:
        import shutil

        while not self._stop.wait(0.5):
            self._read()
            if not self.live:
                continue
            elapsed = int(time.monotonic() - self.started)
            status = (f"  {elapsed // 60}:{elapsed % 60:02d} running {', '.join(self.running) or '-'}"
                      f"{' · ' + self.latest if self.latest else ''}")
            self._write("\r\x1b[K" + status[:shutil.get_terminal_size().columns - 1])
