"""Analysts and the running pipeline on one DuckDB warehouse, with real processes.

An analyst keeps the duckdb CLI open on the published copy while the pipeline runs
again and a third run is started during the second: the second run succeeds, the third
says the warehouse is busy, and the analyst's session goes on answering from the copy
it opened. An analyst who opens the file the pipeline writes gets a run that says the
warehouse is busy, not DuckDB's lock error.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.pipeline import PipelineError, run_pipeline
from orchestration.publish import published_path
from orchestration.run_lock import duckdb_run_lock, lock_path
from orchestration.settings import RunSettings
from orchestration.warehouse import WarehouseBusyError

FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent
CAMPAIGN_COUNT = "select count(*) from marts.dim_campaigns;"


class SqlSession:
    """The duckdb CLI with a pipe for its input, as an analyst's terminal would drive it."""

    def __init__(self, database: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "duckdb"), *options, "-csv", "-noheader", str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, sql: str, timeout: float = 10) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(sql + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, f"the duckdb CLI gave no answer to {sql!r} in {timeout}s"
        return self.process.stdout.readline().strip()

    def close(self) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=10)
        return code, self.process.stderr.read()


def _cli_run(settings: RunSettings, *options: str) -> subprocess.Popen[str]:
    locations = ["--landing", str(settings.landing), "--database", str(settings.database)]
    return subprocess.Popen(
        [
            str(BIN / "campaign-report"),
            "run",
            *locations,
            "--config",
            str(settings.config),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lock_holder(database: Path, pid: int, timeout: float = 120) -> None:
    """Wait until the run with this pid has taken the run lock (it writes its pid there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_path(database).is_file() and (
            lock_path(database).read_text(encoding="utf-8").startswith(f"process {pid} ")
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not take {lock_path(database)} in {timeout}s")


@dataclass(frozen=True)
class Published:
    settings: RunSettings
    copy: Path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Published:
    root = tmp_path_factory.mktemp("concurrent")
    settings = RunSettings(
        database=root / "warehouse" / "campaign_report.duckdb",
        landing=shutil.copytree(FIXTURES / "landing", root / "landing"),
        config=FIXTURES / "reports.yml",
    )
    run_pipeline(settings)
    return Published(settings, published_path(settings.database))


def test_the_copy_is_published_beside_the_warehouse_read_only(published: Published) -> None:
    assert published.copy == published.settings.database.parent / "published" / (
        "campaign_report.duckdb"
    )
    assert published.copy.stat().st_mode & 0o777 == 0o444
    # Nothing is left over from the swap.
    assert sorted(path.name for path in published.copy.parent.iterdir()) == [
        "campaign_report.duckdb"
    ]


def test_an_open_analyst_session_survives_two_runs(published: Published) -> None:
    settings = published.settings
    analyst = SqlSession(published.copy, "-readonly")
    try:
        assert analyst.ask(CAMPAIGN_COUNT) == "4"
        # A fifth campaign lands, so the next build differs from the copy being read.
        with (settings.landing / "campaigns" / "campaigns.csv").open("a", encoding="utf-8") as f:
            f.write("c5,Late push,push,,2024-03-09 10:00:00\n")

        second = _cli_run(settings)
        _wait_for_lock_holder(settings.database, second.pid)
        third = _cli_run(settings, "--wait", "1")
        third_out, third_err = third.communicate(timeout=120)
        # The analyst can go on working while the second run writes.
        assert analyst.ask(CAMPAIGN_COUNT) == "4"
        second_out, second_err = second.communicate(timeout=300)

        assert second.returncode == 0, second_out + second_err
        assert f"Published for analysts: {published.copy}" in second_out
        assert third.returncode == 1, third_out + third_err
        assert re.fullmatch(
            re.escape(
                f"campaign-report: error: warehouse is busy: {settings.database} is being "
                f"written by another run (process {second.pid} (campaign-report), since "
            )
            + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
            + re.escape(
                "); waited 1s. Run again once it has finished, or wait longer with --wait "
                "or CAMPAIGN_REPORT_BUSY_TIMEOUT"
            ),
            third_err.strip(),
        ), third_err

        # The open session still reads the copy it opened; a new one reads the new build.
        assert analyst.ask(CAMPAIGN_COUNT) == "4"
        reader = [str(BIN / "duckdb"), "-readonly", "-csv", "-noheader", str(published.copy)]
        fresh = subprocess.run(
            [*reader, "-c", CAMPAIGN_COUNT],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (fresh.returncode, fresh.stdout.strip()) == (0, "5"), fresh.stderr
    finally:
        code, errors = analyst.close()
    assert (code, errors) == (0, "")


def test_a_session_on_the_working_file_makes_the_run_say_busy(published: Published) -> None:
    settings = published.settings.override(busy_timeout=0)
    # Opened for writing, as the CLI does without -readonly.
    analyst = SqlSession(settings.database)
    try:
        assert analyst.ask("select 42;") == "42"
        with pytest.raises(PipelineError) as raised:
            run_pipeline(settings)
    finally:
        analyst.close()
    assert re.fullmatch(
        re.escape(f"warehouse is busy: {settings.database} is open in another process (")
        # The CLI in .venv is a wrapper; the PID is that of the duckdb binary it starts.
        + r"\S*duckdb \(PID \d+\)"
        + re.escape(
            f"); analysts should open the published copy {published.copy} read-only instead. "
            "Close that session, then run again once it has finished, or wait longer with "
            "--wait or CAMPAIGN_REPORT_BUSY_TIMEOUT (waited 0s)"
        ),
        str(raised.value),
    ), str(raised.value)


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """Another process holding a warehouse's run lock for 1.5 seconds."""
    database = tmp_path / "campaign_report.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(1.5)\n",
            str(lock_path(database)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    yield database, holder
    holder.wait(timeout=10)


def test_a_run_waits_for_the_lock_within_its_timeout(
    held_lock: tuple[Path, subprocess.Popen[str]],
) -> None:
    database, holder = held_lock
    started = time.monotonic()
    with duckdb_run_lock(database, timeout=30):
        # Taken only once the holder let go, 1.5 seconds after it took it.
        waited = time.monotonic() - started
        # Now this process holds it: another taker is refused.
        fd = os.open(lock_path(database), os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert 1.0 < waited < 10
    holder.wait(timeout=10)


def test_a_run_gives_up_after_its_timeout(held_lock: tuple[Path, subprocess.Popen[str]]) -> None:
    database, _ = held_lock
    with pytest.raises(WarehouseBusyError) as raised, duckdb_run_lock(database, timeout=0.2):
        pass
    # The holder wrote nothing into the lock file, so it cannot be named.
    assert str(raised.value) == (
        f"warehouse is busy: {database} is being written by another run (another process); "
        "waited 0.2s. Run again once it has finished, or wait longer with --wait or "
        "CAMPAIGN_REPORT_BUSY_TIMEOUT"
    )
