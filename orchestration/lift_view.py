"""Holdout lift and shared credit as terminal tables, to print beside the campaign comparison.

Each function reads one mart and returns one rich table per report and goal; the caller
decides where they go. A warehouse built before these marts existed shows no such tables.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.table import Table

from orchestration.mart_rows import by_report_and_goal, mart_rows
from orchestration.warehouse import Connection, fetch, placeholders

MISSING = "-"
CREDIT_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")

LIFT_SQL = """
select
    l.report, l.goal, l.campaign_id, coalesce(c.campaign_name, l.campaign_id) as campaign_name,
    l.treatment_persons, l.treatment_converters, l.treatment_rate,
    l.control_persons, l.control_converters, l.control_rate,
    l.absolute_lift, l.absolute_lift_ci_lower, l.absolute_lift_ci_upper, l.relative_lift,
    l.incremental_converters, l.incremental_value, l.p_value, l.is_small_sample,
    g.value_property
from {marts}.fct_campaign_lift as l
left join {marts}.dim_campaigns as c on l.campaign_id = c.campaign_id
left join {raw}.report_goals as g on l.report = g.report and l.goal = g.goal
where {p} is null or l.report = {p}
order by l.report, l.goal, c.first_sent_at nulls last, l.campaign_id
"""

CREDIT_SQL = """
select
    cc.report, cc.goal, cc.campaign_id, coalesce(c.campaign_name, cc.campaign_id) as campaign_name,
    cc.credit_model, cc.credited_conversions
from {marts}.fct_campaign_credit as cc
left join {marts}.dim_campaigns as c on cc.campaign_id = c.campaign_id
where {p} is null or cc.report = {p}
order by cc.report, cc.goal, c.first_sent_at nulls last, cc.campaign_id
"""


def _has_table(con: Connection, table: str) -> bool:
    _, found = fetch(
        con,
        "select count(*) from information_schema.tables "
        f"where table_schema = 'marts' and table_name = {placeholders(con, 1)}",
        [table],
    )
    return bool(found[0][0])


def _group(converters: int, persons: int, rate: float | None) -> str:
    share = MISSING if rate is None else f"{rate:.2%}"
    return f"{converters:,} / {persons:,} ({share})"


def _points(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:+.2f}"


def _p_value(value: float | None) -> str:
    if value is None:
        return MISSING
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def _money(value: Decimal | None) -> str:
    return MISSING if value is None else f"{value:,.2f}"


def lift_table(report: str, goal: str, rows: list[dict[str, Any]]) -> Table:
    """One report and goal: each campaign's recipients against the persons it held back."""
    table = Table(
        title=f"Holdout lift: report {report}, goal {goal}",
        title_justify="left",
        caption=(
            "Converters / persons (rate). Lift and its 95% interval in percentage points. "
            "* fewer than 10 converters or non-converters in a group: interval and "
            "p-value unreliable."
        ),
    )
    table.add_column("Campaign", overflow="fold")
    for heading in (
        "Treatment",
        "Control",
        "Lift (pp)",
        "95% interval",
        "Relative",
        "Incremental",
        "Incr. value",
        "p-value",
    ):
        table.add_column(heading, justify="right")
    for row in rows:
        interval = f"[{_points(row['absolute_lift_ci_lower'])}, "
        interval += f"{_points(row['absolute_lift_ci_upper'])}]"
        relative = row["relative_lift"]
        incremental = row["incremental_converters"]
        table.add_row(
            row["campaign_name"] + (" *" if row["is_small_sample"] else ""),
            _group(row["treatment_converters"], row["treatment_persons"], row["treatment_rate"]),
            _group(row["control_converters"], row["control_persons"], row["control_rate"]),
            _points(row["absolute_lift"]),
            interval if row["absolute_lift_ci_lower"] is not None else MISSING,
            MISSING if relative is None else f"{relative:+.1%}",
            MISSING if incremental is None else f"{incremental:,.1f}",
            # A goal without a value property has no value to compare, not a lift of 0.
            _money(row["incremental_value"]) if row["value_property"] else MISSING,
            _p_value(row["p_value"]),
        )
    return table


def credit_table(report: str, goal: str, rows: list[dict[str, Any]]) -> Table:
    """One report and goal: the conversions each campaign earns under each credit model."""
    table = Table(
        title=f"Shared credit: report {report}, goal {goal}",
        title_justify="left",
        caption="Credited conversions; each column adds up to the conversions with a touch.",
    )
    table.add_column("Campaign", overflow="fold")
    for model in CREDIT_MODELS:
        table.add_column(model.replace("_", " ").capitalize(), justify="right")
    cells: dict[str, dict[str, Decimal]] = {}
    names: dict[str, str] = {}
    for row in rows:
        names[row["campaign_id"]] = row["campaign_name"]
        cells.setdefault(row["campaign_id"], {})[row["credit_model"]] = row["credited_conversions"]
    for campaign_id, by_model in cells.items():
        table.add_row(
            names[campaign_id],
            *(
                MISSING if model not in by_model else f"{by_model[model]:,.2f}"
                for model in CREDIT_MODELS
            ),
        )
    return table


def lift_tables(con: Connection, report: str | None = None) -> dict[tuple[str, str], Table]:
    """A lift table per report and goal with a holdout; none when the mart is absent."""
    if not _has_table(con, "fct_campaign_lift"):
        return {}
    groups = by_report_and_goal(mart_rows(con, LIFT_SQL, report))
    return {(name, goal): lift_table(name, goal, rows) for (name, goal), rows in groups.items()}


def credit_tables(con: Connection, report: str | None = None) -> dict[tuple[str, str], Table]:
    """A shared-credit table per report and goal; none when the mart is absent."""
    if not _has_table(con, "fct_campaign_credit"):
        return {}
    groups = by_report_and_goal(mart_rows(con, CREDIT_SQL, report))
    return {(name, goal): credit_table(name, goal, rows) for (name, goal), rows in groups.items()}
