"""What one run rebuilds: every day of history (a full refresh) or the days of its partitions.

A run of the daily job names its days with Dagster's partition tags: one day from the
schedule, a range from a backfill. A full refresh carries the tag below (or names no
days at all), and then the loader replaces the event tables with every landing file and
dbt rebuilds the incremental models from scratch, whatever days the run names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.partitions import FIRST_DAY_ENV, DayRange

FULL_REFRESH_TAG = "campaign_report/full_refresh"
# Dagster's own tags for the partition, or the range of partitions, of a run.
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
POSTGRES_FULL_ONLY = "daily partitions run on DuckDB only; use a full run"


class DaysError(ValueError):
    """Days asked of a run that the daily partitions do not have."""


def every_day(partitions: dg.DailyPartitionsDefinition) -> DayRange:
    """Every day the partitions have so far: what a full refresh run is recorded against.

    Dagster cannot evaluate the checks of a partitioned asset in a run without a
    partition, so a full refresh names all of them, which is also what it rebuilds.
    """
    keys = partitions.get_partition_keys()
    if not keys:
        raise DaysError(
            f"{FIRST_DAY_ENV}: the first daily partition, {partitions.start:%Y-%m-%d}, has not "
            f"ended yet in {partitions.timezone}; set it to a day that has"
        )
    last = date.fromisoformat(keys[-1])
    return DayRange(date.fromisoformat(keys[0]), last + timedelta(days=1), partitions.timezone)


def is_full_refresh(run_tags: Mapping[str, str]) -> bool:
    """True for a run tagged as a full refresh, or one that names no partition at all."""
    if run_tags.get(FULL_REFRESH_TAG, "").lower() == "true":
        return True
    return PARTITION_TAG not in run_tags and RANGE_START_TAG not in run_tags


def run_days(context: dg.AssetExecutionContext, timezone: str) -> DayRange | None:
    """The days a partitioned asset's run covers; None when it is a full refresh."""
    if is_full_refresh(context.run.tags):
        return None
    return DayRange.from_time_window(context.partition_time_window, timezone)


def tagged_days(run_tags: Mapping[str, str], timezone: str) -> DayRange | None:
    """The days a run's partition tags name, read from the tags themselves.

    The unpartitioned assets of a daily run have no partition window of their own, so
    this is how they learn the run's days. None for a full refresh, as `run_days`.
    """
    if is_full_refresh(run_tags):
        return None
    if PARTITION_TAG in run_tags:
        return DayRange.day(date.fromisoformat(run_tags[PARTITION_TAG]), timezone)
    last = date.fromisoformat(run_tags[RANGE_END_TAG])
    return DayRange(
        date.fromisoformat(run_tags[RANGE_START_TAG]), last + timedelta(days=1), timezone
    )


def range_tags(days: DayRange) -> dict[str, str]:
    """The run tags that make one run of the daily job cover every day of `days`.

    Both ends of Dagster's range are partition keys, so the exclusive end becomes the
    last day of the range; a single day uses the single-partition tag, as the
    schedule does.
    """
    last = days.end - timedelta(days=1)
    if last == days.start:
        return {PARTITION_TAG: days.start.isoformat()}
    return {RANGE_START_TAG: days.start.isoformat(), RANGE_END_TAG: last.isoformat()}


def describe_days(days: DayRange) -> str:
    """The days for a log line: one date, or the first and last, both inclusive."""
    last = days.end - timedelta(days=1)
    if last == days.start:
        return days.start.isoformat()
    return f"{days.start.isoformat()} to {last.isoformat()}"


def check_days(days: DayRange, first: date, now: datetime) -> None:
    """Refuse days before the first partition, or days not yet over in the reporting zone.

    Dagster only has a partition for a day once it has ended, which is also when its
    landing folders are complete.
    """
    if days.start < first:
        raise DaysError(
            f"{days.start.isoformat()}: before the first day of the daily partitions, "
            f"{first.isoformat()} (set {FIRST_DAY_ENV} to start them earlier)"
        )
    today = now.astimezone(ZoneInfo(days.timezone)).date()
    last = days.end - timedelta(days=1)
    if last >= today:
        raise DaysError(
            f"{last.isoformat()}: that day has not ended yet in {days.timezone}; "
            f"the latest day to build is {(today - timedelta(days=1)).isoformat()}"
        )
