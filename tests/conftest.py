"""Shared fixtures: the dbt manifest, the salt, the hand-built landing fixture, a bad-input run."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration import pipeline
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
from orchestration.settings import DATABASE_ENV, RunSettings
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
    if MANIFEST_PATH.is_file() and MANIFEST_PATH.stat().st_mtime >= _newest_dbt_input():
        return MANIFEST_PATH
    # dbt parse opens the warehouse, so it gets a scratch file of its own.
    scratch = tmp_path_factory.mktemp("dbt_parse") / "scratch.duckdb"
    env = {**os.environ, DATABASE_ENV: str(scratch), "DBT_PROFILES_DIR": str(PROFILES_DIR)}
    subprocess.run([dbt_executable(), "parse", "--quiet"], cwd=DBT_PROJECT_DIR, env=env, check=True)
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
