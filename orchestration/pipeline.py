"""One whole run in this process: the job `dagster dev` runs, without a Dagster server.

The CLI uses this so that a person can build the report with one command, and
the numbers come from exactly the assets the code location defines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.landing import MISNAMED_DAY_FOLDERS, check_landing
from orchestration.partitions import DayRange, daily_partitions, first_day, late_allowance_hours
from orchestration.paths import ensure_profiles
from orchestration.personal_data import require_pii_salt
from orchestration.postgres import check_ready
from orchestration.quarantine import QUARANTINE_SCHEMA, REASON_PREFIX
from orchestration.report_config import load_config
from orchestration.run_lock import duckdb_busy_reason
from orchestration.run_scope import POSTGRES_FULL_ONLY, check_days, every_day, range_tags
from orchestration.schedules import FULL_REFRESH_JOB_NAME, JOB_NAME
from orchestration.settings import RunSettings, require_daily_timezone, schedule_timezone

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
DBT_LOG_PATH = re.compile(r"dbt debug log: (\S+?dbt\.log)")


class PipelineError(RuntimeError):
    """A run that did not build the report, with the first reason in one line."""


@dataclass(frozen=True)
class RunSummary:
    """What a successful run built, for the person who started it."""

    row_counts: dict[str, int] = field(default_factory=dict)
    materialized: int = 0
    checks_passed: int = 0
    checks_warned: list[str] = field(default_factory=list)
    # Quarantine table (campaigns, ..., goal_values) -> reason -> rows set aside.
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    # Landing folders that look like a day but are not YYYY-MM-DD: full builds only.
    misnamed_day_folders: list[str] = field(default_factory=list)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _innermost_message(error: dg.SerializableErrorInfo | None) -> str:
    """The message of the error that started the chain, without its class name.

    Dagster wraps a failure in user code as "Error occurred while executing op
    ..."; the innermost error is the one that says what to fix.
    """
    innermost = None
    while error is not None:
        innermost, error = error, error.cause
    if innermost is None:
        return "unknown error"
    message = _one_line(innermost.message)
    prefix_end = message.find(f"{innermost.cls_name}: ")
    if innermost.cls_name and 0 <= prefix_end < 200:
        message = message[prefix_end + len(innermost.cls_name) + 2 :]
    return message


def _dbt_reason(message: str, failed_checks: list[str]) -> str:
    message = ANSI_ESCAPE.sub("", message)
    log = DBT_LOG_PATH.search(message)
    where = f" (dbt log: {log.group(1)})" if log else ""
    if failed_checks:
        return (
            f"dbt build failed: {len(failed_checks)} test(s) failed: "
            f"{', '.join(failed_checks)}{where}"
        )
    _, _, parsed = message.partition("Errors parsed from dbt logs:")
    return f"dbt build failed: {parsed.strip() or message}{where}"


def _failure_reason(result: dg.ExecuteInProcessResult, settings: RunSettings) -> str:
    for event in result.all_events:
        error = None
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
        elif event.is_resource_init_failure and event.engine_event_data is not None:
            # The warehouse resource takes the run lock as it starts.
            error = event.engine_event_data.error
        if error is None:
            continue
        message = _innermost_message(error)
        # DuckDB's lock error, met by dbt or by a step, means another process has the
        # file open: the person needs to hear that, not an IO error.
        busy = duckdb_busy_reason(settings.database, ANSI_ESCAPE.sub("", message))
        if busy is not None and settings.target == "duckdb":
            return busy
        if event.step_key and "dbt" in event.step_key:
            return _dbt_reason(message, _failed_checks(result))
        # Dagster names a failed blocking check but not what it found.
        if error.cls_name == "DagsterAssetCheckFailedError":
            return _blocking_check_reason(result) or message
        return message
    return "the run did not succeed and reported no failed step"


def _blocking_check_reason(result: dg.ExecuteInProcessResult) -> str:
    return "; ".join(
        f"asset check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
        f"failed: {evaluation.description}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
        and evaluation.severity == dg.AssetCheckSeverity.ERROR
        and evaluation.description
    )


def _failed_checks(
    result: dg.ExecuteInProcessResult,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[str]:
    failed = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == severity:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(failed)


def _summarise(result: dg.ExecuteInProcessResult) -> RunSummary:
    row_counts: dict[str, int] = {}
    quarantined: dict[str, dict[str, int]] = {}
    # A run over several days records a partitioned asset once a day; count it once.
    materialized: set[dg.AssetKey] = set()
    misnamed_day_folders: set[str] = set()
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        materialized.add(materialization.asset_key)
        row_count = materialization.metadata.get("dagster/row_count")
        misnamed = materialization.metadata.get(MISNAMED_DAY_FOLDERS)
        if misnamed is not None:
            misnamed_day_folders.update(misnamed.value)
        if row_count is not None:
            row_counts[materialization.asset_key.to_user_string()] = int(row_count.value)
        path = materialization.asset_key.path
        if path[0] == QUARANTINE_SCHEMA:
            quarantined[path[-1]] = {
                key.removeprefix(REASON_PREFIX): int(value.value)
                for key, value in materialization.metadata.items()
                if key.startswith(REASON_PREFIX)
            }
    outcomes = Counter(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    return RunSummary(
        row_counts=row_counts,
        materialized=len(materialized),
        checks_passed=outcomes[True],
        checks_warned=_failed_checks(result, dg.AssetCheckSeverity.WARN),
        quarantined=quarantined,
        misnamed_day_folders=sorted(misnamed_day_folders),
    )


def run_pipeline(
    settings: RunSettings, days: DayRange | None = None, *, log_level: str = "CRITICAL"
) -> RunSummary:
    """Validate the inputs, then build the report in-process on a throwaway instance.

    Without `days` this is a full refresh: every landing file is loaded and every model
    rebuilt from scratch. With `days`, it is one run of campaign_report_job over that
    range of daily partitions, as a backfill from the UI would be.

    Raises ConfigError, LandingError, PiiSaltError, ManifestMissingError, PostgresError,
    DaysError, PartitionSettingsError or SettingsError before anything is written when the inputs or
    the warehouse are unusable, and PipelineError when a step fails, saying so when the
    warehouse was busy.
    """
    config = load_config(settings.config)
    if days is not None:
        require_daily_timezone(settings.config, config.timezone, days.timezone)
    check_landing(settings.landing)
    require_pii_salt()
    ensure_profiles()
    if days is not None and settings.target == "postgres":
        raise PipelineError(POSTGRES_FULL_ONLY)
    first = first_day()
    if days is not None:
        check_days(days, date.fromisoformat(first), datetime.now(UTC))
        # Read by the dbt step; a bad value should stop the run before it loads anything.
        late_allowance_hours()
    if settings.target == "postgres":
        check_ready(settings.postgres, settings.analyst_role)
    partitions = daily_partitions(days.timezone if days else schedule_timezone(), first)
    # The full refresh job carries the tag that makes every asset ignore the range.
    job_name, run_days = (
        (JOB_NAME, days) if days else (FULL_REFRESH_JOB_NAME, every_day(partitions))
    )
    job = build_definitions(settings, partitions).resolve_job_def(job_name)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags=range_tags(run_days),
        )
    if not result.success:
        raise PipelineError(_failure_reason(result, settings))
    return _summarise(result)
