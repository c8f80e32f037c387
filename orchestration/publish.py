"""The read-only copy of the DuckDB warehouse that analysts open.

DuckDB allows one writer per file, and a writer cannot open a file that another process
reads, so analysts never open the file the pipeline builds. After every successful build
the analysts' relations are written to a new file beside the published one, which is
then renamed over it: the rename is atomic, so a new session opens either the previous
copy or the new one, never half of one, and a session already open keeps reading the
copy it opened (its file lives on until it closes it) without ever holding up the next
run.

The copy holds what the PostgreSQL analyst role is granted, the marts, plus the report
config that ``campaign-report show`` orders its tables by. It is a new file rather than
a copy of the warehouse's: ``raw`` and ``quarantine`` keep phone numbers and addresses as
loaded, and dropping them from a copy would not do, because DuckDB leaves a dropped
table's blocks, text and all, in the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.report_config import CONFIG_TABLE_COLUMNS

PUBLISHED_FOLDER = "published"
# Every table and view of these schemas is published, views as tables of their rows.
PUBLISHED_SCHEMAS = ("marts",)
# The report config as the loader wrote it: what the reports measure, no event data.
PUBLISHED_CONFIG = tuple(("raw", table) for table in CONFIG_TABLE_COLUMNS)
# The mart that must be readable in a copy before it replaces the published one.
CHECK_RELATION = "marts.fct_campaign_performance"
BUILT = "built"


def published_path(database: Path) -> Path:
    """``warehouse/campaign_report.duckdb`` is published as
    ``warehouse/published/campaign_report.duckdb``.

    The same file name keeps the same DuckDB catalog name in the copy.
    """
    return database.parent / PUBLISHED_FOLDER / database.name


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def published_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    """The (schema, name) of every relation of ``catalog`` that the copy holds."""
    schemas = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    found = con.execute(
        f"""
        select schema_name, table_name from duckdb_tables()
        where database_name = ? and schema_name in ({schemas})
        union all
        select schema_name, view_name from duckdb_views()
        where database_name = ? and schema_name in ({schemas}) and not internal
        order by 1, 2
        """,
        [catalog, *PUBLISHED_SCHEMAS, catalog, *PUBLISHED_SCHEMAS],
    ).fetchall()
    return [*((schema, name) for schema, name in found), *PUBLISHED_CONFIG]


def publish(database: Path) -> Path:
    """Write the analysts' relations of the built warehouse to a new file and swap it in
    over the published copy, atomically; returns the copy's path.

    The caller must hold the run lock, so that nothing writes the file while it is read.
    """
    target = published_path(database)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(scratch)) as con:
            con.execute(f"attach {_literal(database)} as {BUILT} (read_only)")
            for schema, name in published_relations(con, BUILT):
                relation = f"{_quoted(schema)}.{_quoted(name)}"
                con.execute(f"create schema if not exists {_quoted(schema)}")
                # rowid order keeps the config tables' insert order, which `show` reads
                # as the config file's order of reports and goals.
                order = "order by rowid" if (schema, name) in PUBLISHED_CONFIG else ""
                con.execute(f"create table {relation} as select * from {BUILT}.{relation} {order}")
            con.execute("detach " + BUILT)
            con.execute("checkpoint")
        with duckdb.connect(str(scratch), read_only=True) as con:
            con.execute(f"select count(*) from {CHECK_RELATION}").fetchone()
        # Read-only for everyone: a session that forgets -readonly then fails to open it
        # rather than taking a write lock that would shut other analysts out.
        scratch.chmod(0o444)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
    return target


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
