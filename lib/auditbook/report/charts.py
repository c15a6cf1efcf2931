"""Charts, one function per picture, same look in every notebook."""

from __future__ import annotations

from datetime import datetime

import matplotlib.pyplot as plt
import pandas as pd

from auditbook.report.display import figure

OK, BAD, NEUTRAL = "#1b7f3b", "#b3261e", "#8a9099"


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
    ax.legend(fontsize=8, frameon=False)
    plt.show()
