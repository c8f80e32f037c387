"""`campaign-report`: build the report from a landing folder and show it in the terminal.

`run` executes the code location's own job in this process, so the numbers are
the ones `dagster dev` would build from the same files.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.landing import LandingError
from orchestration.paths import DEFAULT_CONFIG, HILLSTROM_CONFIG
from orchestration.personal_data import PiiSaltError, demo_pii_salt
from orchestration.postgres import PostgresError
from orchestration.publish import published_path
from orchestration.report_config import ConfigError
from orchestration.report_view import ReportViewError, read_report_tables, report_tables
from orchestration.settings import BUSY_TIMEOUT_ENV, TARGET_ENV, RunSettings, SettingsError

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


def _build(settings: RunSettings, verbose: bool) -> None:
    # Imported here so that `--help` and `show` do not wait for Dagster to load.
    from orchestration.dbt_assets import ManifestMissingError
    from orchestration.pipeline import PipelineError, run_pipeline

    try:
        with _quiet(verbose):
            summary = run_pipeline(settings, log_level="INFO" if verbose else "CRITICAL")
    except (
        ConfigError,
        LandingError,
        ManifestMissingError,
        PiiSaltError,
        PipelineError,
        PostgresError,
    ) as exc:
        raise _fail(str(exc)) from None

    loaded = ", ".join(
        f"{table.removeprefix('raw/')} {rows:,}"
        for table, rows in summary.row_counts.items()
        if table.startswith("raw/") and not table.startswith("raw/report_")
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
    verbose: VerboseOption = False,
) -> None:
    """Validate the config, load the landing files and build every mart."""
    settings = _settings(target, wait, database=database, landing=landing, config=config)
    _build(settings, verbose)
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
    from orchestration.sample_data import generate_sample_data

    settings = _settings(target, database=database, landing=landing, config=DEFAULT_CONFIG)
    written = generate_sample_data(settings.landing, persons=persons)
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
