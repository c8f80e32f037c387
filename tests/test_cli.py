"""The CLI's exit codes and the one-line reasons it gives a person."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orchestration import dbt_assets, pipeline
from orchestration.cli import app
from orchestration.partitions import FIRST_DAY_ENV, DayRange
from orchestration.pipeline import RunSummary
from orchestration.publish import published_path
from orchestration.report_view import report_tables
from orchestration.settings import SCHEDULE_TIMEZONE_ENV, RunSettings

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _run_args(settings: RunSettings) -> list[str]:
    return [
        "run",
        "--landing",
        str(settings.landing),
        "--database",
        str(settings.database),
        "--config",
        str(settings.config),
    ]


def _single_error_line(result) -> str:
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("campaign-report: error: ")
    return lines[0].removeprefix("campaign-report: error: ")


def test_run_then_show_succeeds(settings: RunSettings) -> None:
    result = _invoke(*_run_args(settings))

    assert result.exit_code == 0, result.output
    assert "Loaded rows: campaigns 4, identities 1, message_events 29, product_events 13." in (
        result.stdout
    )
    # The fixture is clean: nothing set aside, nothing for a person to look at.
    assert "Quarantined rows: none." in result.stdout
    assert "Full refresh: every landing file loaded, every model rebuilt." in result.stdout
    assert "warned" not in result.stdout
    # dbt's own progress lines stay out of a quiet run.
    assert "START sql table model" not in result.stdout

    shown = _invoke("show", "--database", str(settings.database), "--report", "short")
    assert shown.exit_code == 0, shown.output
    assert "Conversions: report short, goal purchase, 2h window" in shown.stdout
    assert "Funnel: report short, goal sign_up" in shown.stdout
    assert "report main" not in shown.stdout
    assert "Spring sale push" in shown.stdout

    # The cells a person reads, rendered wide enough not to wrap.
    console = Console(width=200, record=True)
    for table in report_tables(settings.database, "short").all():
        console.print(table)
    lines = [" ".join(line.split()) for line in console.export_text().splitlines()]
    assert "│ c2 │ March newsletter │ email │ 4 │ 3 (75.0%) │ 2 (66.7%) │ 2 (66.7%) │" in lines
    assert "│ c4 │ Welcome SMS │ sms │ 0 │ 0 │ - │ 0 │" in lines
    # purchase is valued by amount; sign_up has no value property.
    assert "│ March newsletter │ 1 (25.0%) │ 1 │ 15,000 │ 2 (50.0%) │ 2 │ 65,000 │ 1 │" in lines
    assert "│ March newsletter │ 0 (0.0%) │ 0 │ - │ 1 (25.0%) │ 1 │ - │ 1 │" in lines
    assert "│ Spring sale push │ 4 │ 3 (75.0%) │ - │ 1 (33.3%) │ 1 (100.0%) │" in lines

    # show reads the copy the run published for analysts, and names it.
    unknown = _invoke("show", "--database", str(settings.database), "--report", "weekly")
    assert _single_error_line(unknown) == (
        f"{published_path(settings.database)}: no report named 'weekly'; reports there: main, short"
    )


def test_bad_config_exits_with_the_config_error(settings: RunSettings, tmp_path: Path) -> None:
    config = tmp_path / "reports.yml"
    config.write_text(
        settings.config.read_text(encoding="utf-8").replace('op: ">"', 'op: "=>"'),
        encoding="utf-8",
    )
    bad = RunSettings(database=settings.database, landing=settings.landing, config=config)

    result = _invoke(*_run_args(bad))

    assert _single_error_line(result) == (
        f"{config}: reports[0].goals[0].where[0].op: expected one of =, !=, >, >=, <, <=, in, "
        "got '=>'; reports[1].goals[0].where[0].op: expected one of =, !=, >, >=, <, <=, in, "
        "got '=>'"
    )
    assert not settings.database.exists()


def test_missing_landing_folder_exits_non_zero(settings: RunSettings, tmp_path: Path) -> None:
    absent = RunSettings(
        database=settings.database, landing=tmp_path / "nowhere", config=settings.config
    )
    assert _single_error_line(_invoke(*_run_args(absent))) == (
        f"{tmp_path / 'nowhere'}: landing folder not found"
    )


def test_missing_table_folder_is_named(settings: RunSettings) -> None:
    shutil.rmtree(settings.landing / "product_events")
    assert _single_error_line(_invoke(*_run_args(settings))) == (
        f"{settings.landing / 'product_events'}: folder not found; the landing folder needs a "
        "product_events/ sub-folder with CSV, Parquet or JSON-lines files"
    )


def test_missing_required_column_names_file_and_column(settings: RunSettings) -> None:
    events = settings.landing / "message_events" / "push_and_email.csv"
    lines = events.read_text(encoding="utf-8").splitlines()
    # Drop occurred_at, the eighth column, from the header and every row.
    without = [",".join(line.split(",")[:7] + line.split(",")[8:]) for line in lines]
    events.write_text("\n".join(without) + "\n", encoding="utf-8")

    assert _single_error_line(_invoke(*_run_args(settings))) == (
        f"{events}: missing required column occurred_at (a message_events file needs "
        "event_id, campaign_id, message_id, event_type, occurred_at)"
    )


def test_failed_dbt_build_fails_the_run(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows that break the contract no longer fail the build: they are quarantined and the
    # run goes on (tests/test_quarantine.py). A setting dbt refuses still fails it.
    monkeypatch.setattr(
        dbt_assets, "BUILD_ARGS", [*dbt_assets.BUILD_ARGS, "--vars", "{future_tolerance_hours: -1}"]
    )

    reason = _single_error_line(_invoke(*_run_args(settings)))

    assert reason.startswith(
        "dbt build failed: Encountered an error: Compilation Error in model "
        "base_message_events (models/staging/base/base_message_events.sql) "
        "future_tolerance_hours (a var in dbt_project/dbt_project.yml): expected a whole "
        "number of hours, 0 or more, got -1 > in macro future_timestamp_limit "
        "(macros/quarantine_rules.sql) > called by model base_message_events "
        "(models/staging/base/base_message_events.sql) (dbt log: "
    )


def test_show_without_a_database_says_to_build_it(tmp_path: Path) -> None:
    database = tmp_path / "absent.duckdb"
    assert _single_error_line(_invoke("show", "--database", str(database))) == (
        f"{database}: database not found; build it first with `campaign-report run`"
    )


@pytest.fixture
def asked_days(monkeypatch: pytest.MonkeyPatch) -> list[DayRange | None]:
    """The days each `run` hands to the pipeline, which is not run."""
    asked: list[DayRange | None] = []

    def record(settings: RunSettings, days: DayRange | None = None, **options: str) -> RunSummary:
        asked.append(days)
        return RunSummary()

    monkeypatch.setattr(pipeline, "run_pipeline", record)
    monkeypatch.delenv(SCHEDULE_TIMEZONE_ENV, raising=False)
    return asked


@pytest.mark.parametrize(
    ("options", "days"),
    [
        ((), None),
        (("--day", "2026-11-02"), DayRange(date(2026, 11, 2), date(2026, 11, 3), "Asia/Seoul")),
        # --to is the last day built; the range's end is the day after it.
        (
            ("--from", "2026-11-02", "--to", "2026-11-04"),
            DayRange(date(2026, 11, 2), date(2026, 11, 5), "Asia/Seoul"),
        ),
        (
            ("--from", "2026-11-02", "--to", "2026-11-02"),
            DayRange(date(2026, 11, 2), date(2026, 11, 3), "Asia/Seoul"),
        ),
    ],
)
def test_run_builds_everything_by_default_or_the_days_asked(
    settings: RunSettings,
    asked_days: list[DayRange | None],
    options: tuple[str, ...],
    days: DayRange | None,
) -> None:
    result = _invoke(*_run_args(settings), *options)
    assert result.exit_code == 0, result.output
    assert asked_days == [days]
    if days is None:
        assert "Full refresh: every landing file loaded, every model rebuilt." in result.stdout
    else:
        assert f"({days.timezone}): message_events and product_events loaded" in result.stdout


def test_days_are_days_of_the_reporting_time_zone(
    settings: RunSettings, asked_days: list[DayRange | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCHEDULE_TIMEZONE_ENV, "Europe/Berlin")
    assert _invoke(*_run_args(settings), "--day", "2026-11-02").exit_code == 0
    assert asked_days == [DayRange(date(2026, 11, 2), date(2026, 11, 3), "Europe/Berlin")]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (("--day", "2026-11-31"), "--day 2026-11-31: expected a day as YYYY-MM-DD"),
        (("--day", "20261102"), "--day 20261102: expected a day as YYYY-MM-DD"),
        (
            ("--from", "2026-11-02", "--to", "2026-11-4"),
            "--to 2026-11-4: expected a day as YYYY-MM-DD",
        ),
        (
            ("--day", "2026-11-02", "--from", "2026-11-02", "--to", "2026-11-03"),
            "--day builds one day: give it alone, or --from and --to for a range",
        ),
        (
            ("--day", "2026-11-02", "--to", "2026-11-03"),
            "--day builds one day: give it alone, or --from and --to for a range",
        ),
        (("--from", "2026-11-02"), "--from needs --to: a range names its first and last day"),
        (("--to", "2026-11-02"), "--to needs --from: a range names its first and last day"),
        (
            ("--from", "2026-11-04", "--to", "2026-11-02"),
            "--to 2026-11-02 is before --from 2026-11-04",
        ),
    ],
)
def test_bad_days_are_refused_before_the_pipeline_starts(
    settings: RunSettings,
    asked_days: list[DayRange | None],
    options: tuple[str, ...],
    reason: str,
) -> None:
    assert _single_error_line(_invoke(*_run_args(settings), *options)) == reason
    assert asked_days == []


def test_days_the_partitions_do_not_have_are_refused(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FIRST_DAY_ENV, raising=False)
    monkeypatch.delenv(SCHEDULE_TIMEZONE_ENV, raising=False)
    before = _invoke(*_run_args(settings), "--from", "2026-10-30", "--to", "2026-11-02")
    assert _single_error_line(before) == (
        "2026-10-30: before the first day of the daily partitions, 2026-11-01 "
        "(set CAMPAIGN_REPORT_FIRST_DAY to start them earlier)"
    )
    # A day far ahead has certainly not ended; the latest day to build moves with the clock.
    ahead = _single_error_line(_invoke(*_run_args(settings), "--day", "2999-01-01"))
    assert ahead.startswith(
        "2999-01-01: that day has not ended yet in Asia/Seoul; the latest day to build is "
    )
    monkeypatch.setenv(FIRST_DAY_ENV, "Nov 1")
    assert _single_error_line(_invoke(*_run_args(settings), "--day", "2026-11-02")) == (
        "CAMPAIGN_REPORT_FIRST_DAY: expected the first day of data as YYYY-MM-DD, got 'Nov 1'"
    )
    assert not settings.database.exists()


def test_daily_runs_are_refused_on_postgres_before_connecting(settings: RunSettings) -> None:
    # No server is needed: the refusal comes before the pipeline looks for one.
    reason = _single_error_line(
        _invoke(*_run_args(settings), "--target", "postgres", "--day", "2026-11-02")
    )
    assert reason == "daily partitions run on DuckDB only; use a full run"


def test_a_bad_reporting_time_zone_is_named(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCHEDULE_TIMEZONE_ENV, "Seoul")
    assert _single_error_line(_invoke(*_run_args(settings), "--day", "2026-11-02")) == (
        "CAMPAIGN_REPORT_SCHEDULE_TIMEZONE: expected an IANA time zone name such as "
        "Asia/Seoul or UTC, got 'Seoul'"
    )


def test_run_names_the_folders_that_look_like_days_but_are_not(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def summary(settings: RunSettings, days: DayRange | None = None, **options: str):
        return RunSummary(misnamed_day_folders=["message_events/2026-11-3"])

    monkeypatch.setattr(pipeline, "run_pipeline", summary)
    result = _invoke(*_run_args(settings), "--day", "2026-11-03")

    assert result.exit_code == 0, result.output
    assert (
        "Folders that look like days but are not named YYYY-MM-DD (or are not real dates), "
        "so no daily run loads them, only full builds: message_events/2026-11-3."
    ) in " ".join(result.stdout.split())


def test_a_day_run_with_a_config_of_another_time_zone_stops_before_loading(
    settings: RunSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCHEDULE_TIMEZONE_ENV, raising=False)  # days of Asia/Seoul
    config = tmp_path / "utc.yml"
    text = settings.config.read_text(encoding="utf-8")
    assert "timezone: Asia/Seoul\n" in text
    config.write_text(text.replace("timezone: Asia/Seoul\n", "timezone: UTC\n"), "utf-8")
    args = _run_args(settings)
    args[args.index("--config") + 1] = str(config)

    assert _single_error_line(_invoke(*args, "--day", "2026-11-02")) == (
        f"{config}: timezone 'UTC' differs from CAMPAIGN_REPORT_SCHEDULE_TIMEZONE "
        "'Asia/Seoul', the zone of the daily partitions; a daily run needs the two to "
        "agree: set CAMPAIGN_REPORT_SCHEDULE_TIMEZONE=UTC (a full build runs either way)"
    )
    assert not settings.database.exists()
