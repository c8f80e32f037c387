"""`campaign-report`: build the report from a landing folder and show it in the terminal.

`run` executes the code location's own job in this process, so the numbers are
the ones `dagster dev` would build from the same files.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.landing import LandingError
from orchestration.partitions import DayRange, PartitionSettingsError
from orchestration.paths import DEFAULT_CONFIG, HILLSTROM_CONFIG
from orchestration.personal_data import PiiSaltError, demo_pii_salt
from orchestration.postgres import PostgresError
from orchestration.publish import published_path
from orchestration.report_config import ConfigError
from orchestration.report_view import ReportViewError, read_report_tables, report_tables
from orchestration.run_scope import DaysError, describe_days
from orchestration.settings import (
    BUSY_TIMEOUT_ENV,
    SCHEDULE_TIMEZONE_ENV,
    TARGET_ENV,
    RunSettings,
    SettingsError,
    schedule_timezone,
)

app = typer.Typer(
    help="Which CRM campaigns drove conversions: build the report and show it.",
    no_args_is_help=True,
    add_completion=False,
)
example_app = typer.Typer(help="Build the report for a worked example on public data.")
app.add_typer(example_app, name="example")

# Piped or captured output has no terminal width to follow; the comparison
# tables need more than the 80 columns rich would assume.
console = Console(width=None if Console().is_terminal else 140)
status_console = Console(stderr=True)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

LandingOption = Annotated[
    Path | None,
    typer.Option(
        "--landing",
        help="Landing folder with campaigns/, message_events/, product_events/ "
        "and optionally identities/ (default: $CAMPAIGN_REPORT_LANDING, "
        "else landing/ in the repository).",
        show_default=False,
    ),
]
DatabaseOption = Annotated[
    Path | None,
    typer.Option(
        "--database",
        help="DuckDB file to build the report in (default: $CAMPAIGN_REPORT_DATABASE, "
        "else warehouse/campaign_report.duckdb in the repository).",
        show_default=False,
    ),
]
ShownDatabaseOption = Annotated[
    Path | None,
    typer.Option(
        "--database",
        help="Built DuckDB file; the report is read from its published copy (default: "
        "$CAMPAIGN_REPORT_DATABASE, else warehouse/campaign_report.duckdb in the repository).",
        show_default=False,
    ),
]


class TargetChoice(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"


TargetOption = Annotated[
    TargetChoice | None,
    typer.Option(
        "--target",
        help=f"Warehouse to use: duckdb (the --database file) or postgres (the server the "
        f"PG* variables name) (default: ${TARGET_ENV}, else duckdb).",
        show_default=False,
    ),
]
WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        help=f"Seconds to wait while another run is writing the warehouse before giving up "
        f"(default: ${BUSY_TIMEOUT_ENV}, else 600).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Report config YAML (default: $CAMPAIGN_REPORT_CONFIG, else config/reports.yml).",
        show_default=False,
    ),
]
DayOption = Annotated[
    str | None,
    typer.Option(
        "--day",
        help=f"Build one day (YYYY-MM-DD, in ${SCHEDULE_TIMEZONE_ENV}, else Asia/Seoul) "
        "instead of a full refresh: that day's landing folders and the incremental models.",
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="First day (YYYY-MM-DD) of a range to build in one run; needs --to.",
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="Last day (YYYY-MM-DD, inclusive) of the range that --from starts.",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show Dagster's and dbt's log lines.")
]


def _fail(reason: str) -> typer.Exit:
    # typer.echo, not rich: rich would wrap a long path onto several lines.
    typer.echo(f"campaign-report: error: {' '.join(reason.split())}", err=True)
    return typer.Exit(code=1)


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Keep dbt's progress lines, which dagster-dbt writes to stdout, off a quiet run."""
    if verbose:
        yield
        return
    with (
        status_console.status("Loading the landing files and building the marts..."),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        yield


def _settings(
    target: TargetChoice | None = None, wait: float | None = None, **locations: Path | None
) -> RunSettings:
    """The environment's settings with the command's options on top."""
    try:
        return RunSettings.from_env().override(
            target=target.value if target else None, busy_timeout=wait, **locations
        )
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _parse_day(option: str, value: str) -> date:
    # fromisoformat alone would also take 20261102 or 2026-W44-1.
    try:
        if not ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value}: expected a day as YYYY-MM-DD") from None


