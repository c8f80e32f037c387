"""dbt's DuckDB holds at most CAMPAIGN_REPORT_DUCKDB_MEMORY_LIMIT, 5GB unless set.

The limit is what keeps a 100M-event build inside the 8 GB the benchmark allows
(docs/benchmarks.md, "Memory"), so the test reads the setting back from the DuckDB
session dbt opens with the project's profile, not from the YAML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")
VARIABLE = "CAMPAIGN_REPORT_DUCKDB_MEMORY_LIMIT"


def _limit_in_dbt_session(tmp_path: Path, limit: str | None) -> str:
    env = {
        **os.environ,
        "CAMPAIGN_REPORT_DATABASE": str(tmp_path / "profile.duckdb"),
        "CAMPAIGN_REPORT_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(REPO),
    }
    env.pop(VARIABLE, None)
    if limit is not None:
        env[VARIABLE] = limit
    result = subprocess.run(
        [
            str(DBT),
            "show",
            "--inline",
            "select current_setting('memory_limit') as memory_limit",
            "--output",
            "json",
            "--quiet",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=REPO / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout[result.stdout.index("{") :])
    return str(shown["show"][0]["memory_limit"])


def _as_duckdb_shows(limit: str) -> str:
    """How DuckDB itself prints a limit, so the comparison does not guess its units."""
    with duckdb.connect() as connection:
        connection.execute(f"set memory_limit = '{limit}'")
        row = connection.execute("select current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize(("limit", "expected"), [(None, "5GB"), ("3GB", "3GB")])
def test_dbt_duckdb_takes_the_memory_limit(
    tmp_path: Path, limit: str | None, expected: str
) -> None:
    assert _limit_in_dbt_session(tmp_path, limit) == _as_duckdb_shows(expected)
