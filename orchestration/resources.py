"""The resources the assets share: the warehouse, the landing folder, the config file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from pydantic import PrivateAttr

from orchestration import postgres
from orchestration.paths import dbt_executable
from orchestration.report_config import ReportConfig, load_config
from orchestration.run_lock import duckdb_busy_reason, run_lock
from orchestration.settings import (
    ANALYST_ROLE_ENV,
    DATABASE_ENV,
    DEFAULT_ANALYST_ROLE,
    DEFAULT_BUSY_TIMEOUT,
    TARGET_ENV,
    PostgresSettings,
    RunSettings,
)
from orchestration.warehouse import Connection, WarehouseBusyError


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse that the raw assets write and dbt builds the marts in.

    ``target`` is duckdb (the file ``database``) or postgres (the server in the ``pg_*``
    fields; the password comes from PGPASSWORD or ~/.pgpass, never from this config).
    For as long as a run uses the resource it holds the warehouse's run lock, so that a
    second run, from the CLI or the UI, waits for it (see orchestration/run_lock.py).
    """

    database: str
    target: str = "duckdb"
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = ""
    pg_dbname: str = "campaign_report"
    analyst_role: str = DEFAULT_ANALYST_ROLE
    busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT

    _lock: ExitStack | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path:
        return Path(self.database)

    @property
    def is_postgres(self) -> bool:
        return self.target == "postgres"

    @property
    def postgres(self) -> PostgresSettings:
        return PostgresSettings(
            host=self.pg_host,
            port=self.pg_port,
            user=self.pg_user or PostgresSettings().user,
            dbname=self.pg_dbname,
        )

    @property
    def mart_grantee(self) -> str | None:
        """The role the Python-written marts are granted to; None where there are no grants."""
        return self.analyst_role if self.is_postgres else None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._lock = ExitStack()
        self._lock.enter_context(
            run_lock(self.target, self.path, self.postgres, self.busy_timeout_seconds)
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-write connection, closed on exit so that dbt can open a DuckDB file next."""
        if self.is_postgres:
            con = postgres.connect(self.postgres)
            try:
                yield con
            finally:
                con.close()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            reason = duckdb_busy_reason(self.path, exc)
            if reason is None:
                raise
            raise WarehouseBusyError(reason) from None
        try:
            # Parquet TIMESTAMPTZ values become text in raw; rendering them in UTC
            # keeps that text the same on every machine.
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def dbt_variables(self) -> dict[str, str]:
        """The environment the dbt profile reads this warehouse from."""
        variables = {
            TARGET_ENV: self.target,
            DATABASE_ENV: str(self.path.absolute()),
            ANALYST_ROLE_ENV: self.analyst_role,
        }
        if self.is_postgres:
            settings = self.postgres
            variables |= {
                "PGHOST": settings.host,
                "PGPORT": str(settings.port),
                "PGUSER": settings.user,
                "PGDATABASE": settings.dbname,
                # libpq sets the session's zone from PGTZ: the models assume UTC.
                "PGTZ": "UTC",
            }
        return variables

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point the dbt profile at this warehouse for the duration of a dbt invocation.

        The profile reads the target and its connection from environment variables,
        and dagster-dbt hands the current environment to the dbt process it starts.
        """
        variables = self.dbt_variables()
        previous = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


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


def warehouse_resource(settings: RunSettings) -> WarehouseResource:
    return WarehouseResource(
        database=str(settings.database),
        target=settings.target,
        pg_host=settings.postgres.host,
        pg_port=settings.postgres.port,
        pg_user=settings.postgres.user,
        pg_dbname=settings.postgres.dbname,
        analyst_role=settings.analyst_role,
        busy_timeout_seconds=settings.busy_timeout,
    )


def build_resources(settings: RunSettings, dbt_project: DbtProject) -> dict[str, Any]:
    """The resources of one code location or one in-process run."""
    return {
        "warehouse": warehouse_resource(settings),
        "landing": LandingResource(folder=str(settings.landing)),
        "report_config": ReportConfigResource(file=str(settings.config)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
