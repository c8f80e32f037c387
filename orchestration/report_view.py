"""The campaign comparison and funnels as terminal tables, read from the marts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2.errors
from rich.table import Table

from orchestration.lift_view import credit_tables, lift_tables
from orchestration.mart_rows import by_report_and_goal, mart_rows
from orchestration.warehouse import Connection, fetch, qualified_schema

MISSING = "-"

# The raw config tables keep the config file's order of reports and goals (rows are
# inserted in that order), so the tables come out in the order a person wrote them.
# {row_order} is the physical row order: DuckDB's rowid, PostgreSQL's ctid, which follows
# the insert order in a table that is only ever emptied and filled again.
CONFIG_ORDER_SQL = """
report_order as (
    select report, row_number() over (order by {row_order}) as report_position
    from {raw}.report_definitions
),
goal_order as (
    select report, goal, value_property,
        row_number() over (order by {row_order}) as goal_position
    from {raw}.report_goals
)
"""

PERFORMANCE_SQL = (
    "with "
    + CONFIG_ORDER_SQL
    + """
select
    p.report, p.goal, p.window_hours, p.campaign_id, p.campaign_name, p.channel,
    p.credit_mode, p.report_hash, p.direct_window_hours, p.indirect_window_hours,
    p.recipients, p.received, p.opened, p.clicked,
    p.delivery_rate, p.open_rate, p.click_rate,
    p.direct_converters, p.direct_conversions, p.direct_value, p.direct_conversion_rate,
    p.indirect_converters, p.indirect_conversions, p.indirect_value,
    p.indirect_conversion_rate, p.view_through_converters,
    goal_order.value_property
from {marts}.fct_campaign_performance as p
left join report_order on p.report = report_order.report
left join goal_order on p.report = goal_order.report and p.goal = goal_order.goal
where {p} is null or p.report = {p}
order by
    report_position nulls last, p.report, goal_position nulls last, p.goal,
    p.first_sent_at nulls last, p.campaign_id
"""
)

FUNNEL_SQL = (
    "with "
    + CONFIG_ORDER_SQL
    + """
select
    f.report, f.goal, f.campaign_id, f.step_index, f.step, f.persons, f.rate_from_previous
from {marts}.fct_campaign_funnel as f
left join {marts}.dim_campaigns as c on f.campaign_id = c.campaign_id
left join report_order on f.report = report_order.report
left join goal_order on f.report = goal_order.report and f.goal = goal_order.goal
where {p} is null or f.report = {p}
order by
    report_position nulls last, f.report, goal_position nulls last, f.goal,
    c.first_sent_at nulls last, f.campaign_id, f.step_index
"""
)


class ReportViewError(ValueError):
    """The warehouse cannot be shown, with a one-line reason."""


@dataclass(frozen=True)
class ReportTables:
    reach: Table
    comparisons: list[Table]
    side_by_side: list[Table]
    funnels: list[Table]

    def all(self) -> list[Table]:
        return [self.reach, *self.comparisons, *self.side_by_side, *self.funnels]


def _beside(
    comparisons: dict[tuple[str, str], Table], *extras: dict[tuple[str, str], Table]
) -> list[Table]:
    """Each report and goal's comparison, followed by its lift and shared-credit tables."""
    tables: list[Table] = []
    for key, table in comparisons.items():
        tables.append(table)
        tables.extend(extra[key] for extra in extras if key in extra)
    return tables


