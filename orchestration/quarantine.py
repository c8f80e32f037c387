"""The quarantine seen from Dagster: what was set aside, and the proof that no row was lost.

The rules are dbt's (models/staging/base). For every raw table, each row ends up in exactly
one place: the staging model, the quarantine table or the duplicates dropped. The
``nothing_lost`` checks count the four in the warehouse and fail the run when they do not
add up, and the quarantine tables' materializations carry their counts per reason.
"""

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import dagster as dg

from orchestration.landing import CONTRACTS, RAW_SCHEMA

QUARANTINE_SCHEMA = "quarantine"
STAGING_SCHEMA = "staging"
# Values, not rows, set aside: a conversion whose goal value is not a number still counts.
GOAL_VALUES_TABLE = "goal_values"
QUARANTINE_TABLES = (*CONTRACTS, GOAL_VALUES_TABLE)
REASON_PREFIX = "reason/"


class Warehouse(Protocol):
    """What the checks need of the `warehouse` resource: a connection to the warehouse.

    A DuckDB connection or a psycopg2 one; both give a DB-API cursor, which is all the
    counting below uses.
    """

    def connect(self) -> AbstractContextManager[Any]: ...


def quarantine_key(table: str) -> dg.AssetKey:
    """The quarantine table's asset key, which its dbt model sets to the table's own name."""
    return dg.AssetKey([QUARANTINE_SCHEMA, table])


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([STAGING_SCHEMA, f"stg_{table}"])


def base_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([STAGING_SCHEMA, f"base_{table}"])


def _fetch(con: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = con.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _relation(con: Any, schema: str, table: str) -> str:
    # Qualified with the catalog: in a file called raw.duckdb, raw alone would be ambiguous.
    ((catalog,),) = _fetch(con, "select current_database()")
    return ".".join('"' + part.replace('"', '""') + '"' for part in (catalog, schema, table))


def _count(con: Any, relation: str, where: str = "true") -> int:
    ((count,),) = _fetch(con, f"select count(*) from {relation} where {where}")
    return int(count)


@dataclass(frozen=True)
class RowAccount:
    """Where the rows of one raw table went."""

    table: str
    raw: int
    staged: int
    quarantined: int
    duplicates: int

    @property
    def unaccounted(self) -> int:
        """Raw rows that are in none of the three places; negative when some are in two."""
        return self.raw - self.staged - self.quarantined - self.duplicates

    def describe(self) -> str:
        summary = (
            f"{RAW_SCHEMA}.{self.table} has {self.raw} rows: {self.staged} staged, "
            f"{self.quarantined} quarantined, {self.duplicates} duplicates removed"
        )
        if self.unaccounted > 0:
            return f"{summary}; {self.unaccounted} rows are missing from all three"
        if self.unaccounted < 0:
            return f"{summary}; {-self.unaccounted} rows are counted twice"
        return summary


def account_rows(con: Any, table: str) -> RowAccount:
    """Count one raw table's rows and where each relation downstream says they went."""
    return RowAccount(
        table=table,
        raw=_count(con, _relation(con, RAW_SCHEMA, table)),
        staged=_count(con, _relation(con, STAGING_SCHEMA, f"stg_{table}")),
        quarantined=_count(con, _relation(con, QUARANTINE_SCHEMA, table)),
        duplicates=_count(
            con, _relation(con, STAGING_SCHEMA, f"base_{table}"), "row_status = 'duplicate'"
        ),
    )


def reason_counts(con: Any, table: str) -> dict[str, int]:
    """Rows of one quarantine table per reason, most frequent first."""
    rows = _fetch(
        con,
        f"select reason, count(*) from {_relation(con, QUARANTINE_SCHEMA, table)} "
        "group by reason order by count(*) desc, reason",
    )
    return {str(reason): int(count) for reason, count in rows}


def quarantine_metadata(counts: Mapping[str, int]) -> dict[str, int]:
    """Materialization metadata: the total, and one number per reason that the UI can plot."""
    metadata = {"dagster/row_count": sum(counts.values())}
    metadata.update({f"{REASON_PREFIX}{reason}": count for reason, count in counts.items()})
    return metadata


def _nothing_lost_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=staging_key(table),
        name="nothing_lost",
        blocking=True,
        additional_deps=[dg.AssetKey([RAW_SCHEMA, table]), base_key(table), quarantine_key(table)],
        required_resource_keys={"warehouse"},
        description=(
            f"Every row of {RAW_SCHEMA}.{table} is staged, quarantined or a duplicate "
            "removed, exactly once."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        warehouse: Warehouse = context.resources.warehouse
        with warehouse.connect() as con:
            account = account_rows(con, table)
        passed = account.unaccounted == 0
        (context.log.info if passed else context.log.error)(account.describe())
        return dg.AssetCheckResult(
            passed=passed,
            description=account.describe(),
            metadata={
                "raw_rows": account.raw,
                "staged_rows": account.staged,
                "quarantined_rows": account.quarantined,
                "duplicates_removed": account.duplicates,
            },
        )

    return _check


nothing_lost_checks = [_nothing_lost_check(table) for table in CONTRACTS]
