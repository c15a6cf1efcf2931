"""Optional notification of a run's summary to a Slack-compatible incoming webhook.

The URL comes from the environment (``AUDITBOOK_WEBHOOK_URL``), never from params: it is a secret.
The body is ``{"text": "..."}``, which Slack, Mattermost, Rocket.Chat and Teams workflows accept.
A failed notification is reported on stderr and never changes the run's exit status.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

WEBHOOK_ENV = "AUDITBOOK_WEBHOOK_URL"
TIMEOUT_SECONDS = 10


def webhook_url(environ: dict[str, str] | None = None) -> str | None:
    url = (environ if environ is not None else os.environ).get(WEBHOOK_ENV, "").strip()
    return url or None


def send(text: str, url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """POST the summary; return None on success, else a one-line reason."""
    if not url.startswith(("https://", "http://")):
        return f"{WEBHOOK_ENV} is not an http(s) URL"
    request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "auditbook"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL checked above
            if not 200 <= response.status < 300:
                return f"webhook answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"webhook answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"webhook not reached: {getattr(exc, 'reason', exc)}"
    return None