def _count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def _share(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def _count_and_share(count: int | None, share: float | None) -> str:
    if count is None:
        return MISSING
    return f"{count:,}" if share is None else f"{count:,} ({share:.1%})"


def _money(value: Decimal | float | None) -> str:
    if value is None:
        return MISSING
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def reach_table(rows: list[dict[str, Any]]) -> Table:
    """How far each campaign's messages got; the same under every report and goal."""
    table = Table(
        title="Reach: persons per campaign",
        title_justify="left",
        caption="Received is a share of recipients; opened and clicked, of received.",
    )
    table.add_column("ID")
    table.add_column("Campaign", overflow="fold")
    table.add_column("Channel")
    for heading in ("Recipients", "Received", "Opened", "Clicked"):
        table.add_column(heading, justify="right")
    seen: set[str] = set()
    for row in rows:
        if row["campaign_id"] in seen:
            continue
        seen.add(row["campaign_id"])
        table.add_row(
            row["campaign_id"],
            row["campaign_name"],
            row["channel"] or MISSING,
            _count(row["recipients"]),
            _count_and_share(row["received"], row["delivery_rate"]),
            _count_and_share(row["opened"], row["open_rate"]),
            _count_and_share(row["clicked"], row["click_rate"]),
        )
    return table


def _criteria(rows: list[dict[str, Any]]) -> str:
    """A report's window, its per-channel exceptions and its credit mode, in a few words."""
    if not rows:
        return "?"
    window = rows[0]["window_hours"]
    exceptions = sorted(
        {
            f"{row['channel']} {row['direct_window_hours']}h/{row['indirect_window_hours']}h"
            for row in rows
            if (row["direct_window_hours"], row["indirect_window_hours"]) != (window, window)
        }
    )
    text = f"{window}h window"
    if exceptions:
        text += " (direct/indirect: " + ", ".join(exceptions) + ")"
    return f"{text}, {rows[0]['credit_mode'].replace('_', ' ')} credit"


def comparison_table(report: str, goal: str, rows: list[dict[str, Any]]) -> Table:
    """One report and goal: every campaign's conversions side by side on the same criteria."""
    table = Table(
        title=f"Conversions: report {report}, goal {goal}, {_criteria(rows)}",
        caption="Direct, Indirect and View-thru count converters (share of recipients).",
        title_justify="left",
    )
    table.add_column("Campaign", overflow="fold")
    for heading in (
        "Direct",
        "Dir. events",
        "Dir. value",
        "Indirect",
        "Ind. events",
        "Ind. value",
        "View-thru",
    ):
        table.add_column(heading, justify="right")
    # A goal without a value property has no value to sum, not a value of zero.
    valued = any(row["value_property"] for row in rows)
    for row in rows:
        table.add_row(
            row["campaign_name"],
            _count_and_share(row["direct_converters"], row["direct_conversion_rate"]),
            _count(row["direct_conversions"]),
            _money(row["direct_value"]) if valued else MISSING,
            _count_and_share(row["indirect_converters"], row["indirect_conversion_rate"]),
            _count(row["indirect_conversions"]),
            _money(row["indirect_value"]) if valued else MISSING,
            _count(row["view_through_converters"]),
        )
    return table


def side_by_side_table(goal: str, rows: list[dict[str, Any]], reports: list[str]) -> Table:
    """One goal under every report that measures it: the criteria's effect, campaign by campaign."""
    table = Table(
        title=f"Goal {goal} under each report: direct / indirect converters",
        title_justify="left",
        caption="The same campaigns and goal; only the report's criteria differ.",
    )
    table.add_column("Campaign", overflow="fold")
    by_report: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_report.setdefault(row["report"], []).append(row)
    for report in reports:
        table.add_column(f"{report}\n{_criteria(by_report[report])}", justify="right")
    cells: dict[str, dict[str, str]] = {}
    names: dict[str, str] = {}
    for row in rows:
        names[row["campaign_id"]] = row["campaign_name"]
        cells.setdefault(row["campaign_id"], {})[row["report"]] = (
            f"{_count(row['direct_converters'])} / {_count(row['indirect_converters'])}"
        )
    for campaign_id, by_name in cells.items():
        # A campaign outside a report's target has no row there, not a zero.
        table.add_row(names[campaign_id], *(by_name.get(report, MISSING) for report in reports))
    return table


def _step_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every step of a goal's funnels in order; opened exists only for some channels."""
    columns: list[str] = []
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_campaign.setdefault(row["campaign_id"], []).append(row)
    for steps in by_campaign.values():
        previous: str | None = None
        for row in sorted(steps, key=lambda found: found["step_index"]):
            if row["step"] not in columns:
                position = columns.index(previous) + 1 if previous in columns else len(columns)
                columns.insert(position, row["step"])
            previous = row["step"]
    return columns


def funnel_table(
    report: str, goal: str, rows: list[dict[str, Any]], names: dict[str, str]
) -> Table:
    """One report and goal: persons at each step, and the share kept from the step before."""
    table = Table(
        title=f"Funnel: report {report}, goal {goal}",
        title_justify="left",
        caption="Persons at each step (share of the step before); converted = direct.",
    )
    table.add_column("Campaign", overflow="fold")
    step_columns = _step_columns(rows)
    for step in step_columns:
        table.add_column(step.replace("_", " ").capitalize(), justify="right")
    by_campaign: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_campaign.setdefault(row["campaign_id"], {})[row["step"]] = row
    for campaign_id, steps in by_campaign.items():
        cells = []
        for step in step_columns:
            found = steps.get(step)
            cells.append(
                MISSING
                if found is None
                else _count_and_share(found["persons"], found["rate_from_previous"])
            )
        table.add_row(names.get(campaign_id, campaign_id), *cells)
    return table


def report_tables(database: Path, report: str | None = None) -> ReportTables:
    """Read the marts of a built DuckDB warehouse, read-only, into one table per report and goal."""
    if not database.is_file():
        raise ReportViewError(
            f"{database}: database not found; build it first with `campaign-report run`"
        )
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        raise ReportViewError(f"{database}: cannot be opened: {reason}") from None
    try:
        return read_report_tables(con, str(database), report)
    finally:
        con.close()


def read_report_tables(con: Connection, where: str, report: str | None = None) -> ReportTables:
    """One table per report and goal from the marts behind ``con``; ``where`` names it in errors."""
    try:
        performance = mart_rows(con, PERFORMANCE_SQL, report)
        funnel = mart_rows(con, FUNNEL_SQL, report)
        lifts = lift_tables(con, report)
        credits = credit_tables(con, report)
    except (duckdb.CatalogException, psycopg2.errors.UndefinedTable):
        raise ReportViewError(
            f"{where}: has no marts.fct_campaign_performance or marts.fct_campaign_funnel;"
            " build it first with `campaign-report run`"
        ) from None
    if report is not None and not performance:
        _, found = fetch(
            con,
            "select string_agg(distinct report, ', ' order by report) "
            f"from {qualified_schema(con, 'marts')}.fct_campaign_performance",
        )
        known = found[0][0]
        raise ReportViewError(
            f"{where}: no report named {report!r}; reports there: {known or 'none'}"
        )

    names = {row["campaign_id"]: row["campaign_name"] for row in performance}
    reports_by_goal: dict[str, list[str]] = {}
    rows_by_goal: dict[str, list[dict[str, Any]]] = {}
    for row in performance:
        reports = reports_by_goal.setdefault(row["goal"], [])
        if row["report"] not in reports:
            reports.append(row["report"])
        rows_by_goal.setdefault(row["goal"], []).append(row)
    return ReportTables(
        reach=reach_table(performance),
        comparisons=_beside(
            {
                key: comparison_table(key[0], key[1], rows)
                for key, rows in by_report_and_goal(performance).items()
            },
            lifts,
            credits,
        ),
        side_by_side=[
            side_by_side_table(goal, rows_by_goal[goal], reports)
            for goal, reports in reports_by_goal.items()
            if len(reports) > 1
        ],
        funnels=[
            funnel_table(report_name, goal, rows, names)
            for (report_name, goal), rows in by_report_and_goal(funnel).items()
        ],
    )
