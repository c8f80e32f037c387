"""The jobs that build everything, and the daily schedule that runs the partitioned one."""

from __future__ import annotations

import dagster as dg

from orchestration.run_scope import FULL_REFRESH_TAG

JOB_NAME = "campaign_report_job"
FULL_REFRESH_JOB_NAME = "campaign_report_full_refresh"
SCHEDULE_NAME = "campaign_report_daily"
SCHEDULE_HOUR = 6

# DuckDB takes one writer per file, so every step of a run shares one process
# and runs one after another; the instance's run queue keeps runs apart.
# Dagster lets one job hold the daily-partitioned assets beside unpartitioned ones:
# a run for some days builds those days of the first and the whole of the others.
campaign_report_job = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description=(
        "Load the landing files and the report config, then dbt build every mart: the "
        "event tables and incremental models for the run's days, everything else whole."
    ),
)

# The same assets with the run tag that makes every asset start again from all the
# landing files, so a full refresh is one click in the UI, with or without a partition.
campaign_report_full_refresh = dg.define_asset_job(
    name=FULL_REFRESH_JOB_NAME,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    tags={FULL_REFRESH_TAG: "true"},
    description=(
        "Reload every landing file and rebuild every model from scratch (dbt --full-refresh)."
    ),
)


def daily_schedule(execution_timezone: str) -> dg.ScheduleDefinition:
    """Build the day just ended every morning, after the nightly exports have landed.

    The time zone is the daily partitions' own, so 06:00 there requests the partition of
    the day that ended six hours before.
    """
    return dg.build_schedule_from_partitioned_job(
        campaign_report_job,
        name=SCHEDULE_NAME,
        hour_of_day=SCHEDULE_HOUR,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Build the day just ended at {SCHEDULE_HOUR:02}:00 {execution_timezone}: "
            "that day's landing folders, the incremental models, then every mart."
        ),
    )
