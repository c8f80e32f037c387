"""Shared fixtures: the dbt manifest, the salt, the landing fixture, a bad-input run, PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from xdist.scheduler import LoadFileScheduling

from orchestration import pipeline, postgres
from orchestration.cli import app
from orchestration.paths import (
    DBT_PROJECT_DIR,
    MANIFEST_PATH,
    PROFILES_DIR,
    dbt_executable,
    ensure_profiles,
)
from orchestration.personal_data import DEMO_PII_SALT, PII_SALT_ENV
from orchestration.pipeline import RunSummary
from orchestration.settings import DATABASE_ENV, PostgresSettings, RunSettings
from tests.bad_input import write_bad_input

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_LANDING = FIXTURES / "landing"
FIXTURE_CONFIG = FIXTURES / "reports.yml"

# What `make setup` feeds to `dbt parse`; a change to any of them needs a new manifest.
DBT_INPUTS = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def _newest_dbt_input() -> float:
    newest = 0.0
    for name in DBT_INPUTS:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        newest = max([newest, *(file.stat().st_mtime for file in files)])
    return newest


# `make test` runs two xdist workers with --dist loadfile: a module's tests stay in one
# worker, so its module fixtures (most build the warehouse once) are built once. Two
# changes to how xdist hands the modules out:
#
# - Modules that read the same session fixture go to one worker together, or each
#   worker builds it: tests/bad_input.py's run is read by two modules.
# - The slowest modules go first. xdist queues modules by their number of tests, so a
#   module of one slow test (the invariants) would otherwise start last and leave the
#   other worker idle at the end. Seconds are from one serial run of the suite on the
#   project's 2-core machine (2026-12-03); test_postgres_quarantine's is that run's
#   figure less the 52 minutes it sat paused. An unlisted module took under 5 s. Only the
#   order matters, so they need updating only when a module's cost changes a lot.
SHARED_FIXTURE_MODULES = {"tests/test_quarantine.py": "tests/test_personal_data.py"}
MODULE_SECONDS: dict[str, float] = {
    "tests/test_incremental.py": 268,
    "tests/test_invariants.py": 225,
    "tests/test_concurrent_runs.py": 100,
    "tests/test_postgres.py": 95,
    "tests/test_personal_data.py": 86,
    "tests/test_pipeline.py": 84,
    "tests/test_cli.py": 73,
    "tests/test_hillstrom_example.py": 67,
    "tests/test_bench.py": 61,
    "tests/test_attribution_rules.py": 51,
    "tests/test_postgres_quarantine.py": 40,
    "tests/test_dbt_unit.py": 33,
    "tests/test_mta_crosscheck.py": 24,
}


class SlowModulesFirst(LoadFileScheduling):
    """--dist loadfile, with the two changes above."""

    def _split_scope(self, nodeid: str) -> str:
        module = super()._split_scope(nodeid)
        return SHARED_FIXTURE_MODULES.get(module, module)

    def _assign_work_unit(self, node: Any) -> None:
        # Whatever xdist queued first, the slowest module left is handed out next.
        if self.workqueue:
            slowest = max(self.workqueue, key=lambda module: MODULE_SECONDS.get(module, 0))
            self.workqueue.move_to_end(slowest, last=False)
        super()._assign_work_unit(node)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None
    return SlowModulesFirst(config, log)


@pytest.fixture(scope="session", autouse=True)
def pii_salt() -> Iterator[str]:
    """Every test hashes with the demo salt, as the demo does; a test may unset it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PII_SALT_ENV, DEMO_PII_SALT)
        yield DEMO_PII_SALT


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest `make setup` builds, rebuilt here when missing or older than the project."""
    ensure_profiles()
    MANIFEST_PATH.parent.mkdir(exist_ok=True)
    # Both xdist workers may find the manifest stale; two parses writing it at once leave
    # it unreadable, so the second waits for the first and then finds it fresh.
    with (MANIFEST_PATH.parent / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if MANIFEST_PATH.is_file() and MANIFEST_PATH.stat().st_mtime >= _newest_dbt_input():
            return MANIFEST_PATH
        # dbt parse opens the warehouse, so it gets a scratch file of its own.
        scratch = tmp_path_factory.mktemp("dbt_parse") / "scratch.duckdb"
        env = {**os.environ, DATABASE_ENV: str(scratch), "DBT_PROFILES_DIR": str(PROFILES_DIR)}
        command = [dbt_executable(), "parse", "--quiet"]
        subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, check=True)
    return MANIFEST_PATH


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A private copy of the fixture landing folder that a test may change."""
    return Path(shutil.copytree(FIXTURE_LANDING, tmp_path / "landing"))


