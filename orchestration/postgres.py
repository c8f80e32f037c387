"""PostgreSQL as the warehouse: connecting, replacing a raw table, the run lock, the checks.

dbt builds the models there through dbt-postgres; this module is what the Python assets
need besides: a psycopg2 connection in UTC, a way to replace a table's rows in the
caller's transaction, and an advisory lock that keeps two runs off one database.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg2
import psycopg2.extras
import yaml

from orchestration.paths import PROFILES_PATH
from orchestration.settings import ANALYST_ROLE_ENV, PostgresSettings
from orchestration.warehouse import WarehouseBusyError, quote_identifier

# One key for every run of this pipeline on a database; advisory locks are per database.
RUN_LOCK_KEY = zlib.crc32(b"campaign_report pipeline run")
LOCK_POLL_SECONDS = 0.5
CONNECTION_HELP = "set PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE (README: PostgreSQL)"


class PostgresError(RuntimeError):
    """The PostgreSQL warehouse cannot be used as configured, with what to fix."""


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def connect(settings: PostgresSettings, *, application_name: str = "campaign-report") -> Any:
    """A psycopg2 connection whose session runs in UTC, as the dbt models assume."""
    try:
        return psycopg2.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            dbname=settings.dbname,
            application_name=application_name,
            options="-c TimeZone=UTC",
            client_encoding="UTF8",
            connect_timeout=10,
        )
    except psycopg2.OperationalError as exc:
        raise PostgresError(
            f"cannot connect to {settings.label()}: {_one_line(exc)}; {CONNECTION_HELP}"
        ) from None


def _normalised_types(cursor: Any, types: Sequence[str]) -> list[str]:
    cursor.execute(
        "select format_type(to_regtype(t), null) from unnest(%s::text[]) with ordinality "
        "as declared(t, position) order by position",
        [list(types)],
    )
    return [row[0] for row in cursor.fetchall()]


def _existing_columns(cursor: Any, relation: str) -> list[tuple[str, str]]:
    cursor.execute(
        "select attname::text, format_type(atttypid, null) from pg_attribute "
        "where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum",
        [relation],
    )
    return [(name, type_) for name, type_ in cursor.fetchall()]


def prepare_table(cursor: Any, schema: str, table: str, columns: Mapping[str, str]) -> str:
    """Make ``schema.table`` an empty table with exactly ``columns``, in the open transaction.

    The table is emptied, not dropped, when its columns are already right: the staging
    views read it, and PostgreSQL would have to drop them with it. Only a table whose
    columns changed is dropped, with the views on it, which dbt builds again next.
    Returns the table's qualified name.
    """
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    cursor.execute(f"create schema if not exists {quote_identifier(schema)}")
    wanted = list(zip(columns, _normalised_types(cursor, list(columns.values())), strict=True))
    existing = _existing_columns(cursor, relation)
    if existing and existing != wanted:
        cursor.execute(f"drop table {relation} cascade")
        existing = []
    if existing:
        cursor.execute(f"truncate table {relation}")
    else:
        column_sql = ", ".join(
            f"{quote_identifier(name)} {type_}" for name, type_ in columns.items()
        )
        cursor.execute(f"create table {relation} ({column_sql})")
    return relation


def copy_csv(cursor: Any, relation: str, columns: Sequence[str], csv_file: IO[bytes]) -> None:
    """Append a headerless CSV file to a table: an empty field is NULL, a quoted one text."""
    column_sql = ", ".join(quote_identifier(name) for name in columns)
    cursor.copy_expert(f"copy {relation} ({column_sql}) from stdin with (format csv)", csv_file)


def insert_rows(cursor: Any, relation: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        psycopg2.extras.execute_values(cursor, f"insert into {relation} values %s", rows)


def count_rows(cursor: Any, relation: str) -> int:
    cursor.execute(f"select count(*) from {relation}")
    (rows,) = cursor.fetchone()
    return int(rows)


def grant_select(cursor: Any, relation: str, role: str) -> None:
    cursor.execute(f"grant select on {relation} to {quote_identifier(role)}")


def check_ready(settings: PostgresSettings, analyst_role: str) -> None:
    """Fail before a run starts, naming what to fix, when the server or the set-up is missing.

    dbt itself would fail later with a message about its profile or a grant; these say
    which variable or which one-time statement is missing.
    """
    profiles = yaml.safe_load(Path(PROFILES_PATH).read_text(encoding="utf-8")) or {}
    outputs = (profiles.get("campaign_report") or {}).get("outputs") or {}
    if "postgres" not in outputs:
        raise PostgresError(
            f"{PROFILES_PATH}: the campaign_report profile has no postgres target; copy it "
            "from profiles.example.yml"
        )
    con = connect(settings)
    try:
        with con.cursor() as cursor:
            cursor.execute("select 1 from pg_roles where rolname = %s", [analyst_role])
            if cursor.fetchone() is None:
                raise PostgresError(
                    f"{settings.label()}: role {analyst_role} does not exist; create it once "
                    f"with `create role {analyst_role} nologin` (README: PostgreSQL) or name "
                    f"another role in {ANALYST_ROLE_ENV}"
                )
    finally:
        con.close()


@contextmanager
def run_lock(settings: PostgresSettings, timeout: float) -> Iterator[None]:
    """Hold the database's run lock for the duration, waiting up to ``timeout`` seconds for it.

    A session-level advisory lock: the server drops it when the session ends, so a run
    that dies cannot leave the database locked.
    """
    con = connect(settings, application_name="campaign-report run lock")
    con.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        with con.cursor() as cursor:
            while True:
                cursor.execute("select pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(_busy_message(cursor, settings, timeout))
                time.sleep(LOCK_POLL_SECONDS)
        yield
    finally:
        con.close()


def _busy_message(cursor: Any, settings: PostgresSettings, timeout: float) -> str:
    cursor.execute(
        "select a.pid, a.application_name, a.client_addr::text, a.backend_start "
        "from pg_locks as l join pg_stat_activity as a on l.pid = a.pid "
        "where l.locktype = 'advisory' and l.granted and l.objid = %s::bigint::oid "
        "and l.database = (select oid from pg_database where datname = current_database())",
        [RUN_LOCK_KEY],
    )
    holder = cursor.fetchone()
    held_by = (
        f"held by backend {holder[0]} ({holder[1] or 'no application name'}, "
        f"from {holder[2] or 'a local socket'}, connected {holder[3]:%Y-%m-%d %H:%M:%S %Z})"
        if holder
        else "held by another session"
    )
    return (
        f"warehouse is busy: {settings.label()} is being built by another run (its run lock "
        f"is {held_by}); waited {timeout:g}s. Run again once it has finished, or wait longer "
        "with --wait or CAMPAIGN_REPORT_BUSY_TIMEOUT"
    )
