"""The dbt project as Dagster assets: every model and seed an asset, every test a check.

The models tagged ``partitioned`` (the event rows, the receipts, and the conversions'
pairs, credited campaigns, touches and shared credit: incremental models) build only
the days of their run. They are one set with the
daily partitions, together with the few views and tables that lie between them (the
staged events, the stitched product events, the goal conversions, the report's
campaigns, the messages the run judged and the persons it must redo) and the event tables'
quarantine, which dbt rebuilds whole in every run like the rest. Every other model,
seed and snapshot is unpartitioned, in two sets: what the daily set reads, and the
rest. So a run calls dbt three times, before, daily and after, instead of once for
every hop of the lineage between the sets.
"""

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.partitions import DayRange, late_allowance_hours
from orchestration.paths import DBT_PROJECT_DIR, MANIFEST_PATH, PROFILES_DIR, ensure_profiles
from orchestration.personal_data import require_pii_salt
from orchestration.quarantine import (
    QUARANTINE_TABLES,
    quarantine_key,
    quarantine_metadata,
    reason_counts,
)
from orchestration.resources import WarehouseResource
from orchestration.run_scope import POSTGRES_FULL_ONLY, run_days, tagged_days

# The dbt unit tests check the rules on hand-made rows, not the warehouse's
# data; they run in the test suite (tests/test_dbt_unit.py), not every night.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


# dagster-dbt gives every run a target folder of its own (manifest, compiled SQL,
# run results, several MB); the newest few are kept for looking into a failure.
KEPT_RUN_TARGETS = 5
# The per-run target folders are named after the op, so both names share this prefix.
DBT_ASSETS_NAME = "campaign_report_dbt"
DAILY_DBT_ASSETS_NAME = f"{DBT_ASSETS_NAME}_daily"
UPSTREAM_DBT_ASSETS_NAME = f"{DBT_ASSETS_NAME}_upstream"
PARTITIONED_TAG = "partitioned"
# The incremental models, every model both downstream and upstream of one of them, and
# the event tables' quarantine: the nothing_lost checks of the staged events count it,
# so it must be built in the same stretch of the run as they are.
# Before the daily set: what it reads, and the small tables' quarantine, which the
# blocking nothing_lost checks of the staged campaigns and identities count before
# anything downstream of them may start.
UPSTREAM_SELECTION = f"+tag:{PARTITIONED_TAG} qua_campaigns qua_identities"
DAILY_SELECTION = (
    f"tag:{PARTITIONED_TAG}+,+tag:{PARTITIONED_TAG} qua_message_events qua_product_events"
)
INDIRECT_SELECTION_ENV = "DBT_INDIRECT_SELECTION"
PARSE_CACHE = "partial_parse.msgpack"


