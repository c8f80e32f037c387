"""What differs between the two warehouses when Python, not dbt, reads or writes them.

The loader, the config tables, the lift mart and the terminal report take a DB-API
connection: a DuckDB connection for the duckdb target, a psycopg2 one for postgres.
These helpers hide the few differences: parameter markers, how a schema is named,
and how a transaction is begun.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

# psycopg2 ships no type hints; a connection is any object with its DB-API methods.
Connection = Any


class WarehouseBusyError(RuntimeError):
    """Another process is writing the warehouse, or holds its file open; says which."""


def is_duckdb(con: Connection) -> bool:
    return isinstance(con, duckdb.DuckDBPyConnection)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def placeholders(con: Connection, count: int) -> str:
    """``count`` parameter markers in the connection's style, comma-separated."""
    marker = "?" if is_duckdb(con) else "%s"
    return ", ".join(marker for _ in range(count))


def qualified_schema(con: Connection, schema: str) -> str:
    """A schema name that means the same on both warehouses.

    DuckDB names a file's catalog after the file, so in raw.duckdb a bare
    ``raw.campaigns`` would be ambiguous between the catalog and the schema; the
    schema is qualified with the database's own catalog there. PostgreSQL has one
    catalog per connection and needs no qualifier.
    """
    if not is_duckdb(con):
        return quote_identifier(schema)
    (catalog,) = con.execute("select current_database()").fetchone()
    return f"{quote_identifier(catalog)}.{schema}"


def fetch(
    con: Connection, sql: str, parameters: Sequence[Any] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one query and return its column names and rows."""
    if is_duckdb(con):
        # On the connection itself: a DuckDB cursor is a second connection, which
        # would not see what this one has not committed yet.
        result = con.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return names, [tuple(row) for row in result.fetchall()]
    cursor = con.cursor()
    try:
        # None, not [], when there are none: psycopg2 would otherwise read every % in
        # the statement as a parameter marker.
        cursor.execute(sql, list(parameters) or None)
        names = [column[0] for column in cursor.description]
        return names, [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


@contextmanager
def transaction(con: Connection) -> Iterator[Any]:
    """A cursor whose statements commit together on success and roll back on any error."""
    if is_duckdb(con):
        con.execute("begin transaction")
        try:
            yield con
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return
    # psycopg2 opens a transaction at the first statement by itself.
    cursor = con.cursor()
    try:
        yield cursor
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        cursor.close()
