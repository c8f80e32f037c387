"""The campaign_report code location, loaded by `dagster dev` and the CLI alike."""

from __future__ import annotations

import warnings

import dagster as dg

from orchestration.assets import build_raw_table_assets, landing_specs, report_config_tables
from orchestration.dbt_assets import build_dbt_assets, campaign_report_project
from orchestration.lift_assets import LIFT_KEY, fct_campaign_lift
from orchestration.partitions import daily_partitions, first_day
from orchestration.publish_assets import build_publish_asset
from orchestration.quarantine import nothing_lost_checks
from orchestration.resources import build_resources
from orchestration.schedules import (
    campaign_report_full_refresh,
    campaign_report_job,
    daily_schedule,
)
from orchestration.settings import RunSettings, schedule_timezone


def build_definitions(
    settings: RunSettings, partitions: dg.DailyPartitionsDefinition
) -> dg.Definitions:
    """Every asset, the jobs, the schedule and the resources for one set of run settings.

    `partitions` are the days of the reporting time zone that the event tables and the
    incremental models are split into. On PostgreSQL analysts read the marts schema
    itself, so only a DuckDB warehouse gets the published copy.
    """
    with warnings.catch_warnings():
        # A single-run backfill policy is still marked beta; the warning would reach
        # every `campaign-report run` and every load of the code location.
        warnings.simplefilter("ignore", dg.BetaWarning)
        dbt_assets = build_dbt_assets(partitions)
        raw_tables = build_raw_table_assets(partitions)
    published = []
    if settings.target == "duckdb":
        marts = [key for assets in dbt_assets for key in assets.keys if key.path[0] == "marts"]
        published.append(build_publish_asset([*marts, LIFT_KEY]))
    return dg.Definitions(
        assets=[
            *landing_specs,
            *raw_tables,
            report_config_tables,
            *dbt_assets,
            fct_campaign_lift,
            *published,
        ],
        asset_checks=nothing_lost_checks,
        jobs=[campaign_report_job, campaign_report_full_refresh],
        schedules=[daily_schedule(partitions.timezone)],
        resources=build_resources(settings, campaign_report_project()),
        # Materialising from the asset graph in the UI must not start one
        # process per step either: they would fight over the DuckDB file.
        executor=dg.in_process_executor,
    )


def reporting_partitions() -> dg.DailyPartitionsDefinition:
    """The daily partitions the environment asks for: its reporting zone and first day."""
    return daily_partitions(schedule_timezone(), first_day())


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(RunSettings.from_env(), reporting_partitions())
