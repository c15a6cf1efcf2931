"""Optional notification of a run's summary to a Slack-compatible incoming webhook.

The URL comes from the environment (``AUDITBOOK_WEBHOOK_URL``), never from params: it is a secret, and the
secret part is its path (``https://hooks.slack.com/services/T.../B.../<token>``). So a failed notification
is one line on stderr that names the host only, never the path or query, and never a traceback (Python's
own messages for a malformed URL quote the whole URL). It never changes the run's exit status.
The body is ``{"text": "..."}``, which Slack, Mattermost, Rocket.Chat and Teams workflows accept.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

WEBHOOK_ENV = "AUDITBOOK_WEBHOOK_URL"
TIMEOUT_SECONDS = 10
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.:_-]+")


def webhook_url(environ: dict[str, str] | None = None) -> str | None:
    url = (environ if environ is not None else os.environ).get(WEBHOOK_ENV, "").strip()
    return url or None


def host_of(url: str) -> str:
    """The URL's host for a message (no user info, path or query); a host that is not plain is not repeated."""
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host if _PLAIN_HOST.fullmatch(host) else "an unreadable host"


def _reason(exc: BaseException) -> str:
    """Why a post failed, in words that cannot carry the URL: the error's kind and, for a socket error, its
    system message (``Connection refused``)."""
    cause = exc.reason if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException) else exc
    words = getattr(cause, "strerror", None)
    return f"{type(cause).__name__}: {words}" if isinstance(words, str) and words else type(cause).__name__


def send(text: str, url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """POST the summary; return None on success, else a one-line reason naming the host only."""
    host = host_of(url)
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
            return f"{WEBHOOK_ENV} is not an http(s) URL"
        request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "auditbook"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            if not 200 <= response.status < 300:
                return f"webhook at {host} answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"webhook at {host} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"webhook at {host} not reached ({_reason(exc)})"
    except Exception as exc:  # noqa: BLE001 - a malformed URL (InvalidURL, a bad port...): its message quotes the URL
        return f"{WEBHOOK_ENV} for {host} is not a usable URL ({type(exc).__name__})"
    return None
