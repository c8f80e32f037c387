"""The job that builds everything, and the daily schedule that runs it."""

from __future__ import annotations

import dagster as dg

JOB_NAME = "campaign_report_job"
SCHEDULE_NAME = "campaign_report_daily"

# DuckDB takes one writer per file, so every step of a run shares one process
# and runs one after another; the instance's run queue keeps runs apart.
campaign_report_job = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load the landing files and the report config, then dbt build every mart.",
)


def daily_schedule(execution_timezone: str) -> dg.ScheduleDefinition:
    """Rebuild every morning, after the nightly exports have landed."""
    return dg.ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=campaign_report_job,
        cron_schedule="0 6 * * *",
        execution_timezone=execution_timezone,
        description=f"Build the whole campaign report at 06:00 {execution_timezone}.",
    )