def _days(day: str | None, first: str | None, last: str | None) -> DayRange | None:
    """The days --day or --from/--to ask for, in the reporting zone; None for a full refresh."""
    if day is not None and (first is not None or last is not None):
        raise _fail("--day builds one day: give it alone, or --from and --to for a range")
    if day is None and first is None and last is None:
        return None
    if (first is None) != (last is None):
        given, missing = ("--from", "--to") if last is None else ("--to", "--from")
        raise _fail(f"{given} needs {missing}: a range names its first and last day")
    try:
        timezone = schedule_timezone()
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    if day is not None:
        return DayRange.day(_parse_day("--day", day), timezone)
    assert first is not None and last is not None
    start, end = _parse_day("--from", first), _parse_day("--to", last)
    if end < start:
        raise _fail(f"--to {last} is before --from {first}")
    return DayRange(start, end + timedelta(days=1), timezone)


def _build(settings: RunSettings, verbose: bool, days: DayRange | None = None) -> None:
    # Imported here so that `--help` and `show` do not wait for Dagster to load.
    from orchestration.dbt_assets import ManifestMissingError
    from orchestration.pipeline import PipelineError, run_pipeline

    try:
        with _quiet(verbose):
            summary = run_pipeline(settings, days=days, log_level="INFO" if verbose else "CRITICAL")
    except (
        ConfigError,
        DaysError,
        LandingError,
        ManifestMissingError,
        PartitionSettingsError,
        PiiSaltError,
        PipelineError,
        PostgresError,
        SettingsError,
    ) as exc:
        raise _fail(str(exc)) from None

    loaded = ", ".join(
        f"{table.removeprefix('raw/')} {rows:,}"
        for table, rows in summary.row_counts.items()
        if table.startswith("raw/") and not table.startswith("raw/report_")
    )
    if days is None:
        console.print("Full refresh: every landing file loaded, every model rebuilt.")
    else:
        console.print(
            f"Days {describe_days(days)} ({days.timezone}): message_events and "
            "product_events loaded from those days' folders, the other tables whole."
        )
    console.print(f"Loaded rows: {loaded}.")
    console.print(_quarantine_line(summary.quarantined))
    console.print(
        f"Built {summary.materialized} assets in {settings.warehouse_label()}; "
        f"{summary.checks_passed} data tests passed"
        + (f", {len(summary.checks_warned)} warned" if summary.checks_warned else "")
        + "."
    )
    if settings.target == "duckdb":
        published = published_path(settings.database)
        console.print(f"Published for analysts: {published} (duckdb -readonly {published})")
    if summary.checks_warned:
        console.print(f"Warnings for a person to look at: {', '.join(summary.checks_warned)}.")
    if summary.misnamed_day_folders:
        console.print(
            "Folders that look like days but are not named YYYY-MM-DD (or are not real "
            "dates), so no daily run loads them, only full builds: "
            f"{', '.join(summary.misnamed_day_folders)}."
        )


def _quarantine_line(quarantined: dict[str, dict[str, int]]) -> str:
    """One sentence on the rows set aside, per table and reason, or that there were none."""
    tables = [
        f"{table} {sum(reasons.values()):,} ("
        + ", ".join(f"{reason} {count:,}" for reason, count in reasons.items())
        + ")"
        for table, reasons in sorted(quarantined.items())
        if reasons
    ]
    if not tables:
        return "Quarantined rows: none."
    return f"Quarantined rows: {'; '.join(tables)}; see the schema quarantine."


