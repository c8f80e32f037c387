"""Shared fixtures: the dbt manifest the definitions read, and the hand-built landing fixture."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestration.paths import (
    DBT_PROJECT_DIR,
    MANIFEST_PATH,
    PROFILES_DIR,
    dbt_executable,
    ensure_profiles,
)
from orchestration.settings import DATABASE_ENV, RunSettings

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