@pytest.fixture
def settings(tmp_path: Path, landing: Path, dbt_manifest: Path) -> RunSettings:
    """Run settings for the fixture, with a warehouse file of the test's own.

    A run needs the dbt manifest, so asking for these settings builds it if needed.
    """
    return RunSettings(
        database=tmp_path / "warehouse" / "campaign_report.duckdb",
        landing=landing,
        config=FIXTURE_CONFIG,
    )


# .ci/run sets this: there a missing PostgreSQL server is a broken machine, not a reason
# to skip the tests that need one.
REQUIRE_POSTGRES_ENV = "CAMPAIGN_REPORT_REQUIRE_POSTGRES"


@dataclass(frozen=True)
class PostgresServer:
    """A reachable PostgreSQL server and a superuser of it, from the PG* variables."""

    settings: PostgresSettings

    def admin(self, dbname: str = "postgres") -> Any:
        con = postgres.connect(replace(self.settings, dbname=dbname))
        con.autocommit = True
        return con


@dataclass(frozen=True)
class AnalystRole:
    name: str
    password: str


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason}; set PGHOST, PGPORT, PGUSER and PGPASSWORD to a superuser to run it")


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The server the PG* variables name; skips, or fails in CI, when there is none."""
    server = PostgresServer(PostgresSettings.from_env())
    try:
        con = server.admin()
    except postgres.PostgresError as exc:
        _unavailable(f"no PostgreSQL server is reachable: {exc}")
    try:
        with con.cursor() as cursor:
            cursor.execute("select rolsuper from pg_roles where rolname = current_user")
            (is_superuser,) = cursor.fetchone()
    finally:
        con.close()
    if not is_superuser:
        _unavailable(f"{server.settings.user} is not a superuser, so it cannot create test roles")
    return server


@pytest.fixture(scope="session")
def analyst_role(postgres_server: PostgresServer) -> Iterator[AnalystRole]:
    """A login role of this test session's own, to be granted the marts like `analyst`."""
    role = AnalystRole(f"cr_analyst_{secrets.token_hex(4)}", secrets.token_hex(16))
    con = postgres_server.admin()
    try:
        with con.cursor() as cursor:
            cursor.execute(f"create role {role.name} login password %s", [role.password])
        yield role
    finally:
        with con.cursor() as cursor:
            # The databases it was granted on are dropped first, by their own fixtures.
            cursor.execute(f"drop role if exists {role.name}")
        con.close()


@pytest.fixture(scope="module")
def postgres_database(postgres_server: PostgresServer) -> Iterator[PostgresSettings]:
    """A new, empty database for one test module, dropped afterwards.

    C collation sorts text by code point, as DuckDB does, so ties broken by an id fall
    the same way on both warehouses.
    """
    name = f"campaign_report_test_{secrets.token_hex(4)}"
    con = postgres_server.admin()
    try:
        with con.cursor() as cursor:
            cursor.execute(
                f"create database {name} template template0 encoding 'UTF8' "
                "lc_collate 'C' lc_ctype 'C'"
            )
        yield replace(postgres_server.settings, dbname=name)
    finally:
        with con.cursor() as cursor:
            cursor.execute(f"drop database if exists {name} with (force)")
        con.close()


@dataclass(frozen=True)
class BadInputRun:
    database: Path
    summary: RunSummary
    # What `campaign-report run` printed, with rich's line wrapping undone.
    output: str


@pytest.fixture(scope="session")
def bad_input_run(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> BadInputRun:
    """One `campaign-report run` of the whole job on tests/bad_input.py's landing folder.

    The tests of the quarantine and of personal data share it, since a build takes half a
    minute; the summary the CLI printed from is kept alongside what it printed.
    """
    root = tmp_path_factory.mktemp("bad_input")
    landing, config = write_bad_input(root)
    database = root / "campaign_report.duckdb"
    summaries: list[RunSummary] = []
    run_pipeline = pipeline.run_pipeline

    def keep_summary(settings: RunSettings, **options: str) -> RunSummary:
        summaries.append(run_pipeline(settings, **options))
        return summaries[-1]

    args = ["run", "--landing", str(landing), "--database", str(database), "--config", str(config)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "run_pipeline", keep_summary)
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return BadInputRun(database, summaries[0], " ".join(result.stdout.split()))
