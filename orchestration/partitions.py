"""Daily partitions: which landing folders a run loads and which days the dbt models redo.

A partition is a day in the reporting time zone. The event tables' landing files sit in
one folder per day of delivery (``landing/message_events/2026-11-02/...``), so a day's
run loads that day's folders and nothing else. What the day's rows can change reaches
further back, since they may be late, and further on, since a message credits
conversions up to a window after it; the dbt models work that span out from the vars
given here (macros/partition_scope.sql).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

# The raw tables loaded a day's folder at a time; the others are small and reloaded whole.
PARTITIONED_TABLES = ("message_events", "product_events")

FIRST_DAY_ENV = "CAMPAIGN_REPORT_FIRST_DAY"
# The first day of the sample month, so the demo's partitions start where its data does.
DEFAULT_FIRST_DAY = "2026-11-01"
LATE_ALLOWANCE_ENV = "CAMPAIGN_REPORT_LATE_DATA_ALLOWANCE_HOURS"
DEFAULT_LATE_ALLOWANCE_HOURS = 48


class PartitionSettingsError(ValueError):
    """A partition setting in the environment is not usable."""


@dataclass(frozen=True)
class DayRange:
    """The days [start, end) of a partitioned run, in the reporting time zone."""

    start: date
    end: date
    timezone: str

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty day range: {self.start} to {self.end} (end is exclusive)")

    @classmethod
    def day(cls, day: date, timezone: str) -> DayRange:
        return cls(day, day + timedelta(days=1), timezone)

    @classmethod
    def from_time_window(cls, window: dg.TimeWindow, timezone: str) -> DayRange:
        """The days of a Dagster partition window (one day, or a backfill's range)."""
        zone = ZoneInfo(timezone)
        return cls(
            window.start.astimezone(zone).date(), window.end.astimezone(zone).date(), timezone
        )

    def landing_dates(self) -> list[date]:
        """Each day of the range: the names of the landing folders the run loads."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    def _utc(self, day: date) -> str:
        local_midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.timezone))
        return local_midnight.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def dbt_vars(self, late_allowance_hours: int) -> dict[str, str | int]:
        """The vars the partitioned dbt models read; every bound is `>= start and < end`."""
        return {
            "partition_start_date": self.start.isoformat(),
            "partition_end_date": self.end.isoformat(),
            # Local midnights as naive UTC timestamps, the type the staged events carry.
            "partition_start_utc": self._utc(self.start),
            "partition_end_utc": self._utc(self.end),
            "late_data_allowance_hours": late_allowance_hours,
        }


def first_day(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = env.get(FIRST_DAY_ENV) or DEFAULT_FIRST_DAY
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PartitionSettingsError(
            f"{FIRST_DAY_ENV}: expected the first day of data as YYYY-MM-DD, got {value!r}"
        ) from None
    return value


def late_allowance_hours(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    value = env.get(LATE_ALLOWANCE_ENV)
    if value is None or value == "":
        return DEFAULT_LATE_ALLOWANCE_HOURS
    if not value.isdigit():
        raise PartitionSettingsError(
            f"{LATE_ALLOWANCE_ENV}: expected a whole number of hours (default "
            f"{DEFAULT_LATE_ALLOWANCE_HOURS}), got {value!r}"
        )
    return int(value)


def daily_partitions(timezone: str, start: str) -> dg.DailyPartitionsDefinition:
    """One partition a day in the reporting time zone; today's opens once it has ended."""
    return dg.DailyPartitionsDefinition(start_date=start, timezone=timezone)
