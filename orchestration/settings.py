"""Run settings: which warehouse, landing folder and report config a run uses.

They come from environment variables so that `dagster dev` and the schedule can be
pointed elsewhere without code changes; the CLI overrides them with its options.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast
from zoneinfo import available_timezones

from orchestration.paths import DEFAULT_CONFIG, DEFAULT_DATABASE, DEFAULT_LANDING

DATABASE_ENV = "CAMPAIGN_REPORT_DATABASE"
LANDING_ENV = "CAMPAIGN_REPORT_LANDING"
CONFIG_ENV = "CAMPAIGN_REPORT_CONFIG"
SCHEDULE_TIMEZONE_ENV = "CAMPAIGN_REPORT_SCHEDULE_TIMEZONE"
DEFAULT_SCHEDULE_TIMEZONE = "Asia/Seoul"
# The profile in profiles.yml reads the same variable to pick its dbt target.
TARGET_ENV = "CAMPAIGN_REPORT_TARGET"
ANALYST_ROLE_ENV = "CAMPAIGN_REPORT_ANALYST_ROLE"
BUSY_TIMEOUT_ENV = "CAMPAIGN_REPORT_BUSY_TIMEOUT"

Target = Literal["duckdb", "postgres"]
TARGETS: tuple[Target, ...] = ("duckdb", "postgres")
DEFAULT_ANALYST_ROLE = "analyst"
# Long enough for a nightly build to wait out a run someone started by hand.
DEFAULT_BUSY_TIMEOUT = 600.0
# dbt's grants name the role unquoted, so only names PostgreSQL does not fold
# to lower case are accepted; the same name must then work quoted in Python.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class SettingsError(ValueError):
    """An environment variable or option with a value that cannot be used."""


def _absolute(path: str | Path) -> Path:
    # dbt runs inside dbt_project/, so a relative path must be fixed to the
    # caller's working directory before it is handed on.
    return Path(path).expanduser().absolute()


def parse_target(value: str, source: str = TARGET_ENV) -> Target:
    if value not in TARGETS:
        raise SettingsError(f"{source}: expected duckdb or postgres, got {value!r}")
    return cast(Target, value)


def parse_analyst_role(value: str, source: str = ANALYST_ROLE_ENV) -> str:
    if not ROLE_NAME.fullmatch(value):
        raise SettingsError(
            f"{source}: expected a PostgreSQL role name of lower-case letters, digits and "
            f"underscores, got {value!r}"
        )
    return value


def parse_busy_timeout(value: str, source: str = BUSY_TIMEOUT_ENV) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise SettingsError(f"{source}: expected a number of seconds, 0 or more, got {value!r}")
    return seconds


@dataclass(frozen=True)
class PostgresSettings:
    """Where the PostgreSQL warehouse is, from the standard libpq variables.

    The password is not kept here: libpq reads PGPASSWORD (or ~/.pgpass) itself, so it
    never shows in the Dagster UI's resource config or in a log line.
    """

    host: str = "localhost"
    port: int = 5432
    # libpq's own default when PGUSER is not set.
    user: str = field(default_factory=getpass.getuser)
    dbname: str = "campaign_report"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PostgresSettings:
        env = os.environ if environ is None else environ
        port = env.get("PGPORT") or "5432"
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"PGPORT: expected a TCP port number, got {port!r}")
        return cls(
            host=env.get("PGHOST") or "localhost",
            port=int(port),
            user=env.get("PGUSER") or getpass.getuser(),
            dbname=env.get("PGDATABASE") or "campaign_report",
        )

    def label(self) -> str:
        return f"PostgreSQL database {self.dbname} on {self.host}:{self.port} as {self.user}"


@dataclass(frozen=True)
class RunSettings:
    """The locations a pipeline run reads from and writes to, all absolute.

    ``database`` is the DuckDB file of the duckdb target; the postgres target writes to
    the server in ``postgres`` instead and leaves the file alone.
    """

    database: Path
    landing: Path
    config: Path
    target: Target = "duckdb"
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    analyst_role: str = DEFAULT_ANALYST_ROLE
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "database", _absolute(self.database))
        object.__setattr__(self, "landing", _absolute(self.landing))
        object.__setattr__(self, "config", _absolute(self.config))
        parse_target(self.target, "target")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunSettings:
        """Read the settings from the environment, falling back to the repository defaults."""
        env = os.environ if environ is None else environ
        return cls(
            database=Path(env.get(DATABASE_ENV) or DEFAULT_DATABASE),
            landing=Path(env.get(LANDING_ENV) or DEFAULT_LANDING),
            config=Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG),
            target=parse_target(env.get(TARGET_ENV) or "duckdb"),
            postgres=PostgresSettings.from_env(env),
            analyst_role=parse_analyst_role(env.get(ANALYST_ROLE_ENV) or DEFAULT_ANALYST_ROLE),
            busy_timeout=parse_busy_timeout(env.get(BUSY_TIMEOUT_ENV) or str(DEFAULT_BUSY_TIMEOUT)),
        )

    def override(
        self,
        *,
        database: Path | None = None,
        landing: Path | None = None,
        config: Path | None = None,
        target: Target | None = None,
        busy_timeout: float | None = None,
    ) -> RunSettings:
        """A copy with the given settings replaced; None keeps the current one."""
        return replace(
            self,
            database=database or self.database,
            landing=landing or self.landing,
            config=config or self.config,
            target=target or self.target,
            busy_timeout=self.busy_timeout if busy_timeout is None else busy_timeout,
        )

    def warehouse_label(self) -> str:
        """The warehouse a run writes to, in words for a person."""
        if self.target == "postgres":
            return self.postgres.label()
        return str(self.database)


def require_daily_timezone(
    config_file: Path | str, config_timezone: str, days_timezone: str
) -> None:
    """Refuse a daily run whose partitions are days of another zone than the reports'.

    A day's landing folder is loaded only by that day's run, which starts once
    the day has ended in the partitions' zone; if the folders are named by days
    of a zone further west, the run can come before the folder is complete, and
    what arrives later is loaded only by a backfill or a full build.
    """
    if config_timezone != days_timezone:
        raise SettingsError(
            f"{config_file}: timezone {config_timezone!r} differs from "
            f"{SCHEDULE_TIMEZONE_ENV} {days_timezone!r}, the zone of the daily partitions; "
            f"a daily run needs the two to agree: set {SCHEDULE_TIMEZONE_ENV}={config_timezone} "
            "(a full build runs either way)"
        )


def schedule_timezone(environ: Mapping[str, str] | None = None) -> str:
    """The reporting time zone: where a daily partition starts and ends, and the schedule runs.

    The report config's own timezone is only known once its file is read at run
    time, so the partitions have a fixed default that an environment variable overrides.
    """
    env = os.environ if environ is None else environ
    value = env.get(SCHEDULE_TIMEZONE_ENV) or DEFAULT_SCHEDULE_TIMEZONE
    if value not in available_timezones():
        raise SettingsError(
            f"{SCHEDULE_TIMEZONE_ENV}: expected an IANA time zone name such as "
            f"Asia/Seoul or UTC, got {value!r}"
        )
    return value