def _show(settings: RunSettings, report: str | None) -> None:
    try:
        if settings.target == "postgres":
            from orchestration import postgres

            con = postgres.connect(settings.postgres)
            try:
                tables = read_report_tables(con, settings.warehouse_label(), report)
            finally:
                con.close()
        else:
            # The published copy is the last build that passed, and reading it never
            # holds up a run that is writing the warehouse file.
            published = published_path(settings.database)
            tables = report_tables(published if published.is_file() else settings.database, report)
    except (ReportViewError, PostgresError) as exc:
        raise _fail(str(exc)) from None
    for table in tables.all():
        console.print()
        console.print(table)


def _show_hint(settings: RunSettings) -> str:
    if settings.target == "postgres":
        return "campaign-report show --target postgres"
    return f"campaign-report show --database {settings.database}"


@app.command()
def run(
    landing: LandingOption = None,
    database: DatabaseOption = None,
    config: ConfigOption = None,
    target: TargetOption = None,
    wait: WaitOption = None,
    day: DayOption = None,
    from_day: FromOption = None,
    to_day: ToOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Validate the config, load the landing files and build every mart.

    By default a full refresh; --day, or --from and --to, build those days only, in one run.
    """
    days = _days(day, from_day, to_day)
    settings = _settings(target, wait, database=database, landing=landing, config=config)
    _build(settings, verbose, days)
    console.print(f"Show it with: {_show_hint(settings)}")


@app.command()
def show(
    database: ShownDatabaseOption = None,
    target: TargetOption = None,
    report: Annotated[str | None, typer.Option("--report", help="Show only this report.")] = None,
) -> None:
    """Print the campaign comparison and the funnels of a built warehouse.

    A DuckDB warehouse is read from its published copy when it has one.
    """
    _show(_settings(target, database=database), report)


@app.command()
def demo(
    database: DatabaseOption = None,
    landing: LandingOption = None,
    target: TargetOption = None,
    persons: Annotated[
        int, typer.Option("--persons", min=1, help="How many people the sample data has.")
    ] = 20_000,
    verbose: VerboseOption = False,
) -> None:
    """Generate sample data, build the report with config/reports.yml and show it."""
    from orchestration.sample_data import deliver_by_day, generate_sample_data
    from orchestration.settings import schedule_timezone

    settings = _settings(target, database=database, landing=landing, config=DEFAULT_CONFIG)
    written = generate_sample_data(settings.landing, persons=persons)
    # In day folders, as nightly exports land, so the UI's daily runs find their days.
    deliver_by_day(settings.landing, schedule_timezone())
    console.print(
        f"Wrote sample data for {persons:,} persons to {settings.landing}: "
        f"{written.campaigns:,} campaigns, {written.message_events:,} message events, "
        f"{written.product_events:,} product events, {written.identities:,} identity links."
    )
    with demo_pii_salt():
        _build(settings, verbose)
    _show(settings, None)


@example_app.command("hillstrom")
def hillstrom(
    database: DatabaseOption = None,
    landing: Annotated[
        Path | None,
        typer.Option(
            "--landing",
            help="Folder to write the example's landing files to (default: a temporary folder).",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """The Hillstrom e-mail experiment, built with examples/hillstrom.yml and shown."""
    from orchestration.hillstrom import write_hillstrom_landing

    with tempfile.TemporaryDirectory(prefix="campaign-report-hillstrom-") as scratch:
        settings = _settings(
            database=database,
            landing=landing or Path(scratch) / "landing",
            config=HILLSTROM_CONFIG,
        )
        written = write_hillstrom_landing(settings.landing)
        console.print(
            f"Wrote the Hillstrom experiment to {settings.landing}: "
            f"{written.message_events:,} message events, "
            f"{written.product_events:,} product events."
        )
        with demo_pii_salt():
            _build(settings, verbose)
    _show(settings, None)


def main() -> None:
    app()
