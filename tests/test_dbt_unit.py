"""Runs the dbt unit tests, the hand-worked cases of every attribution rule.

dbt unit tests need the relations they read to exist (it takes their column
types from the warehouse), so the test first creates empty raw tables and
builds every model empty with ``--empty``, on a DuckDB file of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from orchestration.report_config import CONFIG_TABLE_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")

# The landing tables are all text; the config tables carry their own types.
TYPED_COLUMNS = {"_source_row": "bigint"} | {
    name: type_ for columns in CONFIG_TABLE_COLUMNS.values() for name, type_ in columns.items()
}


def _create_empty_sources(database: Path) -> None:
    sources = yaml.safe_load((DBT_PROJECT / "models/staging/_sources.yml").read_text())
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema raw")
        for table in sources["sources"][0]["tables"]:
            columns = ", ".join(
                f"{column['name']} {TYPED_COLUMNS.get(column['name'], 'varchar')}"
                for column in table["columns"]
            )
            connection.execute(f"create table raw.{table['name']} ({columns})")


def _dbt(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAMPAIGN_REPORT_DATABASE": str(database), "DBT_PROFILES_DIR": str(REPO)}
    # A target folder of its own: the project's holds the manifest the other tests'
    # Dagster definitions read, perhaps at this very moment in another worker.
    target = ["--target-path", str(database.parent / "target")]
    return subprocess.run(
        [str(DBT), *args, *target],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    database = tmp_path / "unit.duckdb"
    _create_empty_sources(database)
    built = _dbt("build", "--empty", "--exclude-resource-type", "unit_test", database=database)
    assert built.returncode == 0, built.stdout[-3000:]

    result = _dbt("test", "--select", "test_type:unit", database=database)
    assert result.returncode == 0, result.stdout[-5000:]
    # Every unit test defined in the project ran; none was silently skipped.
    defined = sum(
        len(yaml.safe_load(path.read_text()).get("unit_tests", []))
        for path in DBT_PROJECT.glob("models/**/*.yml")
    )
    assert defined >= 8
    # The project's on-run-start and on-run-end hooks (no-ops on DuckDB) pass too.
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    hooks = len(project["on-run-start"]) + len(project["on-run-end"])
    assert f"PASS={defined + hooks} " in result.stdout
