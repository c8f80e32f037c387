"""One run at a time per warehouse, and a clear message when another one is writing.

DuckDB takes one writer per file, and a run opens the file many times (each raw table,
then dbt, then the lift mart), so two runs would fail each other at random points with
DuckDB's lock error. A run therefore holds an exclusive lock for its whole length: a
``flock`` on ``<database>.lock`` for a DuckDB file, an advisory lock on PostgreSQL. A
second run waits for it up to a timeout and then fails saying the warehouse is busy.
The kernel and the server drop these locks when their holder dies, so a crashed run
never leaves the warehouse locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration import postgres
from orchestration.publish import published_path
from orchestration.settings import BUSY_TIMEOUT_ENV, PostgresSettings
from orchestration.warehouse import WarehouseBusyError

POLL_SECONDS = 0.2
DUCKDB_LOCK_ERROR = re.compile(
    r"Could not set lock on file \"[^\"]*\": Conflicting lock is held in (?P<holder>.+?)"
    r"(?:\. See also|$)"
)
WAIT_HINT = f"run again once it has finished, or wait longer with --wait or {BUSY_TIMEOUT_ENV}"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def duckdb_busy_reason(database: Path, error: BaseException | str) -> str | None:
    """The busy message for DuckDB's own lock error, or None for any other error.

    DuckDB reports a file held by another process as an IO error naming that
    process; a person needs to hear that the warehouse is in use, and by what.
    """
    found = DUCKDB_LOCK_ERROR.search(" ".join(str(error).split()))
    if found is None:
        return None
    return (
        f"warehouse is busy: {database} is open in another process "
        f"({found.group('holder')}); analysts should open the published copy "
        f"{published_path(database)} read-only instead. Close that session, then {WAIT_HINT}"
    )


def _holder(lock_file: Path) -> str:
    try:
        written = lock_file.read_text(encoding="utf-8").strip()
    except OSError:
        written = ""
    return written or "another process"


def _take_flock(fd: int, lock_file: Path, database: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            raise WarehouseBusyError(
                f"warehouse is busy: {database} is being written by another run "
                f"({_holder(lock_file)}); waited {timeout:g}s. {WAIT_HINT[0].upper()}"
                f"{WAIT_HINT[1:]}"
            )
        time.sleep(POLL_SECONDS)


def _wait_for_file(database: Path, deadline: float, timeout: float) -> None:
    """Wait until no other process has the DuckDB file open, such as an analyst's session."""
    if not database.exists():
        return
    while True:
        try:
            duckdb.connect(str(database)).close()
            return
        except duckdb.IOException as exc:
            reason = duckdb_busy_reason(database, exc)
            if reason is None:
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(f"{reason} (waited {timeout:g}s)") from None
        time.sleep(POLL_SECONDS)


@contextmanager
def duckdb_run_lock(database: Path, timeout: float) -> Iterator[None]:
    """Hold the DuckDB file's run lock, waiting up to ``timeout`` seconds for it and the file."""
    deadline = time.monotonic() + timeout
    lock_file = lock_path(database)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _take_flock(fd, lock_file, database, timeout)
        # Who holds it, for the message of a run that has to wait.
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.write(fd, f"process {os.getpid()} ({Path(sys.argv[0]).name}), since {started}".encode())
        _wait_for_file(database, deadline, timeout)
        yield
    finally:
        # Closing the descriptor releases the flock; the file stays for the next run.
        os.close(fd)


@contextmanager
def run_lock(
    target: str, database: Path, postgres_settings: PostgresSettings, timeout: float
) -> Iterator[None]:
    """The run lock of the target's warehouse."""
    if target == "postgres":
        with postgres.run_lock(postgres_settings, timeout):
            yield
    else:
        with duckdb_run_lock(database, timeout):
            yield
