"""Charts, one function per picture, same look in every notebook."""

from __future__ import annotations

from datetime import datetime

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from auditbook.report.display import figure

OK, BAD, NEUTRAL = "#1b7f3b", "#b3261e", "#8a9099"


def _counted(axis) -> None:  # noqa: ANN001 - a matplotlib Axis
    """A count axis has whole-number ticks (no "0.5 keys")."""
    axis.set_major_locator(MaxNLocator(integer=True))


def mfa_coverage(console_users: pd.DataFrame) -> None:
    """Console users with and without MFA, one bar per account."""
    if console_users.empty:
        return
    counts = console_users.groupby("account_id")["mfa_active"].agg(with_mfa="sum", total="count")
    counts["without_mfa"] = counts["total"] - counts["with_mfa"]
    fig, ax = figure(height=0.6 + 0.5 * len(counts))
    labels = list(counts.index)
    ax.barh(labels, counts["with_mfa"], color=OK, label="MFA")
    ax.barh(labels, counts["without_mfa"], left=counts["with_mfa"], color=BAD, label="no MFA")
    for i, (_, row) in enumerate(counts.iterrows()):
        ax.text(row["total"] + 0.2, i, f"{row['with_mfa']}/{row['total']} with MFA", va="center", fontsize=8)
    ax.set_xlabel("console users")
    _counted(ax.xaxis)
    ax.set_title("MFA coverage of console users", fontsize=10)
    ax.set_xlim(0, counts["total"].max() * 1.35)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    plt.show()


def days_since_last_sign_in(console_users: pd.DataFrame, as_of: datetime, threshold_days: int) -> None:
    """Histogram of days between each console user's last sign-in and the period end."""
    users = console_users[console_users["user_creation_time"] < as_of]
    last = users["password_last_used"].where(users["password_last_used"] <= as_of)
    since = (pd.Timestamp(as_of) - last.fillna(users["user_creation_time"])).dt.days
    if since.empty:
        return
    fig, ax = figure()
    bins = range(0, int(max(since.max(), threshold_days)) + 15, 15)
    ax.hist(since[since <= threshold_days], bins=bins, color=OK, label="active")
    ax.hist(since[since > threshold_days], bins=bins, color=BAD, label="dormant")
    ax.axvline(threshold_days, color="#333", linestyle="--", linewidth=1)
    ax.text(threshold_days, ax.get_ylim()[1] * 0.9, f" {threshold_days} d threshold", fontsize=8)
    ax.set_xlabel(f"days since last console sign-in (or creation, if never) at {as_of:%Y-%m-%d}")
    ax.set_ylabel("users")
    _counted(ax.yaxis)
    ax.legend(fontsize=8, frameon=False)
    plt.show()


