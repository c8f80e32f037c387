"""Loading the landing folder into the raw tables of a PostgreSQL warehouse.

The files are read exactly as for DuckDB (orchestration/landing.py): by DuckDB's own
readers, in an in-memory database of this process, with the same contract, checks and
``_source_file``/``_source_row``. The rows are then written to a CSV file in a scratch
folder and copied into the server with ``COPY``. Each raw table is emptied and filled in
one transaction, so a failed load leaves the previous rows in place, and the table is
not dropped, so the staging views on it stay (PostgreSQL binds a view to its table).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg2

from orchestration import postgres
from orchestration.landing import (
    RAW_SCHEMA,
    SOURCE_COLUMNS,
    LandingError,
    LoadResult,
    TableContract,
    _file_select,
    _FileSelect,
    _literal,
    _one_line,
    data_files,
    table_folder,
)
from orchestration.warehouse import Connection, transaction


def raw_columns(contract: TableContract) -> dict[str, str]:
    """The raw table's columns and types: the contract's as text, then where each row came from."""
    return {column: "varchar" for column in contract.columns} | {
        "_source_file": "varchar",
        "_source_row": "bigint",
        "_landing_date": "date",
    }


def _union_sql(selects: Sequence[_FileSelect], contract: TableContract) -> str:
    union = " union all by name ".join(select.sql for select in selects)
    # By name, then in the table's column order, whatever order each file had.
    return f"select {', '.join((*contract.columns, *SOURCE_COLUMNS))} from ({union})"


def _export_csv(
    landing_dir: Path, contract: TableContract, csv_path: Path, failed: str
) -> tuple[list[_FileSelect], list[Path]]:
    files, skipped = data_files(landing_dir, contract)
    with duckdb.connect() as reader:
        # As for DuckDB's raw tables: Parquet TIMESTAMPTZ values become text in UTC.
        reader.execute("set TimeZone = 'UTC'")
        selects = [_file_select(reader, landing_dir, path, contract) for path in files]
        if not selects:
            csv_path.write_bytes(b"")
            return selects, skipped
        try:
            # Every value quoted and NULL a bare empty field: PostgreSQL's COPY reads a
            # bare empty field as NULL and a quoted one as empty text.
            reader.execute(
                f"copy ({_union_sql(selects, contract)}) to {_literal(str(csv_path))} "
                "(format csv, header false, force_quote *)"
            )
        except duckdb.Error as exc:
            raise LandingError(f"{failed}: {_one_line(exc)}") from None
    return selects, skipped


def load_table_into_postgres(
    pg_con: Connection, landing_dir: Path, contract: TableContract
) -> LoadResult:
    """Replace raw.<table> on PostgreSQL with every row of the table's landing files.

    As on DuckDB, every file is checked before anything is written.
    """
    failed = f"{table_folder(landing_dir, contract)}: loading {contract.qualified_name} failed"
    columns = raw_columns(contract)
    with tempfile.TemporaryDirectory(prefix="campaign-report-load-") as scratch:
        csv_path = Path(scratch) / f"{contract.name}.csv"
        selects, skipped = _export_csv(landing_dir, contract, csv_path, failed)
        try:
            with transaction(pg_con) as cursor, csv_path.open("rb") as csv_file:
                relation = postgres.prepare_table(cursor, RAW_SCHEMA, contract.name, columns)
                postgres.copy_csv(cursor, relation, list(columns), csv_file)
                rows = postgres.count_rows(cursor, relation)
        except psycopg2.Error as exc:
            raise LandingError(f"{failed}: {_one_line(exc)}") from None
    return LoadResult(
        table=contract.name,
        rows=rows,
        files=tuple(select.relative_path for select in selects),
        ignored_columns={
            select.relative_path: select.ignored_columns
            for select in selects
            if select.ignored_columns
        },
        skipped_files=tuple(path.relative_to(landing_dir).as_posix() for path in skipped),
    )
