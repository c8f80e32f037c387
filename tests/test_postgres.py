"""PostgreSQL: the same landing files give the same marts as DuckDB, and analysts read only them.

The input is the sample month for 500 persons, the hand-built fixture's files in
sub-folders of the same landing folder (timestamps with and without offsets, JSON
objects, repeated event ids, a device linked later) and a file of purchases whose
amounts only sometimes read as numbers. The config is the demo's, plus a report that
values every purchase without conditions, so that those amounts reach the marts.

DuckDB builds in a separate process (the CLI) while PostgreSQL builds in this one, so
the two builds share the machine's two cores.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import psycopg2
import psycopg2.errors
import pytest
import yaml

from orchestration import postgres
from orchestration.paths import DEFAULT_CONFIG
from orchestration.pipeline import run_pipeline
from orchestration.publish import published_path
from orchestration.sample_data import generate_sample_data
from orchestration.settings import ANALYST_ROLE_ENV, PostgresSettings, RunSettings

if TYPE_CHECKING:
    from conftest import AnalystRole

FIXTURE_LANDING = Path(__file__).parent / "fixtures" / "landing"
CLI = Path(sys.executable).with_name("campaign-report")
MARTS = (
    "dim_campaigns",
    "fct_attributed_conversions",
    "fct_campaign_credit",
    "fct_campaign_daily",
    "fct_campaign_funnel",
    "fct_campaign_lift",
    "fct_campaign_performance",
    "fct_conversion_credit",
)
RATE_TOLERANCE = 1e-9

# u1 receives push c1 of the fixture at 2024-03-01 10:01 UTC, so each of these purchases
# falls in its 72-hour indirect window and is credited, with whatever value its amount
# reads as.
VALUE_EDGES = [
    ("v01", '"n/a"'),  # not a number: no value
    ("v02", "1e3"),  # DuckDB's JSON text is 1000.0, PostgreSQL's 1000: both 1000
    ("v03", "12.3456785"),  # rounds half away from zero to 12.345679 on both
    ("v04", '"99999999999999999999999999"'),  # too large for numeric(28, 6): no value
    ("v05", '"NaN"'),  # not a value on either
    ("v06", '"0x10"'),  # hexadecimal is not a number for DuckDB, so not for PostgreSQL
    ("v07", "-0.0000005"),  # -0.000001
    ("v08", "39000.10"),
]


def _landing(root: Path) -> Path:
    landing = root / "landing"
    generate_sample_data(landing, persons=500)
    for table in ("campaigns", "message_events", "product_events", "identities"):
        shutil.copytree(FIXTURE_LANDING / table, landing / table / "fixture")
    lines = ["event_id,event_key,user_id,device_id,occurred_at,properties"]
    for position, (event_id, amount) in enumerate(VALUE_EDGES):
        properties = '{""amount"": ' + amount.replace('"', '""') + "}"
        lines.append(f'{event_id},purchase,u1,,2024-03-01T12:0{position}:00Z,"{properties}"')
    (landing / "product_events" / "fixture" / "value_edges.csv").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    return landing


def _config(root: Path) -> Path:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["reports"].append(
        {
            "name": "every_value",
            "window": "72h",
            "goals": [{"name": "purchase", "event_key": "purchase", "value": "amount"}],
        }
    )
    path = root / "reports.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Built:
    duckdb_file: Path
    postgres: PostgresSettings
    landing: Path
    config: Path


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    dbt_manifest: Path,
    postgres_database: PostgresSettings,
    analyst_role: AnalystRole,
) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("postgres")
    landing, config = _landing(root), _config(root)
    duckdb_file = root / "warehouse" / "campaign_report.duckdb"
    database = postgres_database
    duckdb_run = subprocess.Popen(
        [
            str(CLI),
            "run",
            "--target",
            "duckdb",
            "--landing",
            str(landing),
            "--database",
            str(duckdb_file),
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        summary = run_pipeline(
            RunSettings(
                database=root / "unused.duckdb",
                landing=landing,
                config=config,
                target="postgres",
                postgres=database,
                analyst_role=analyst_role.name,
            )
        )
    finally:
        out, err = duckdb_run.communicate(timeout=600)
    assert duckdb_run.returncode == 0, out + err
    assert summary.checks_warned == []
    # 1 + 4 fixture campaigns, 8 + 13 + 8 product events of the fixture and edges.
    assert summary.row_counts["raw/campaigns"] == 12 + 4
    assert summary.row_counts["marts/fct_campaign_lift"] > 0
    assert not (root / "unused.duckdb").exists()
    yield Built(duckdb_file, database, landing, config)


def _duckdb_mart(path: Path, mart: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [mart],
        ).fetchall()
        return columns, con.execute(f"select * from marts.{mart}").fetchall()


def _postgres_mart(con: Any, mart: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    with con.cursor() as cursor:
        cursor.execute(
            "select column_name, "
            "case when data_type = 'numeric' "
            "then format('numeric(%%s,%%s)', numeric_precision, numeric_scale) "
            "else data_type end "
            "from information_schema.columns "
            "where table_schema = 'marts' and table_name = %s order by ordinal_position",
            [mart],
        )
        columns = cursor.fetchall()
        cursor.execute(f"select * from marts.{mart}")
        return columns, cursor.fetchall()


# The same column type as each warehouse names it.
POSTGRES_TYPE_OF = {
    "VARCHAR": "character varying",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "DECIMAL(28,6)": "numeric(28,6)",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp without time zone",
}


def _sort_key(row: tuple) -> tuple:
    # Floats go last and rounded, so that a difference below the tolerance cannot
    # change which row is compared with which.
    exact = [(value is None, value) for value in row if not isinstance(value, float)]
    rounded = [round(value, 6) for value in row if isinstance(value, float)]
    return (*exact, *rounded)


def _differences(mart: str, names: list[str], left: list[tuple], right: list[tuple]) -> list[str]:
    found = []
    pairs = zip(sorted(left, key=_sort_key), sorted(right, key=_sort_key), strict=True)
    for duck_row, pg_row in pairs:
        for name, duck, pg in zip(names, duck_row, pg_row, strict=True):
            if isinstance(duck, float) and isinstance(pg, float):
                same = math.isclose(duck, pg, rel_tol=0, abs_tol=RATE_TOLERANCE)
            else:
                # Decimals, counts, ids, dates and timestamps must match exactly, in type too.
                same = type(duck) is type(pg) and duck == pg
            if not same:
                found.append(f"{mart}.{name}: duckdb {duck!r}, postgres {pg!r} in {duck_row!r}")
    return found


def test_every_mart_is_identical_row_for_row(built: Built) -> None:
    con = postgres.connect(built.postgres)
    try:
        differences = []
        for mart in MARTS:
            duck_columns, duck_rows = _duckdb_mart(built.duckdb_file, mart)
            pg_columns, pg_rows = _postgres_mart(con, mart)
            assert [(name, POSTGRES_TYPE_OF[type_]) for name, type_ in duck_columns] == (
                pg_columns
            ), mart
            # Empty marts would compare equal whatever the SQL did.
            assert len(duck_rows) > 0, mart
            assert len(pg_rows) == len(duck_rows), mart
            differences += _differences(
                mart, [name for name, _ in duck_columns], duck_rows, pg_rows
            )
    finally:
        con.close()
    assert differences == []


def test_amounts_read_as_numbers_the_same_way(built: Built) -> None:
    # The value each edge purchase was credited with, from both warehouses.
    sql = (
        "select conversion_id, conversion_value from marts.fct_attributed_conversions "
        "where report = 'every_value' and campaign_id = 'c1' and conversion_id like 'v%' "
        "and attribution_type = 'indirect' order by conversion_id"
    )
    expected = [
        ("v01", None),
        ("v02", Decimal("1000.000000")),
        ("v03", Decimal("12.345679")),
        ("v04", None),
        ("v05", None),
        ("v06", None),
        ("v07", Decimal("-0.000001")),
        ("v08", Decimal("39000.100000")),
    ]
    with duckdb.connect(str(built.duckdb_file), read_only=True) as con:
        assert con.execute(sql).fetchall() == expected
    con = postgres.connect(built.postgres)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql.replace("like 'v%'", "like 'v%%'"))
            assert cursor.fetchall() == expected
    finally:
        con.close()


def _as_analyst(built: Built, role: AnalystRole) -> Any:
    return psycopg2.connect(
        host=built.postgres.host,
        port=built.postgres.port,
        dbname=built.postgres.dbname,
        user=role.name,
        password=role.password,
    )


def _denied(con: Any, sql: str) -> str:
    """The error PostgreSQL gives the statement, which must be a refused privilege."""
    with con.cursor() as cursor:
        try:
            cursor.execute(sql)
        except psycopg2.errors.InsufficientPrivilege as exc:
            con.rollback()
            return exc.diag.message_primary
    con.rollback()
    raise AssertionError(f"{sql!r} was allowed")


def test_the_analyst_role_reads_the_marts_and_nothing_else(
    built: Built, analyst_role: AnalystRole
) -> None:
    con = _as_analyst(built, analyst_role)
    try:
        for mart in MARTS:
            _, duck_rows = _duckdb_mart(built.duckdb_file, mart)
            with con.cursor() as cursor:
                cursor.execute(f"select count(*) from marts.{mart}")
                assert cursor.fetchone() == (len(duck_rows),), mart
        con.rollback()

        for schema, table in (
            ("raw", "campaigns"),
            ("staging", "stg_campaigns"),
            ("intermediate", "int_message_receipts"),
            ("reference", "channel_capabilities"),
        ):
            assert _denied(con, f"select * from {schema}.{table}") == (
                f"permission denied for schema {schema}"
            )
        assert _denied(con, "select udf.try_cast_double('1')") == "permission denied for schema udf"

        performance = "marts.fct_campaign_performance"
        assert _denied(con, f"delete from {performance}") == (
            "permission denied for table fct_campaign_performance"
        )
        assert _denied(con, f"update {performance} set recipients = 0") == (
            "permission denied for table fct_campaign_performance"
        )
        assert _denied(con, "insert into marts.dim_campaigns (campaign_id) values ('x')") == (
            "permission denied for table dim_campaigns"
        )
        assert _denied(con, "truncate marts.fct_campaign_lift") == (
            "permission denied for table fct_campaign_lift"
        )
        assert _denied(con, "drop table marts.fct_campaign_lift") == (
            "must be owner of table fct_campaign_lift"
        )
        assert _denied(con, "create table marts.mine (x int)") == (
            "permission denied for schema marts"
        )
        assert _denied(con, "create table public.mine (x int)") == (
            "permission denied for schema public"
        )
        assert _denied(con, "create schema mine") == (
            f"permission denied for database {built.postgres.dbname}"
        )
    finally:
        con.close()


def test_psql_opens_the_marts_as_the_analyst(built: Built, analyst_role: AnalystRole) -> None:
    # The README tells analysts to use psql with the PG* variables; it must read the marts
    # the pipeline wrote, with nothing but the analyst's own login.
    psql = shutil.which("psql")
    assert psql is not None, "psql not found; install postgresql-client (Debian: postgresql)"
    env = {
        **os.environ,
        "PGHOST": built.postgres.host,
        "PGPORT": str(built.postgres.port),
        "PGDATABASE": built.postgres.dbname,
        "PGUSER": analyst_role.name,
        "PGPASSWORD": analyst_role.password,
    }
    query = (
        "select campaign_id, channel from marts.dim_campaigns "
        "where campaign_id in ('c1', 'c3', 'c01') order by campaign_id"
    )
    shown = subprocess.run(
        [psql, "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-c", query],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "campaign_id,channel",
        "c01,push",
        "c1,push",
        "c3,kakao",
    ]


def test_a_second_postgres_run_says_the_warehouse_is_busy(
    built: Built, analyst_role: AnalystRole
) -> None:
    # This session stands for a run in progress: it holds the database's run lock.
    holder = postgres.connect(built.postgres, application_name="a run in progress")
    holder.autocommit = True
    holder_pid = holder.get_backend_pid()
    try:
        with holder.cursor() as cursor:
            cursor.execute("select pg_advisory_lock(%s)", [postgres.RUN_LOCK_KEY])
        env = {
            **os.environ,
            "PGHOST": built.postgres.host,
            "PGPORT": str(built.postgres.port),
            "PGUSER": built.postgres.user,
            "PGDATABASE": built.postgres.dbname,
            ANALYST_ROLE_ENV: analyst_role.name,
        }
        arguments = ["--wait", "1", "--landing", str(built.landing), "--config", str(built.config)]
        second = subprocess.run(
            [str(CLI), "run", "--target", "postgres", *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        holder.close()
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    (line,) = second.stderr.splitlines()
    assert line.startswith(
        f"campaign-report: error: warehouse is busy: {built.postgres.label()} is being built "
        f"by another run (its run lock is held by backend {holder_pid} (a run in progress, from "
    ), line
    assert line.endswith(
        "); waited 1s. Run again once it has finished, or wait longer with --wait or "
        "CAMPAIGN_REPORT_BUSY_TIMEOUT"
    ), line


def _readme_queries() -> str:
    """The SQL block of the README's "Querying the marts", as an analyst would paste it."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Querying the marts", 1)[1]
    return section.split("```sql\n", 1)[1].split("```", 1)[0]


