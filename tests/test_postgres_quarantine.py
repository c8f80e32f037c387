"""PostgreSQL 15 sets aside, keeps and de-identifies the same rows of bad input as DuckDB.

tests/bad_input.py's landing folder is built on both warehouses. The quarantine rules,
the JSON checks and the salted hash each have a PostgreSQL form of their own (a function
of the run hook where PostgreSQL 15 lacks the SQL), so the quarantine tables and the
marts must match DuckDB's row for row, every row must be accounted for, and no planted
phone number or address may reach a table outside raw and quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from orchestration import postgres
from orchestration.landing import CONTRACTS
from orchestration.pipeline import RunSummary, run_pipeline
from orchestration.quarantine import QUARANTINE_TABLES, account_rows
from orchestration.settings import PostgresSettings, RunSettings
from tests.bad_input import PLANTED, write_bad_input

if TYPE_CHECKING:
    from conftest import AnalystRole, BadInputRun

ALLOWED_SCHEMAS = {"raw", "quarantine"}
MARTS = ("fct_campaign_performance", "fct_attributed_conversions", "fct_campaign_funnel")


@pytest.fixture(scope="module")
def postgres_run(
    tmp_path_factory: pytest.TempPathFactory,
    dbt_manifest: Path,
    postgres_database: PostgresSettings,
    analyst_role: AnalystRole,
) -> RunSummary:
    root = tmp_path_factory.mktemp("postgres_bad_input")
    landing, config = write_bad_input(root)
    return run_pipeline(
        RunSettings(
            database=root / "unused.duckdb",
            landing=landing,
            config=config,
            target="postgres",
            postgres=postgres_database,
            analyst_role=analyst_role.name,
        )
    )


def _rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = con.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _as_text(rows: list[tuple[Any, ...]]) -> list[tuple[str | None, ...]]:
    # Both warehouses hand quarantined values over as the text that was loaded, but the
    # drivers type the position and the numbers differently; compare what they say.
    as_text = [tuple(None if value is None else str(value) for value in row) for row in rows]
    return sorted(as_text, key=lambda row: [(value is None, value or "") for value in row])


@pytest.fixture
def both(postgres_database: PostgresSettings, bad_input_run: BadInputRun) -> Iterator[Both]:
    """Connections to the two builds of the same bad input."""
    con = postgres.connect(postgres_database)
    try:
        with duckdb.connect(str(bad_input_run.database), read_only=True) as duck:
            yield Both(duck, con)
    finally:
        con.close()


@dataclass(frozen=True)
class Both:
    duck: Any
    pg: Any

    def assert_same_rows(self, relations: list[str]) -> None:
        for relation in relations:
            sql = f"select * from {relation}"
            duck_rows = _rows(self.duck, sql)
            # An empty table would compare equal whatever the rules did.
            assert duck_rows, relation
            assert _as_text(_rows(self.pg, sql)) == _as_text(duck_rows), relation


def test_the_same_rows_are_quarantined_for_the_same_reasons(
    postgres_run: RunSummary, bad_input_run: BadInputRun, both: Both
) -> None:
    assert postgres_run.quarantined == bad_input_run.summary.quarantined
    both.assert_same_rows([f"quarantine.{table}" for table in QUARANTINE_TABLES])


def test_every_raw_row_is_accounted_for(postgres_run: RunSummary, both: Both) -> None:
    for table in CONTRACTS:
        account = account_rows(both.pg, table)
        assert account.unaccounted == 0, account.describe()
        assert account == account_rows(both.duck, table)


def test_the_marts_match_duckdb(postgres_run: RunSummary, both: Both) -> None:
    both.assert_same_rows([f"marts.{mart}" for mart in MARTS])


def test_no_phone_number_or_address_outside_raw_and_quarantine(
    postgres_run: RunSummary, postgres_database: PostgresSettings
) -> None:
    con = postgres.connect(postgres_database)
    try:
        columns = _rows(
            con,
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('raw', 'quarantine', 'staging', 'intermediate', 'marts') "
            "order by table_schema, table_name, ordinal_position",
        )
        found: dict[str, set[str]] = {}
        for schema, table, column in columns:
            for value in PLANTED:
                ((hits,),) = _rows(
                    con,
                    f'select count(*) from "{schema}"."{table}" '
                    f"where strpos(lower(cast(\"{column}\" as text)), '{value.lower()}') > 0",
                )
                if hits:
                    found.setdefault(f"{schema}.{table}", set()).add(value)
    finally:
        con.close()
    leaked = {
        relation: values
        for relation, values in found.items()
        if relation.split(".")[0] not in ALLOWED_SCHEMAS
    }
    assert leaked == {}
    # The scan sees them where they belong, so it could see them anywhere; the same
    # places the DuckDB scan finds them (tests/test_personal_data.py).
    assert set(found) == {"raw.message_events", "raw.product_events", "quarantine.message_events"}
