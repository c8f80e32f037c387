"""The read-only copy of the DuckDB warehouse that analysts open.

DuckDB allows one writer per file, and a writer cannot open a file that another process
reads, so analysts never open the file the pipeline builds. After every successful build
the file is copied to a temporary file beside the published one and renamed over it:
the rename is atomic, so a new session opens either the previous copy or the new one,
never half of one, and a session already open keeps reading the copy it opened (its file
lives on until it closes it) without ever holding up the next run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

PUBLISHED_FOLDER = "published"
# The mart that must be readable in a copy before it replaces the published one.
CHECK_RELATION = "marts.fct_campaign_performance"


def published_path(database: Path) -> Path:
    """``warehouse/campaign_report.duckdb`` is published as
    ``warehouse/published/campaign_report.duckdb``.

    The same file name keeps the same DuckDB catalog name in the copy.
    """
    return database.parent / PUBLISHED_FOLDER / database.name


def publish(database: Path) -> Path:
    """Copy the built warehouse over its published copy, atomically; returns the copy's path.

    The caller must hold the run lock, so that nothing writes the file while it is copied.
    """
    target = published_path(database)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A checkpoint moves everything from the write-ahead log into the file itself, so
    # the file alone is the whole database.
    with duckdb.connect(str(database)) as con:
        con.execute("checkpoint")
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(database, scratch)
        with duckdb.connect(str(scratch), read_only=True) as con:
            con.execute(f"select count(*) from {CHECK_RELATION}").fetchone()
        # Read-only for everyone: a session that forgets -readonly then fails to open it
        # rather than taking a write lock that would shut other analysts out.
        scratch.chmod(0o444)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return target