def test_the_readme_queries_give_the_same_answers_in_both_clients(
    built: Built, analyst_role: AnalystRole
) -> None:
    queries = _readme_queries()
    assert queries.count(";") == 2
    client = Path(sys.executable).with_name("duckdb")
    # An empty field for NULL, as psql writes it (the duckdb CLI writes NULL by default).
    options = ["-readonly", "-csv", "-nullvalue", ""]
    duck = subprocess.run(
        [str(client), *options, str(published_path(built.duckdb_file))],
        input=queries,
        capture_output=True,
        text=True,
        check=False,
    )
    psql = subprocess.run(
        ["psql", "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=queries,
        env={
            **os.environ,
            "PGHOST": built.postgres.host,
            "PGPORT": str(built.postgres.port),
            "PGDATABASE": built.postgres.dbname,
            "PGUSER": analyst_role.name,
            "PGPASSWORD": analyst_role.password,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert duck.returncode == 0, duck.stderr
    assert psql.returncode == 0, psql.stderr
    # psql separates the two results with a blank line; both hold a header and rows.
    duck_lines = duck.stdout.splitlines()
    psql_lines = [line for line in psql.stdout.splitlines() if line]
    assert duck_lines[0].startswith("campaign_name,channel,recipients,")
    assert "step_index,step,persons,rate_from_previous,drop_off" in duck_lines
    assert len(duck_lines) > 10
    assert psql_lines == duck_lines