def prune_run_targets(target_dir: Path, keep: int = KEPT_RUN_TARGETS) -> list[Path]:
    """Delete all but the newest `keep` per-run target folders; return what was deleted."""
    runs = sorted(
        (path for path in target_dir.glob(f"{DBT_ASSETS_NAME}*-*") if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for stale in runs[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
    return runs[keep:]


class ManifestMissingError(FileNotFoundError):
    """The dbt manifest has not been built yet."""


class CampaignReportTranslator(DagsterDbtTranslator):
    """Group models by the schema they build in, which is also their layer."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema")
        return schema or super().get_group_name(dbt_resource_props)


def campaign_report_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=PROFILES_DIR)


def build_dbt_assets(
    partitions: dg.DailyPartitionsDefinition, manifest_path: Path = MANIFEST_PATH
) -> list[dg.AssetsDefinition]:
    """Define the three dbt asset sets from the manifest that `make setup` builds with `dbt parse`.

    Parsing the project here instead would open the warehouse and take seconds
    every time the code location loads, so a missing manifest is an error.
    """
    if not manifest_path.is_file():
        raise ManifestMissingError(
            f"{manifest_path}: dbt manifest not found; run `make setup` to build it "
            "(it runs `dbt parse` in dbt_project/)"
        )

    def whole_set(name: str, **selection: str) -> dg.AssetsDefinition:
        @dbt_assets(
            manifest=manifest_path,
            project=campaign_report_project(),
            name=name,
            dagster_dbt_translator=CampaignReportTranslator(),
            **selection,
        )
        def _whole(
            context: dg.AssetExecutionContext,
            dbt: DbtCliResource,
            warehouse: WarehouseResource,
        ):
            days = tagged_days(context.run.tags, partitions.timezone)
            yield from _build(context, dbt, warehouse, whole_build_args(days, warehouse))

        return _whole

    # What the daily set reads, and everything else. Split in two, each is one dbt call
    # of a run, before and after the daily set's; as one set, Dagster would cut it into
    # as many calls as the lineage crosses between the sets.
    upstream = whole_set(
        UPSTREAM_DBT_ASSETS_NAME, select=UPSTREAM_SELECTION, exclude=DAILY_SELECTION
    )
    downstream = whole_set(DBT_ASSETS_NAME, exclude=f"{UPSTREAM_SELECTION} {DAILY_SELECTION}")

    @dbt_assets(
        manifest=manifest_path,
        project=campaign_report_project(),
        name=DAILY_DBT_ASSETS_NAME,
        select=DAILY_SELECTION,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=CampaignReportTranslator(),
    )
    def campaign_report_dbt_daily(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
    ):
        days = run_days(context, partitions.timezone)
        if days is not None and warehouse.is_postgres:
            raise dg.Failure(description=POSTGRES_FULL_ONLY)
        yield from _build(context, dbt, warehouse, daily_build_args(days))

    return [upstream, campaign_report_dbt_daily, downstream]


def whole_build_args(days: DayRange | None, warehouse: WarehouseResource) -> list[str]:
    """dbt's arguments for the models rebuilt whole, in a run of `days` (None: a full one).

    These models are tables and views that dbt rebuilds whole anyway; the full-refresh
    flag only matters to seeds, which it recreates. In a daily run they get the daily
    set's vars too, although only the partitioned models and the data tests of the
    partitioned tables read them: dbt parses the whole project again whenever
    the vars differ from those of its cached parse, and the run's three dbt calls would
    then pay for two full parses.
    """
    if days is None:
        return [*BUILD_ARGS, "--full-refresh"]
    if warehouse.is_postgres:
        # The daily set stops such a run with POSTGRES_FULL_ONLY; until it does, the
        # models before it build as in a run without days.
        return BUILD_ARGS
    return daily_build_args(days)


def daily_build_args(days: DayRange | None) -> list[str]:
    """dbt's arguments for the partitioned models: their days, or a rebuild from scratch."""
    if days is None:
        return [*BUILD_ARGS, "--full-refresh"]
    # The models read the window and widen it by the late-data allowance themselves.
    return [*BUILD_ARGS, "--vars", json.dumps(days.dbt_vars(late_allowance_hours()))]


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
) -> Iterator[Any]:
    # `build` runs each model's tests right after it, so a failed test stops
    # the models that depend on it and shows as a failed asset check.
    require_pii_salt()
    ensure_profiles()
    pruned = prune_run_targets(DBT_PROJECT_DIR / "target")
    if pruned:
        context.log.info(f"Deleted {len(pruned)} old dbt run folders from dbt_project/target")
    with warehouse.dbt_environment(), _only_the_checks_of_this_step(context, args) as args:
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        yield from _with_quarantine_counts(context, warehouse, invocation.stream())
        error = invocation.get_error()
    _keep_parse_cache(Path(invocation.target_path))
    if error is not None:
        raise error


def _keep_parse_cache(run_target: Path) -> None:
    """Hand the parse this dbt call made to the next one, which dagster-dbt seeds from it.

    dbt parses the whole project again whenever the profile (here, the warehouse
    file) or the vars differ from those of its cached parse. A run calls dbt several
    times with the same warehouse and vars, so keeping the newest parse makes every
    call after the first a partial parse: seconds saved on each. The copy is renamed
    into place, so a reader never sees half a file.
    """
    parsed = run_target / PARSE_CACHE
    if not parsed.is_file():
        return
    kept = DBT_PROJECT_DIR / "target" / PARSE_CACHE
    partial = kept.with_name(f"{PARSE_CACHE}.{os.getpid()}.tmp")
    shutil.copyfile(parsed, partial)
    os.replace(partial, kept)


@contextmanager
def _only_the_checks_of_this_step(
    context: dg.AssetExecutionContext, args: list[str]
) -> Iterator[list[str]]:
    """Run exactly the tests that are this step's asset checks, named one by one.

    The two dbt asset sets feed each other (staging, then the daily models, then the
    marts), so Dagster splits a run into several dbt steps. dbt's default would also run,
    in an early step, a relationship test whose other model a later step builds, and
    fail it on a table that does not exist yet.
    """
    tests = sorted(check.name for check in context.selected_asset_check_keys)
    previous = os.environ.get(INDIRECT_SELECTION_ENV)
    os.environ[INDIRECT_SELECTION_ENV] = "empty"
    try:
        yield [*args, "--select", " ".join(tests)] if tests else args
    finally:
        if previous is None:
            os.environ.pop(INDIRECT_SELECTION_ENV, None)
        else:
            os.environ[INDIRECT_SELECTION_ENV] = previous


def _with_quarantine_counts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    events: Iterator[Any],
) -> Iterator[Any]:
    """Pass dbt's events on, adding the rows per reason to the quarantine tables' outputs.

    DuckDB lets one process write to a file at a time and dbt holds it while it builds, so
    those outputs wait until dbt has finished and the tables can be counted.
    """
    quarantine_keys = {quarantine_key(table): table for table in QUARANTINE_TABLES}
    held: list[tuple[str, dg.Output]] = []
    for event in events:
        if isinstance(event, dg.Output):
            table = quarantine_keys.get(context.asset_key_for_output(event.output_name))
            if table is not None:
                held.append((table, event))
                continue
        yield event
    if not held:
        return
    with warehouse.connect() as con:
        counts = {table: reason_counts(con, table) for table, _ in held}
    for table, output in held:
        total = sum(counts[table].values())
        by_reason = ", ".join(f"{count} {reason}" for reason, count in counts[table].items())
        context.log.info(
            f"quarantine.{table}: {total} rows set aside" + (f" ({by_reason})" if total else "")
        )
        yield output.with_metadata({**output.metadata, **quarantine_metadata(counts[table])})
