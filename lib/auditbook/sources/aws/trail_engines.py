"""The events engines behind ``cloudtrail-log-files`` and ``cloudtrail-events`` (``scope.aws.cloudtrail.engine``).

Each engine runs the same query text (:mod:`auditbook.events.sql`) and returns both populations in the same
columns, so the controls never know which one answered; the populations' provenance says which did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditbook.provenance import Collected, CollectionError
from auditbook.sources.aws import athena, cloudtrail, cloudtrail_lake

# local: the trail's log files read in the run; athena: Amazon Athena over the trail bucket; cloudtrail-lake: a
# CloudTrail Lake event data store.
COLLECTORS: dict[str, Callable[..., tuple[Collected, Collected]]] = {
    "local": cloudtrail.collect_trail_logs, "athena": athena.collect_trail_logs,
    "cloudtrail-lake": cloudtrail_lake.collect_trail_logs}
ENGINES = tuple(COLLECTORS)


def collect_trail_logs(account: Any, raw: Any, engine: str = "local", **arguments: Any) -> tuple[Collected, Collected]:
    """``cloudtrail-log-files`` and ``cloudtrail-events`` by the engine params choose (the other arguments are
    that engine's collector's)."""
    if engine not in COLLECTORS:
        raise CollectionError(f"scope.aws.cloudtrail.engine: unknown engine {engine!r} ({', '.join(ENGINES)})")
    return COLLECTORS[engine](account, raw, **arguments)
