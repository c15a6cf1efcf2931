"""Connecting to GitHub (github.com, Enterprise Server or any API at ``GITHUB_API_URL``).

Retries are bounded: PyGithub's ``GithubRetry`` waits out primary limits until
``x-ratelimit-reset`` and secondary limits for ``Retry-After`` (or 60 s), and retries
5xx with exponential backoff. A wait longer than ``max_wait`` is not attempted: the
collection fails with :class:`CollectionError` instead of hanging or going silently partial.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from requests.utils import parse_header_links
from urllib3.exceptions import MaxRetryError

from auditbook.provenance import CollectionError, Provenance, iso, utc_now

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100


class BoundedRetry(GithubRetry):
    """``GithubRetry`` that also retries 429 and refuses a ``Retry-After`` beyond ``max_rate_limit_wait``.

    GithubRetry caps only the waits it computes itself; urllib3 would sleep for any
    ``Retry-After`` a server sends.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])
        super().__init__(**kwargs)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Any:
        header = response.headers.get("Retry-After") if response is not None else None
        if header is not None and self.max_rate_limit_wait is not None:
            wait = self.parse_retry_after(header)
            if wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, {"message": "Retry-After too long"},
                                                      dict(response.headers), wait=wait)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        _log_retry(retry, method, url, response, error, header)
        return retry


def _log_retry(retry: Any, method: str | None, url: str | None, response: Any, error: Exception | None,
               retry_after: str | None) -> None:
    """One line per retry: what GitHub answered and how long the client now waits (the query string, which
    never carries the token but may carry cursors, is left out)."""
    cause = f"answered {response.status}" if response is not None else f"failed ({type(error).__name__})"
    try:
        wait = retry.parse_retry_after(retry_after) if retry_after is not None else retry.get_backoff_time()
    except Exception:  # an unreadable Retry-After: urllib3 raises on it itself
        wait = retry.get_backoff_time()
    log.warning("GitHub %s %s %s: retry %d of at most %s, waiting %.1f s%s", method or "", (url or "").split("?")[0],
                cause, len(retry.history), retry.total + len(retry.history) if retry.total is not None else "?",
                wait, " (Retry-After)" if retry_after is not None else "")


def connect(token: str | None = None, base_url: str | None = None, *, retries: int = 5,
            backoff_factor: float = 1.0, max_wait: float = 300.0, timeout: int = 15) -> Github:
    """A PyGithub client for ``GITHUB_API_URL`` with ``GITHUB_TOKEN`` (arguments override them).

    ``GH_TOKEN`` (the GitHub CLI's variable) is used when ``GITHUB_TOKEN`` is unset or empty; ``GITHUB_TOKEN`` wins
    when both are set, as in ``gh``. ``timeout`` bounds each read (a hung answer); with ``retries`` it bounds a call.
    """
    token = token or os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise CollectionError("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN)")
    base_url = (base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    retry = BoundedRetry(total=retries, backoff_factor=backoff_factor, max_rate_limit_wait=max_wait,
                         secondary_rate_wait=min(60.0, max_wait))
    return Github(auth=Auth.Token(token), base_url=base_url, per_page=PER_PAGE, retry=retry, timeout=timeout,
                  seconds_between_requests=0, seconds_between_writes=0)


@contextmanager
def collecting(what: str) -> Iterator[None]:
    """Turn every way a GitHub call can fail into a :class:`CollectionError` naming ``what``."""
    try:
        yield
    except RateLimitExceededExceedsMaxWait as exc:
        raise CollectionError(f"{what}: GitHub rate limit needs a {exc.wait:.0f} s wait, beyond the cap") from exc
    except GithubException as exc:
        raise CollectionError(f"{what}: GitHub answered {exc.status}: {_message(exc.data)}") from exc
    except (requests.RequestException, MaxRetryError) as exc:
        raise CollectionError(f"{what}: {type(exc).__name__}: {exc}") from exc
    except json.JSONDecodeError as exc:  # a 200 whose body is not JSON
        raise CollectionError(f"{what}: GitHub answered a body that does not parse ({exc})") from exc


def _message(data: Any) -> str:
    if isinstance(data, dict):
        if data.get("errors"):
            return "; ".join(str(e.get("message", e)) for e in data["errors"])
        return str(data.get("message", data))
    return str(data)


def caller_login(gh: Github) -> str:
    """The login the token acts as, for provenance (the token itself is never recorded)."""
    with collecting("GET /user"):
        return gh.get_user().login


def org_login(gh: Github, org: str) -> str:
    """The org as GitHub spells it; a missing org (or one the token cannot see) is a CollectionError."""
    with collecting(f"GET /orgs/{org}"):
        _, data = gh.requester.requestJsonAndCheck("GET", f"/orgs/{org}")
    return str(data["login"])


def new_provenance(gh: Github, org: str, login: str, scope: str | None = None) -> Provenance:
    return Provenance(system="github", endpoint=gh.requester.base_url, scope=scope or f"org {org}", caller=login,
                      collected_at=iso(utc_now()) or "")


@dataclass
class Pages:
    """Every page of a REST list, as received."""

    items: list[dict[str, Any]]
    payloads: list[Any]


def rest_pages(gh: Github, path: str, params: dict[str, Any] | None = None,
               stop: Callable[[list[dict[str, Any]]], bool] | None = None) -> Pages:
    """GET a paginated REST list through PyGithub's requester, following ``Link: rel="next"``.

    ``stop(page_items)`` ends the walk early on purpose (e.g. older than the period in a
    newest-first list); anything else that ends early is an error raised by the caller.
    """
    items: list[dict[str, Any]] = []
    payloads: list[Any] = []
    url: str | None = path
    query: dict[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
    with collecting(f"GET {path}"):
        while url:
            headers, data = gh.requester.requestJsonAndCheck("GET", url, parameters=query)
            if not isinstance(data, list):
                raise CollectionError(f"GET {path}: expected a list, got {type(data).__name__}")
            payloads.append(data)
            items.extend(data)
            log.debug("GET %s: page %d, %d items", path, len(payloads), len(data))
            if stop is not None and stop(data):
                break
            links = {link.get("rel"): link["url"] for link in parse_header_links(headers.get("link", ""))}
            url, query = links.get("next"), None  # the next URL carries the query string
    log.info("GET %s: %d item%s in %d page%s", path, len(items), "" if len(items) == 1 else "s", len(payloads),
             "" if len(payloads) == 1 else "s")
    return Pages(items, payloads)


def listed(gh: Github, path: str, params: dict[str, Any], provenance: Provenance, raw: Any, relpath: str) -> Pages:
    """A complete REST list, recorded: the call in the provenance, every page as received under raw/."""
    pages = rest_pages(gh, path, params)
    provenance.add_operation(f"GET {path}", params, pages=len(pages.payloads), records=len(pages.items))
    provenance.raw_files.append(raw.save(relpath, pages.payloads))
    return pages
