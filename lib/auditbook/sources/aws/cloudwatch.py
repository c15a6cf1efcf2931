"""CloudWatch: metric and composite alarms, their state history over the period, and the daily
values of the metrics capacity alarms watch.

CloudWatch keeps alarm history for a limited time (:data:`ALARM_HISTORY_RETENTION_DAYS`): a
collection long after the period says so in the provenance.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Collected, RawStore, iso, utc_now
from auditbook.sources.aws.base import all_pages, aws_errors, in_region, items, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change an alarm's definition or actions (SetAlarmState changes only its state).
ALARM_CHANGES = ChangeCalls("monitoring.amazonaws.com", "(Put|Delete|Enable|Disable)[A-Za-z]*Alarm[A-Za-z]*",
                            "CloudWatch calls on alarms and their actions")

ALARM_HISTORY_RETENTION_DAYS = 30  # CloudWatch keeps alarm history for 30 days (DescribeAlarmHistory)


def _metric_of(alarm: dict[str, Any]) -> tuple[str, str, str]:
    """Namespace, metric name and dimensions; for metric-math alarms, of the metrics it reads."""
    if alarm.get("MetricName"):
        dims = alarm.get("Dimensions") or []
        return alarm.get("Namespace", ""), alarm["MetricName"], ";".join(f"{d['Name']}={d['Value']}" for d in dims)
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics") or [] if m.get("MetricStat")]
    return (";".join(sorted({s.get("Namespace", "") for s in stats})), ";".join(s["MetricName"] for s in stats), "")


def collect_alarms(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Every metric and composite alarm in each region in scope."""
    prov = provenance(account, "aws:cloudwatch")
    rows = []
    for region in regions:
        cw = account.client("cloudwatch", region)
        pages = all_pages(cw, "describe_alarms", f"cloudwatch:DescribeAlarms ({region})",
                       AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/{region}/describe-alarms.json", pages))
        alarms = [("MetricAlarm", a) for p in pages for a in p.get("MetricAlarms", [])]
        alarms += [("CompositeAlarm", a) for p in pages for a in p.get("CompositeAlarms", [])]
        prov.add_operation("cloudwatch:DescribeAlarms", {"region": region, "AlarmTypes": ["MetricAlarm",
                           "CompositeAlarm"]}, pages=len(pages), records=len(alarms))
        for kind, a in alarms:
            namespace, metric, dims = _metric_of(a) if kind == "MetricAlarm" else ("", "", "")
            rows.append({
                "account_id": account.account_id, "region": region, "alarm_name": a["AlarmName"],
                "alarm_arn": a.get("AlarmArn", ""), "alarm_type": kind, "namespace": namespace, "metric_name": metric,
                "dimensions": dims, "actions_enabled": bool(a.get("ActionsEnabled")),
                "alarm_actions": ";".join(a.get("AlarmActions") or []),
                "ok_actions": ";".join(a.get("OKActions") or []),
                "state": a.get("StateValue", ""), "state_updated": a.get("StateUpdatedTimestamp"),
                "description": a.get("AlarmDescription") or "",
            })
    return Collected(pd.DataFrame(rows), prov)


def _history_state(data: str, which: str) -> str:
    try:
        return json.loads(data or "{}").get(which, {}).get("stateValue", "")
    except ValueError:
        return ""


def collect_alarm_history(account: AwsAccount, raw: RawStore, regions: list[str], period: Period) -> Collected:
    """Every alarm state change (``StateUpdate``) in the period, in each region in scope."""
    prov = provenance(account, "aws:cloudwatch")
    rows = []
    params = {"HistoryItemType": "StateUpdate", "StartDate": iso(period.start), "EndDate": iso(period.end),
              "ScanBy": "TimestampAscending"}
    for region in regions:
        cw = account.client("cloudwatch", region)
        pages = all_pages(cw, "describe_alarm_history",
                       f"cloudwatch:DescribeAlarmHistory ({region})", HistoryItemType="StateUpdate",
                       StartDate=period.start, EndDate=period.end, ScanBy="TimestampAscending")
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/{region}/describe-alarm-history.json",
                                       pages))
        items = [i for p in pages for i in p.get("AlarmHistoryItems", [])]
        prov.add_operation("cloudwatch:DescribeAlarmHistory", {"region": region, **params}, pages=len(pages),
                           records=len(items))
        rows += [{"account_id": account.account_id, "region": region, "alarm_name": i["AlarmName"],
                  "timestamp": i["Timestamp"], "old_state": _history_state(i.get("HistoryData", ""), "oldState"),
                  "new_state": _history_state(i.get("HistoryData", ""), "newState"),
                  "summary": i.get("HistorySummary", "")} for i in items]
    oldest = utc_now() - pd.Timedelta(days=ALARM_HISTORY_RETENTION_DAYS)
    if period.start < oldest:
        prov.notes.append(f"CloudWatch keeps alarm history for {ALARM_HISTORY_RETENTION_DAYS} days: state changes "
                          f"before {iso(oldest)} are only complete if the history was retained (collect monthly, or "
                          "archive 'CloudWatch Alarm State Change' events with EventBridge).")
    rows = sorted((r for r in rows if period.start <= r["timestamp"] < period.end),
                  key=lambda r: (r["timestamp"], r["alarm_name"]))
    return Collected(pd.DataFrame(rows), prov)


