"""Reading the landing folder into the raw tables of the warehouse.

A landing folder has one sub-folder per raw table. Each sub-folder may hold any
mix of CSV (with a header row), Parquet and JSON-lines files, in nested folders
too. Every file is read with DuckDB's own readers, its contract columns are kept
as text exactly as the file has them, and all files of a table replace that table
in one transaction, so a failed load leaves the previous table untouched and
loading the same files twice gives the same table.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from orchestration.partitions import DayRange

RAW_SCHEMA = "raw"
SOURCE_COLUMNS = ("_source_file", "_source_row", "_landing_date")

# Keyed by lower-cased suffix. JSON files are always read as one object per line.
FILE_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
}

# Parquet columns of these types are nested values, written out as JSON text.
NESTED_TYPE_MARKERS = ("STRUCT", "MAP", "[]", "JSON", "UNION")

# DuckDB follows a reader error with hints on its own options and an echo of the SQL;
# the person fixing an export needs only the sentence before them.
DUCKDB_HINT_MARKERS = (
    " The search space used was:",
    " Possible fixes:",
    " Possible Solution:",
    " LINE 1:",
    " file = ",
)
# A CSV error quotes the offending line, which can hold a phone number or an address
# that would then sit in every log the error reaches.
QUOTED_LINE = re.compile(
    r" Original Line: .*?(?= Expected Number| Invalid unicode| Value with unterminated|$)"
)

# A day folder of the event tables: the day a file was delivered, YYYY-MM-DD.
DAY_FOLDER_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A folder name that reads as an attempt at a day: four digits, then one or two,
# then one or two, with or without separators (2026-11-3, 20261103, 2026_11_03).
DAY_LIKE_NAME = re.compile(r"^\d{4}[-_./ ]?\d{1,2}[-_./ ]?\d{1,2}$")
# Metadata key of a raw event table's materialization: the day-like folders that
# are not day folders, which no daily run loads.
MISNAMED_DAY_FOLDERS = "misnamed_day_folders"


class LandingError(ValueError):
    """A landing folder or file that cannot be loaded, with a one-line reason."""


@dataclass(frozen=True)
class TableContract:
    """The columns one raw table takes from its landing sub-folder."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    folder_required: bool = True

    @property
    def qualified_name(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"


CONTRACTS: dict[str, TableContract] = {
    contract.name: contract
    for contract in (
        TableContract(
            name="campaigns",
            columns=("campaign_id", "campaign_name", "channel", "message_type", "created_at"),
            required=("campaign_id", "channel"),
        ),
        TableContract(
            name="message_events",
            columns=(
                "event_id",
                "campaign_id",
                "message_id",
                "user_id",
                "device_id",
                "channel",
                "event_type",
                "occurred_at",
                "properties",
            ),
            required=("event_id", "campaign_id", "message_id", "event_type", "occurred_at"),
        ),
        TableContract(
            name="product_events",
            columns=("event_id", "event_key", "user_id", "device_id", "occurred_at", "properties"),
            required=("event_id", "event_key", "occurred_at"),
        ),
        TableContract(
            name="identities",
            columns=("device_id", "user_id", "linked_at"),
            required=("device_id", "user_id", "linked_at"),
            folder_required=False,
        ),
    )
}


@dataclass(frozen=True)
class LoadResult:
    """What one table load did, for the run's log lines and metadata."""

    table: str
    rows: int
    files: tuple[str, ...]
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class _FileSelect:
    path: Path
    file_format: str
    relative_path: str
    sql: str
    ignored_columns: tuple[str, ...]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _reader_reason(error: duckdb.Error) -> str:
    """DuckDB's own account of why a file cannot be read, in one line and without row data."""
    text = _one_line(error)
    for marker in DUCKDB_HINT_MARKERS:
        text = text.split(marker, 1)[0]
    text = QUOTED_LINE.sub("", text)
    return text.removeprefix("Invalid Input Error: ").strip()


def _first_line_not_json(path: Path) -> int | None:
    """The number of the first non-blank line of a JSON-lines file that is not JSON."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError:
                return number
    return None


def _unreadable_file_error(path: Path, file_format: str, error: duckdb.Error) -> LandingError:
    if file_format == "json":
        line = _first_line_not_json(path)
        if line is not None:
            return LandingError(
                f"{path}: line {line} is not valid JSON; expected one JSON object per line"
            )
    return LandingError(f"{path}: cannot be read as {file_format}: {_reader_reason(error)}")


def raw_schema(con: duckdb.DuckDBPyConnection) -> str:
    """The raw schema qualified with the database's own catalog.

    DuckDB names a file's catalog after the file, so in raw.duckdb a bare
    ``raw.campaigns`` would be ambiguous between the catalog and the schema.
    """
    (catalog,) = con.execute("select current_database()").fetchone()
    return f"{_identifier(catalog)}.{RAW_SCHEMA}"


def table_folder(landing_dir: Path, contract: TableContract) -> Path:
    return landing_dir / contract.name


def check_landing(landing_dir: Path) -> None:
    """Fail early, naming the folder, when a required landing folder is missing or empty."""
    if not landing_dir.is_dir():
        raise LandingError(f"{landing_dir}: landing folder not found")
    for contract in CONTRACTS.values():
        if contract.folder_required:
            data_files(landing_dir, contract)


def data_files(landing_dir: Path, contract: TableContract) -> tuple[list[Path], list[Path]]:
    """The table's data files in a stable order, and the other files that were skipped."""
    folder = table_folder(landing_dir, contract)
    if not folder.is_dir():
        if contract.folder_required:
            raise LandingError(
                f"{folder}: folder not found; the landing folder needs a {contract.name}/ "
                "sub-folder with CSV, Parquet or JSON-lines files"
            )
        return [], []
    found: list[Path] = []
    skipped: list[Path] = []
    for path in sorted(folder.rglob("*")):
        relative_parts = path.relative_to(folder).parts
        # Hidden files and folders are editor and OS clutter (.DS_Store, .~lock).
        if not path.is_file() or any(part.startswith(".") for part in relative_parts):
            continue
        (found if path.suffix.lower() in FILE_FORMATS else skipped).append(path)
    if not found and contract.folder_required:
        raise LandingError(
            f"{folder}: no data files; expected CSV, Parquet or JSON-lines files "
            f"({', '.join(sorted(FILE_FORMATS))})"
        )
    return found, skipped


def day_folder_date(name: str) -> date | None:
    """The day a folder's name gives, written YYYY-MM-DD; None for any other name."""
    if not DAY_FOLDER_NAME.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:  # a day that does not exist, such as 2026-02-30
        return None


def landing_date(folder: Path, path: Path) -> date | None:
    """The day a file was delivered: the YYYY-MM-DD folder it sits in, directly under
    the table's folder; None for a file outside such a folder."""
    parts = path.relative_to(folder).parts
    return day_folder_date(parts[0]) if len(parts) >= 2 else None


def _csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file's first row, trimmed as DuckDB trims them.

    None when the first row does not look like a header (unreadable text,
    control characters, an empty or repeated name): DuckDB's own sniffer then
    reads the file and says what is wrong with it.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            first = next(csv.reader(text), None)
    except (UnicodeDecodeError, csv.Error):
        return None
    if not first:
        return None
    names = [name.strip() for name in first]
    if any(not name or not name.isprintable() for name in names):
        return None
    if len({name.lower() for name in names}) != len(names):
        return None
    return names


def misnamed_day_folders(landing_dir: Path, contract: TableContract) -> list[str]:
    """Folders directly under a table's folder that look like a day but are not one.

    A daily run loads only YYYY-MM-DD folders and a full build loads every file,
    so the files of a mistyped day (2026-11-3, or a date that does not exist such
    as 2026-02-30) reach full builds only; the run warns about them by name.
    """
    folder = table_folder(landing_dir, contract)
    if not folder.is_dir():
        return []
    misnamed = []
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or not DAY_LIKE_NAME.match(child.name):
            continue
        if day_folder_date(child.name) is None:
            misnamed.append(child.relative_to(landing_dir).as_posix())
    return misnamed


def _reader(path: Path, file_format: str, *, row_numbers: bool = False) -> str:
    """The table function reading one file; with `row_numbers`, it also gives `_row_number`.

    `_row_number` is the row's place in the file, counted from 1.
    """
    location = _literal(str(path))
    if row_numbers and file_format == "parquet":
        # Read from the row groups in parallel: `with ordinality` made the load one thread.
        return (
            f"(select * exclude (file_row_number), file_row_number + 1 as _row_number "
            f"from read_parquet({location}, file_row_number = true))"
        )
    if row_numbers:
        # ordinality numbers the rows in the order the reader meets them in the file.
        plain = _reader(path, file_format)
        return f"(select *, ordinality as _row_number from {plain} with ordinality)"
    if file_format == "csv":
        # Delimiter and quoting are fixed rather than sniffed: a sniffer can
        # mistake a one-column file for another dialect, and all_varchar keeps
        # every value as the text it is in the file.
        options = "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"'"
        header = _csv_header(path)
        if header is not None:
            # With the columns named, DuckDB reads without sniffing, so a short,
            # long or unterminated row in a small file is reported with its line
            # number, and a long row is never taken for the header.
            columns = ", ".join(f"{_literal(name)}: 'varchar'" for name in header)
            options += f", auto_detect = false, columns = {{{columns}}}"
        return f"read_csv({location}, {options})"
    if file_format == "parquet":
        return f"read_parquet({location})"
    return f"read_json_objects({location}, format = 'newline_delimited')"


def _file_columns(
    con: duckdb.DuckDBPyConnection, path: Path, file_format: str
) -> dict[str, tuple[str, str]]:
    """Map each lower-cased column name of a file to its name as written and its type."""
    reader = _reader(path, file_format)
    if file_format == "json":
        not_objects = con.execute(
            f"select min(ordinality) from {reader} with ordinality "
            "where json_type(json) <> 'OBJECT'"
        ).fetchone()
        if not_objects and not_objects[0] is not None:
            raise LandingError(
                f"{path}: record {not_objects[0]} is not a JSON object; expected one "
                "object per line"
            )
        keys = con.execute(f"select distinct unnest(json_keys(json)) from {reader}").fetchall()
        return {key.lower(): (key, "JSON") for (key,) in keys}
    described = con.execute(f"describe select * from {reader}").fetchall()
    return {name.lower(): (name, str(type_name)) for name, type_name, *_ in described}


def _column_expression(file_format: str, name: str, type_name: str) -> str:
    if file_format == "json":
        # ->> gives a string value unquoted and an object or array as JSON text.
        return f"json ->> {_literal(name)}"
    column = _identifier(name)
    if file_format == "parquet":
        if any(marker in type_name.upper() for marker in NESTED_TYPE_MARKERS):
            return f"to_json({column})::varchar"
        if type_name.upper() != "VARCHAR":
            return f"{column}::varchar"
    return column


def _file_select(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    path: Path,
    contract: TableContract,
) -> _FileSelect:
    relative_path = path.relative_to(landing_dir).as_posix()
    file_format = FILE_FORMATS[path.suffix.lower()]
    if file_format == "csv" and path.stat().st_size == 0:
        raise LandingError(f"{path}: file is empty; expected a header row naming the columns")
    if file_format == "json" and path.stat().st_size == 0:
        raise LandingError(f"{path}: file is empty; expected one JSON object per line")
    try:
        present = _file_columns(con, path, file_format)
    except duckdb.Error as exc:
        raise _unreadable_file_error(path, file_format, exc) from None

    missing = [column for column in contract.required if column not in present]
    if missing:
        raise LandingError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (a {contract.name} file needs "
            f"{', '.join(contract.required)})"
        )
    ignored = tuple(name for key, (name, _) in present.items() if key not in contract.columns)
    expressions = []
    for column in contract.columns:
        if column in present:
            name, type_name = present[column]
            expressions.append(f"{_column_expression(file_format, name, type_name)} as {column}")
        else:
            expressions.append(f"null::varchar as {column}")
    expressions.append(f"{_literal(relative_path)} as _source_file")
    expressions.append("_row_number as _source_row")
    delivered = landing_date(table_folder(landing_dir, contract), path)
    expressions.append(
        f"date '{delivered.isoformat()}' as _landing_date"
        if delivered
        else "null::date as _landing_date"
    )
    reader = _reader(path, file_format, row_numbers=True)
    sql = f"select {', '.join(expressions)} from {reader}"
    return _FileSelect(path, file_format, relative_path, sql, ignored)


def _first_unreadable(
    con: duckdb.DuckDBPyConnection, selects: Sequence[_FileSelect]
) -> LandingError | None:
    """Read each file to its end on its own, to name the one that broke a load.

    A file is checked only as far as its header and a sample before the load, so an
    error further down (a row with a column too many, bytes that are not UTF-8) first
    shows when all files are read together, where DuckDB does not say which one it was.
    """
    for select in selects:
        try:
            con.execute(f"select count(*) from ({select.sql})").fetchone()
        except duckdb.Error as exc:
            return _unreadable_file_error(select.path, select.file_format, exc)
    return None


def _empty_table_sql(target: str, contract: TableContract, *, if_not_exists: bool = False) -> str:
    columns = [f"{column} varchar" for column in contract.columns]
    columns += ["_source_file varchar", "_source_row bigint", "_landing_date date"]
    create = "create table if not exists" if if_not_exists else "create or replace table"
    return f"{create} {target} ({', '.join(columns)})"


def load_table(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    contract: TableContract,
    days: DayRange | None = None,
) -> LoadResult:
    """Replace raw.<table> with every row of the table's landing files, or one day range.

    With `days`, only the files in the range's YYYY-MM-DD folders are read, and only
    the raw rows delivered on those days are replaced; a day without a folder had no
    delivery and leaves no rows. Every file is checked before anything is written, so
    a file with a missing required column stops the load with the previous table still
    in place; the replacement is one transaction, so a run killed half-way leaves the
    table as it was.
    """
    files, skipped = data_files(landing_dir, contract)
    if days is not None:
        folder = table_folder(landing_dir, contract)
        wanted = set(days.landing_dates())
        files = [path for path in files if landing_date(folder, path) in wanted]
    selects: Sequence[_FileSelect] = [
        _file_select(con, landing_dir, path, contract) for path in files
    ]
    schema = raw_schema(con)
    target = f"{schema}.{contract.name}"
    union = " union all by name ".join(select.sql for select in selects)
    # Which raw rows this load replaces: all of them, or those of the range's days.
    replaced = "true"
    if days is None:
        create = _empty_table_sql(target, contract)
        if selects:
            create = f"create or replace table {target} as {union}"
        statements = [create]
    else:
        replaced = (
            f"_landing_date >= date '{days.start.isoformat()}' "
            f"and _landing_date < date '{days.end.isoformat()}'"
        )
        statements = [
            _empty_table_sql(target, contract, if_not_exists=True),
            f"delete from {target} where {replaced}",
        ]
        if selects:
            statements.append(f"insert into {target} by name {union}")

    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {schema}")
        for statement in statements:
            con.execute(statement)
        # A day range's load counts the rows it delivered, not the whole table's.
        (rows,) = con.execute(f"select count(*) from {target} where {replaced}").fetchone()
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        culprit = _first_unreadable(con, selects)
        if culprit is not None:
            raise culprit from None
        raise LandingError(
            f"{table_folder(landing_dir, contract)}: loading {contract.qualified_name} "
            f"failed: {_reader_reason(exc)}"
        ) from None

    return LoadResult(
        table=contract.name,
        rows=int(rows),
        files=tuple(select.relative_path for select in selects),
        ignored_columns={
            select.relative_path: select.ignored_columns
            for select in selects
            if select.ignored_columns
        },
        skipped_files=tuple(path.relative_to(landing_dir).as_posix() for path in skipped),
    )
