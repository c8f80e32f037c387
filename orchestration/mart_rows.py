"""Reading the marts for the terminal views: one query helper, one grouping, for every table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestration.warehouse import Connection, fetch, is_duckdb, placeholders, qualified_schema

Row = dict[str, Any]


def mart_rows(con: Connection, sql: str, report: str | None) -> list[Row]:
    """Run a view query filtered to one report (or all when None) and return dict rows.

    The query names its schemas as {marts} and {raw}, the insert-order column
    as {row_order} and the report parameter as {p}, so it reads the same on both warehouses.
    """
    query = sql.format(
        marts=qualified_schema(con, "marts"),
        raw=qualified_schema(con, "raw"),
        row_order="rowid" if is_duckdb(con) else "ctid",
        p=placeholders(con, 1),
    )
    names, rows = fetch(con, query, [report, report])
    return [dict(zip(names, row, strict=True)) for row in rows]


def by_report_and_goal(rows: Iterable[Row]) -> dict[tuple[str, str], list[Row]]:
    """The rows of each report and goal, in the order they came."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row["report"], row["goal"]), []).append(row)
    return groups
