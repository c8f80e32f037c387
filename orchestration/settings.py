"""Run settings: which warehouse file, landing folder and report config a run uses.

They come from environment variables so that `dagster dev` and the schedule can be
pointed elsewhere without code changes; the CLI overrides them with its options.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import available_timezones

from orchestration.paths import DEFAULT_CONFIG, DEFAULT_DATABASE, DEFAULT_LANDING

DATABASE_ENV = "CAMPAIGN_REPORT_DATABASE"
LANDING_ENV = "CAMPAIGN_REPORT_LANDING"
CONFIG_ENV = "CAMPAIGN_REPORT_CONFIG"
SCHEDULE_TIMEZONE_ENV = "CAMPAIGN_REPORT_SCHEDULE_TIMEZONE"
DEFAULT_SCHEDULE_TIMEZONE = "Asia/Seoul"


def _absolute(path: str | Path) -> Path:
    # dbt runs inside dbt_project/, so a relative path must be fixed to the
    # caller's working directory before it is handed on.
    return Path(path).expanduser().absolute()


@dataclass(frozen=True)
class RunSettings:
    """The three locations a pipeline run reads from and writes to, all absolute."""

    database: Path
    landing: Path
    config: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "database", _absolute(self.database))
        object.__setattr__(self, "landing", _absolute(self.landing))
        object.__setattr__(self, "config", _absolute(self.config))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunSettings:
        """Read the settings from the environment, falling back to the repository defaults."""
        env = os.environ if environ is None else environ
        return cls(
            database=Path(env.get(DATABASE_ENV) or DEFAULT_DATABASE),
            landing=Path(env.get(LANDING_ENV) or DEFAULT_LANDING),
            config=Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG),
        )

    def override(
        self,
        *,
        database: Path | None = None,
        landing: Path | None = None,
        config: Path | None = None,
    ) -> RunSettings:
        """A copy with the given locations replaced; None keeps the current one."""
        return replace(
            self,
            database=database or self.database,
            landing=landing or self.landing,
            config=config or self.config,
        )


def schedule_timezone(environ: Mapping[str, str] | None = None) -> str:
    """The IANA zone the daily schedule runs in.

    The report config's own timezone is only known once its file is read at run
    time, so the schedule has a fixed default that an environment variable overrides.
    """
    env = os.environ if environ is None else environ
    value = env.get(SCHEDULE_TIMEZONE_ENV) or DEFAULT_SCHEDULE_TIMEZONE
    if value not in available_timezones():
        raise ValueError(
            f"{SCHEDULE_TIMEZONE_ENV}: expected an IANA time zone name such as "
            f"Asia/Seoul or UTC, got {value!r}"
        )
    return value