def dimensions_of(text: str) -> dict[str, str]:
    """``Name=Value;Name=Value`` (as the ``cloudwatch-alarms`` population holds them) as a dict."""
    return {k: v for k, _, v in (d.partition("=") for d in str(text or "").split(";") if d)}


def collect_alarm_metrics(account: AwsAccount, raw: RawStore, alarms: pd.DataFrame, period: Period,
                          metrics: list[tuple[str, str]]) -> Collected:
    """Daily maximum and minimum over the period of the metric each capacity alarm watches, with the
    alarm's threshold and comparison (``DescribeAlarms`` by name) so headroom can be charted.

    ``alarms``: the ``cloudwatch-alarms`` population; ``metrics``: the (namespace, metric name)
    pairs that are capacity metrics. A metric with no datapoints in the period gives no rows.
    """
    prov = provenance(account, "aws:cloudwatch")
    wanted = set(metrics)
    capacity = pd.Series([(n, m) in wanted for n, m in zip(alarms["namespace"], alarms["metric_name"], strict=True)],
                         index=alarms.index, dtype=bool)
    mine = alarms[(alarms["account_id"] == account.account_id) & (alarms["alarm_type"] == "MetricAlarm") & capacity]
    rows, responses = [], {}
    start, end = period.start, period.end
    for region, group in mine.groupby("region"):
        cw = account.client("cloudwatch", region)
        names = sorted(group["alarm_name"])
        definitions = {}
        for chunk in (names[i:i + 100] for i in range(0, len(names), 100)):
            pages = all_pages(cw, "describe_alarms", f"cloudwatch:DescribeAlarms by name ({region})",
                              AlarmNames=chunk, AlarmTypes=["MetricAlarm"])
            definitions.update({a["AlarmName"]: a for a in items(pages, "MetricAlarms")})
        prov.add_operation("cloudwatch:DescribeAlarms", {"region": region, "AlarmNames": names}, 1, len(definitions))
        for a in group.itertuples():
            dims = [{"Name": k, "Value": v} for k, v in dimensions_of(a.dimensions).items()]
            with aws_errors(f"cloudwatch:GetMetricStatistics {a.namespace}/{a.metric_name} ({region})"):
                response = cw.get_metric_statistics(Namespace=a.namespace, MetricName=a.metric_name, Dimensions=dims,
                                                    StartTime=start, EndTime=end, Period=86400,
                                                    Statistics=["Maximum", "Minimum"])
            response.pop("ResponseMetadata", None)
            responses[a.alarm_name] = response
            definition = definitions.get(a.alarm_name, {})
            for point in response.get("Datapoints", []):
                day = pd.Timestamp(point["Timestamp"]).tz_convert("UTC").floor("D")
                if day < pd.Timestamp(start) or day >= pd.Timestamp(end):
                    continue
                rows.append({**in_region(account, str(region)), "alarm_name": a.alarm_name, "namespace": a.namespace,
                             "metric_name": a.metric_name, "dimensions": a.dimensions,
                             "threshold": definition.get("Threshold"),
                             "comparison": definition.get("ComparisonOperator", ""), "day": day,
                             "maximum": point.get("Maximum"), "minimum": point.get("Minimum")})
    prov.add_operation("cloudwatch:GetMetricStatistics",
                       {"Period": 86400, "Statistics": ["Maximum", "Minimum"], "StartTime": start.isoformat(),
                        "EndTime": end.isoformat(), "metrics": json.dumps(sorted(wanted))},
                       pages=len(responses), records=len(rows))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/capacity-metrics-"
                                   f"{start:%Y%m%d}-{(end - timedelta(days=1)):%Y%m%d}.json", responses))
    rows.sort(key=lambda r: (r["alarm_name"], r["day"]))
    return Collected(pd.DataFrame(rows), prov)
