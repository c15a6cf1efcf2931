"""What every AWS source shares: errors named by operation, provenance, pages kept as received,
and answers checked for the fields AWS documents.

A source module per AWS service builds on these; a collector never swallows an API error (a
failed call is a :class:`CollectionError`, so the tests that need the evidence are ERROR) and
never drops an item whose deciding field is missing (:func:`required`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from xml.etree import ElementTree

import botocore.exceptions
from botocore import xform_name
from botocore.parsers import ResponseParserError

from auditbook.provenance import CollectionError, Provenance, RawStore, iso, utc_now
from auditbook.sources.aws.session import AwsAccount

log = logging.getLogger(__name__)


@contextmanager
def aws_errors(operation: str) -> Iterator[None]:
    """Any API failure makes the evidence incomplete: name the operation and the cause."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        retries = int((exc.response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
        after = f" (after {retries} retries)" if retries else ""  # throttled beyond the bound says so
        raise CollectionError(f"{operation}: {err.get('Code', 'Error')}: {err.get('Message', '')}".strip() + after) \
            from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CollectionError(f"{operation}: {' '.join(str(exc).split())}") from None
    except (ResponseParserError, ElementTree.ParseError) as exc:  # botocore's own parsing of a malformed answer
        raise CollectionError(f"{operation}: the response does not parse: {' '.join(str(exc).split())[:200]}") from None


def provenance(account: AwsAccount, system: str) -> Provenance:
    """The IPE record of a collection from one account: endpoint, scope, caller, time."""
    return Provenance(
        system=system,
        endpoint=account.endpoint,
        scope=f"aws account {account.account_id} ({account.name})",
        caller=account.caller_arn,
        collected_at=iso(utc_now()),
    )


def clean(response: dict[str, Any] | None) -> dict[str, Any] | None:
    """An answer as evidence: without botocore's ``ResponseMetadata`` (request ids, retry counts)."""
    if response is not None:
        response.pop("ResponseMetadata", None)
    return response


def call(operation: str, method: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """One non-paginated call, errors named by ``operation``, ``ResponseMetadata`` dropped."""
    with aws_errors(operation):
        return clean(method(**kwargs)) or {}


def absent(operation: str, method: Callable[[], dict[str, Any]], absent_codes: set[str]) -> dict[str, Any] | None:
    """Call an API whose "not configured" answer is an error code: None when it is not configured; any other
    failure (an error code, an answer that does not parse) is a collection error."""
    with aws_errors(operation):
        try:
            return clean(method())
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in absent_codes:
                return None
            raise


def all_pages(client: Any, operation: str, label: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every page of ``operation`` (a boto3 paginator name), ``ResponseMetadata`` dropped."""
    pages = []
    with aws_errors(label):
        for page in client.get_paginator(operation).paginate(**kwargs):
            page.pop("ResponseMetadata", None)
            pages.append(page)
            log.debug("%s: page %d", label, len(pages))
    return pages


def items(pages: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for page in pages for item in page.get(key, [])]


def recorded_items(client: Any, operation: str, key: str, prov: Provenance, raw: RawStore, raw_path: str,
                   region: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every ``key`` item of a list call (``operation`` is ``service:Action``): its pages kept as received
    in ``raw_path``, the call and its counts recorded in ``prov``."""
    where = {"region": region} if region else {}
    pages = all_pages(client, xform_name(operation.split(":", 1)[1]), f"{operation} ({region})" if region
                      else operation, **kwargs)
    found = items(pages, key)
    log.info("%s%s: %d item%s in %d page%s", operation, f" ({region})" if region else "", len(found),
             "" if len(found) == 1 else "s", len(pages), "" if len(pages) == 1 else "s")
    prov.add_operation(operation, {**where, **kwargs}, len(pages), len(found))
    prov.raw_files.append(raw.save(raw_path, pages))
    return found


def each_region(account: AwsAccount, regions: list[str], operation: str, key: str, prov: Provenance, raw: RawStore,
                name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(region, item) for every ``key`` item of a list call in each region; each region's pages kept as
    ``aws/<account>/<service>/<region>/<name>``, the calls and counts recorded in ``prov``."""
    service = operation.split(":", 1)[0]
    for region in regions:
        path = f"aws/{account.account_id}/{service}/{region}/{name}"
        for item in recorded_items(account.client(service, region), operation, key, prov, raw, path, region):
            yield region, item


def required(item: dict[str, Any], fields: tuple[str, ...] | list[str], operation: str, what: str = "") -> None:
    """Refuse an answer that lacks a field AWS documents as always present, or one a rule decides on.

    Left out, such an item would silently shrink the population (a key with no ``KeyUsage`` would drop
    out of the rotation test): the collection is ERROR instead, naming the field.
    """
    missing = [f for f in fields if item.get(f) in (None, "")]
    if missing:
        label = f" {what}" if what else ""
        raise CollectionError(f"{operation}:{label} the answer lacks {', '.join(missing)}, which AWS documents as "
                              "always present: the population cannot be built completely")


def tag_text(tags: list[dict[str, Any]] | dict[str, str] | None) -> str:
    """Tags as ``key=value;key=value`` (sorted), one column a CSV can hold."""
    if isinstance(tags, dict):
        pairs = tags.items()
    else:
        pairs = ((t.get("Key", t.get("key", "")), t.get("Value", t.get("value", ""))) for t in tags or [])
    return ";".join(f"{k}={v}" for k, v in sorted(pairs))


def in_region(account: AwsAccount, region: str) -> dict[str, str]:
    """The columns every regional population starts with."""
    return {"account_id": account.account_id, "region": region}
