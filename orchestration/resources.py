"""The resources the assets share: the warehouse file, the landing folder, the config file."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.paths import dbt_executable
from orchestration.report_config import ReportConfig, load_config
from orchestration.settings import DATABASE_ENV, RunSettings


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file that the raw assets write and dbt builds the marts in."""

    database: str

    @property
    def path(self) -> Path:
        return Path(self.database)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed on exit so that dbt can open the file next."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            # Parquet TIMESTAMPTZ values become text in raw; rendering them in UTC
            # keeps that text the same on every machine.
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point the dbt profile at this file for the duration of a dbt invocation.

        The profile reads the path from an environment variable, and dagster-dbt
        hands the current environment to the dbt process it starts.
        """
        previous = os.environ.get(DATABASE_ENV)
        os.environ[DATABASE_ENV] = str(self.path.absolute())
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(DATABASE_ENV, None)
            else:
                os.environ[DATABASE_ENV] = previous


class LandingResource(dg.ConfigurableResource):
    """The landing folder with one sub-folder of files per raw table."""

    folder: str

    @property
    def path(self) -> Path:
        return Path(self.folder)


class ReportConfigResource(dg.ConfigurableResource):
    """The YAML file that says which goals to measure and under which windows."""

    file: str

    def load(self) -> ReportConfig:
        return load_config(self.file)


def build_resources(settings: RunSettings, dbt_project: DbtProject) -> dict[str, Any]:
    """The resources of one code location or one in-process run."""
    return {
        "warehouse": WarehouseResource(database=str(settings.database)),
        "landing": LandingResource(folder=str(settings.landing)),
        "report_config": ReportConfigResource(file=str(settings.config)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