def changes_per_week(sheet: pd.DataFrame, deviating: set[str]) -> None:
    """Merged changes per ISO week, those with a deviation stacked in red."""
    if sheet.empty:
        return
    week = sheet["merged_at"].dt.tz_convert(None).dt.to_period("W-SUN").dt.start_time
    bad = sheet["change"].isin(deviating)
    counts = pd.DataFrame({"week": week, "bad": bad}).groupby("week")["bad"].agg(total="count", deviating="sum")
    fig, ax = figure()
    ax.bar(counts.index, counts["total"] - counts["deviating"], width=5, color=OK, label="no deviation")
    ax.bar(counts.index, counts["deviating"], bottom=counts["total"] - counts["deviating"], width=5, color=BAD,
           label="deviation")
    ax.set_ylabel("changes merged")
    _counted(ax.yaxis)
    ax.set_title("Production changes per week", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    plt.show()


def approval_to_merge_hours(sheet: pd.DataFrame) -> None:
    """How long before the merge the first qualifying approval came."""
    approved = sheet[sheet["approved_before_merge"]] if not sheet.empty else sheet
    if approved.empty:
        return
    hours = (approved["merged_at"] - approved["first_approval_at"]).dt.total_seconds() / 3600
    fig, ax = figure()
    ax.hist(hours, bins=24, color=NEUTRAL)
    ax.set_xlabel("hours from first approval to merge")
    ax.set_ylabel("changes")
    _counted(ax.yaxis)
    plt.show()


def secret_rotation_age(secrets: pd.DataFrame, threshold_days: int) -> None:
    """Days since each secret's last rotation (or creation) at the period end, against the threshold."""
    if secrets.empty or "days_since_rotation" not in secrets:
        return
    rows = secrets.sort_values("days_since_rotation")
    fig, ax = figure(height=0.8 + 0.28 * len(rows))
    colours = [BAD if (d > threshold_days or not on) else OK
               for d, on in zip(rows["days_since_rotation"], rows["rotation_enabled"], strict=True)]
    ax.barh(rows["name"], rows["days_since_rotation"], color=colours)
    ax.axvline(threshold_days, color="#333", linestyle="--", linewidth=1)
    ax.text(threshold_days, len(rows) - 0.4, f" {threshold_days} d", fontsize=8)
    ax.set_xlabel("days since last rotation (or creation, if never rotated) at period end; red: deviates")
    ax.tick_params(axis="y", labelsize=8)
    plt.show()


def access_key_age(keys: pd.DataFrame, threshold_days: int) -> None:
    """Histogram of active access key ages at the period end."""
    if keys.empty:
        return
    fig, ax = figure()
    bins = range(0, int(max(keys["age_days"].max(), threshold_days)) + 30, 30)
    ax.hist(keys["age_days"][keys["age_days"] <= threshold_days], bins=bins, color=OK, label="within threshold")
    ax.hist(keys["age_days"][keys["age_days"] > threshold_days], bins=bins, color=BAD, label="too old")
    ax.axvline(threshold_days, color="#333", linestyle="--", linewidth=1)
    ax.set_xlabel("age of active access keys at period end (days)")
    ax.set_ylabel("keys")
    _counted(ax.yaxis)
    ax.legend(fontsize=8, frameon=False)
    plt.show()


def alarms_fired_timeline(firings: pd.DataFrame, period_start: datetime, period_end: datetime,
                          unanswered: set[str] | None = None) -> None:
    """Each alarm that fired in the period: one row per alarm, a mark per firing (red: no incident for it)."""
    if firings.empty:
        return
    unanswered = unanswered or set()
    names = sorted(set(firings["alarm_name"]), key=lambda n: (firings[firings["alarm_name"] == n]["namespace"].iloc[0],
                                                              n))
    fig, ax = figure(width=7.0, height=0.9 + 0.3 * len(names))
    for y, name in enumerate(names):
        rows = firings[firings["alarm_name"] == name]
        keys = [f"{r.account_id}:{r.region}:{r.alarm_name}@{r.fired_at:%Y-%m-%dT%H:%M:%S}Z" for r in rows.itertuples()]
        colours = [BAD if k in unanswered else NEUTRAL for k in keys]
        ax.scatter(rows["fired_at"].dt.tz_convert(None), [y] * len(rows), color=colours, s=28, zorder=3)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlim(pd.Timestamp(period_start).tz_convert(None), pd.Timestamp(period_end).tz_convert(None))
    ax.grid(axis="x", color="#ddd", linewidth=0.6)
    ax.set_title("Alarms that fired in the period" + (" (red: no incident for it)" if unanswered else ""), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    plt.show()


def incident_response_times(incidents: pd.DataFrame, severities: dict) -> None:
    """Minutes to acknowledge and hours to resolve per severity, each incident a dot, the SLA a dash."""
    if incidents.empty:
        return
    order = [s for s in severities if s in set(incidents["severity"])]
    if not order:
        return
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 0.9 + 0.45 * len(order)), dpi=110)
    for ax, column, key, label in [(axes[0], "minutes_to_acknowledge", "acknowledge_minutes", "minutes to acknowledge"),
                                   (axes[1], "hours_to_resolve", "resolve_hours", "hours to resolve")]:
        ax.spines[["top", "right"]].set_visible(False)
        for y, sev in enumerate(order):
            values = incidents[incidents["severity"] == sev][column].dropna()
            sla = severities[sev][key]
            ax.scatter(values, [y] * len(values), color=[BAD if v > sla else OK for v in values], s=22, zorder=3)
            ax.plot([sla, sla], [y - 0.3, y + 0.3], color="#333", linewidth=1.2)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_xlabel(f"{label} (log scale; dash: SLA)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.invert_yaxis()
    fig.suptitle("Incident response times per severity (each dot an incident; red: past the SLA)", fontsize=9)
    fig.tight_layout()
    plt.show()


def remediation_outcomes(summary: pd.DataFrame) -> None:
    """Vulnerability findings of the period per source: fixed in time or late, open within or past the SLA."""
    if summary.empty:
        return
    counts = summary.groupby("source")[["fixed in time", "fixed late", "open within SLA", "open past SLA"]].sum()
    colors = {"fixed in time": OK, "fixed late": "#e8a09a", "open within SLA": NEUTRAL, "open past SLA": BAD}
    fig, ax = figure(height=0.7 + 0.45 * len(counts))
    left = pd.Series(0, index=counts.index)
    for outcome, color in colors.items():
        ax.barh(counts.index, counts[outcome], left=left, color=color, label=outcome)
        left = left + counts[outcome]
    for y, total in enumerate(left):
        ax.text(total + 0.1, y, f"{int(total)}", va="center", fontsize=8)
    ax.set_xlabel("findings open at some time in the period")
    _counted(ax.xaxis)
    ax.set_title("Remediation against the SLA of each finding's severity", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.invert_yaxis()
    plt.show()


def capacity_headroom(headroom: pd.DataFrame) -> None:
    """The period's worst value of each capacity metric as a % of its alarm threshold (100 %: the alarm fires)."""
    data = headroom.dropna(subset=["peak_pct_of_threshold"]).sort_values("peak_pct_of_threshold")
    if data.empty:
        return
    fig, ax = figure(height=0.7 + 0.28 * len(data))
    values = data["peak_pct_of_threshold"]
    ax.barh(data["alarm_name"], values, color=[BAD if v >= 100 else "#d9a441" if v >= 80 else OK for v in values])
    ax.axvline(100, color="#333", linestyle="--", linewidth=1)
    ax.text(100, len(data) - 0.4, " alarm threshold", fontsize=7, va="bottom")
    for y, v in enumerate(values):
        ax.text(v + 1, y, f"{v:.0f}%", va="center", fontsize=7)
    ax.set_xlim(0, max(120, values.max() * 1.15))
    ax.set_xlabel("worst daily value in the period, % of the threshold (free space: threshold % of lowest)",
                  fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Capacity headroom of alarmed metrics", fontsize=10)
    plt.show()


def backup_calendar(coverage: pd.DataFrame, period_start: datetime, period_end: datetime) -> None:
    """A calendar heatmap: one row per data store, one cell per day; gaps in red and marked with a cross."""
    if coverage.empty:
        return
    from matplotlib.colors import ListedColormap

    stores = sorted(coverage["store_id"].unique())
    days = pd.date_range(pd.Timestamp(period_start), pd.Timestamp(period_end), freq="D", inclusive="left")
    grid = pd.DataFrame(0, index=stores, columns=days)  # 0 not required, 1 covered, 2 gap
    for r in coverage.itertuples():
        grid.loc[r.store_id, r.day] = 0 if not r.required else 1 if r.covered else 2
    fig, ax = figure(height=0.9 + 0.32 * len(stores))
    ax.imshow(grid.values, aspect="auto", interpolation="none", vmin=0, vmax=2,
              cmap=ListedColormap(["#e6e6e6", OK, BAD]))
    for y, x in zip(*((grid.values == 2).nonzero()), strict=True):
        ax.text(x, y, "x", ha="center", va="center", color="white", fontsize=9, fontweight="bold")
    ax.set_yticks(range(len(stores)), [s.split(":", 1)[1] for s in stores], fontsize=7)
    months = [i for i, d in enumerate(days) if d.day == 1 or i == 0]
    ax.set_xticks(months, [f"{days[i]:%b %d}" for i in months], fontsize=7)
    ax.set_xticks([i - 0.5 for i in range(len(days) + 1)], minor=True)
    ax.tick_params(axis="x", which="minor", length=0)
    ax.spines[["left", "bottom"]].set_visible(False)
    gaps = int((grid.values == 2).sum())
    ax.set_title(f"Daily backup coverage (green: backed up, red x: no backup, grey: not required) - {gaps} gap "
                 f"day{'s' if gaps != 1 else ''}", fontsize=9)
    fig.tight_layout()  # the data stores' names are kept whole at the left
    plt.show()
