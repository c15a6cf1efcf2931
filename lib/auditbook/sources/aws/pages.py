"""Paginated AWS list calls the same way everywhere: every page kept as received, errors named."""

from __future__ import annotations

from typing import Any

from botocore import xform_name

from auditbook.provenance import Provenance, RawStore
from auditbook.sources.aws.iam import aws_errors


def all_pages(client: Any, operation: str, label: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every page of ``operation`` (a boto3 paginator name), ``ResponseMetadata`` dropped."""
    pages = []
    with aws_errors(label):
        for page in client.get_paginator(operation).paginate(**kwargs):
            page.pop("ResponseMetadata", None)
            pages.append(page)
    return pages


def items(pages: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for page in pages for item in page.get(key, [])]


def recorded_items(client: Any, operation: str, key: str, prov: Provenance, raw: RawStore, raw_path: str,
                   region: str | None = None) -> list[dict[str, Any]]:
    """Every ``key`` item of a list call (``operation`` is ``service:Action``): its pages kept as received
    in ``raw_path``, the call and its counts recorded in ``prov``."""
    where = {"region": region} if region else {}
    pages = all_pages(client, xform_name(operation.split(":", 1)[1]), f"{operation} ({region})" if region
                      else operation)
    found = items(pages, key)
    prov.add_operation(operation, where, len(pages), len(found))
    prov.raw_files.append(raw.save(raw_path, pages))
    return found


def tag_text(tags: list[dict[str, Any]] | dict[str, str] | None) -> str:
    """Tags as ``key=value;key=value`` (sorted), one column a CSV can hold."""
    if isinstance(tags, dict):
        pairs = tags.items()
    else:
        pairs = ((t.get("Key", t.get("key", "")), t.get("Value", t.get("value", ""))) for t in tags or [])
    return ";".join(f"{k}={v}" for k, v in sorted(pairs))

