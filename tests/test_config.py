"""The report config: its errors name the key to fix, and its tables land in raw as typed."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.assets import report_config_tables, write_report_tables
from orchestration.report_config import ConfigError, load_config, parse_config
from orchestration.resources import ReportConfigResource, WarehouseResource
from orchestration.settings import SCHEDULE_TIMEZONE_ENV

VALID: dict[str, Any] = {
    "timezone": "Asia/Seoul",
    "reports": [
        {
            "name": "main",
            "window": "72h",
            "goals": [
                {
                    "name": "purchase",
                    "event_key": "purchase",
                    "value": "amount",
                    "dedupe": "order_id",
                    "where": [
                        {"property": "amount", "op": ">", "value": 0},
                        {"property": "currency", "op": "in", "value": ["KRW", "USD"]},
                    ],
                },
                {"name": "sign_up", "event_key": "sign_up"},
            ],
        },
        {"name": "weekly", "window": "7d", "goals": [{"name": "sign_up", "event_key": "sign_up"}]},
    ],
}


def _config_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "reports.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _error(tmp_path: Path, change) -> str:
    data = copy.deepcopy(VALID)
    change(data)
    path = _config_file(tmp_path, data)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    prefix = f"{path}: "
    assert message.startswith(prefix)
    return message.removeprefix(prefix)


def test_bad_window_names_its_key(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["window"] = "3 weeks"

    assert _error(tmp_path, change) == (
        "reports[0].window: expected a whole number of hours or days such as 72h or 14d, "
        "got '3 weeks'"
    )


def test_zero_window_is_refused(tmp_path: Path) -> None:
    def change(data):
        data["reports"][1]["window"] = "0d"

    assert _error(tmp_path, change) == (
        "reports[1].window: a window must be longer than zero, got '0d'"
    )


def test_unknown_op_names_its_key_and_the_allowed_ops(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["goals"][0]["where"][0]["op"] = "=="

    assert _error(tmp_path, change) == (
        "reports[0].goals[0].where[0].op: expected one of =, !=, >, >=, <, <=, in, got '=='"
    )


def test_unknown_key_is_named(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["goals"][1]["valu"] = "amount"

    assert _error(tmp_path, change) == (
        "reports[0].goals[1].valu: unknown key; check its spelling against the README"
    )


def test_bad_timezone_is_named(tmp_path: Path) -> None:
    def change(data):
        data["timezone"] = "Asia/Tokio"

    assert _error(tmp_path, change) == (
        "timezone: expected an IANA time zone name such as Asia/Seoul or UTC, got 'Asia/Tokio'"
    )


def test_duplicate_goal_is_named(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["goals"][1]["name"] = "purchase"

    assert _error(tmp_path, change) == (
        "reports[0].goals: goal names must be unique within a report, repeated: ['purchase']"
    )


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "absent.yml")
    assert str(raised.value) == f"{tmp_path / 'absent.yml'}: config file not found"


def test_config_tables_are_written_with_their_types(tmp_path: Path) -> None:
    config = parse_config(VALID)
    with duckdb.connect(str(tmp_path / "config.duckdb")) as con:
        counts = write_report_tables(con, config)

        assert counts == {
            "report_definitions": 2,
            # One row per report and channel: 2 reports x 5 channels.
            "report_channel_windows": 10,
            "report_target_channels": 0,
            "report_goals": 3,
            # amount > 0 is one row; currency in [KRW, USD] is two rows sharing index 1.
            "report_goal_conditions": 3,
            "report_goal_steps": 0,
        }
        assert con.execute(
            "select report, timezone, window_hours from raw.report_definitions order by report"
        ).fetchall() == [("main", "Asia/Seoul", 72), ("weekly", "Asia/Seoul", 168)]
        assert con.execute("select * from raw.report_goals order by report, goal").fetchall() == [
            ("main", "purchase", "purchase", "amount", "order_id"),
            ("main", "sign_up", "sign_up", None, None),
            ("weekly", "sign_up", "sign_up", None, None),
        ]
        assert con.execute(
            "select * from raw.report_goal_conditions order by condition_index, value_text"
        ).fetchall() == [
            ("main", "purchase", 0, "amount", ">", "0", 0.0),
            ("main", "purchase", 1, "currency", "=", "KRW", None),
            ("main", "purchase", 1, "currency", "=", "USD", None),
        ]
        types = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and data_type <> 'VARCHAR' order by all"
        ).fetchall()
        assert types == [
            ("report_channel_windows", "direct_window_hours", "INTEGER"),
            ("report_channel_windows", "indirect_window_hours", "INTEGER"),
            ("report_definitions", "half_life_hours", "INTEGER"),
            ("report_definitions", "lookback_hours", "INTEGER"),
            ("report_definitions", "sent_from_date", "DATE"),
            ("report_definitions", "sent_to_date", "DATE"),
            ("report_definitions", "window_hours", "INTEGER"),
            ("report_goal_conditions", "condition_index", "INTEGER"),
            ("report_goal_conditions", "value_number", "DOUBLE"),
            ("report_goal_steps", "step_number", "INTEGER"),
        ]
        hashes = con.execute("select definition_hash from raw.report_definitions").fetchall()
        assert len({value for (value,) in hashes}) == 2
        assert all(len(value) == 12 for (value,) in hashes)


def test_config_asset_replaces_previous_content(tmp_path: Path) -> None:
    database = tmp_path / "config.duckdb"
    path = _config_file(tmp_path, VALID)
    resources = {
        "warehouse": WarehouseResource(database=str(database)),
        "report_config": ReportConfigResource(file=str(path)),
    }
    assert dg.materialize([report_config_tables], resources=resources).success

    smaller = copy.deepcopy(VALID)
    del smaller["reports"][0]
    _config_file(tmp_path, smaller)
    assert dg.materialize([report_config_tables], resources=resources).success

    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            "select report, window_hours from raw.report_definitions"
        ).fetchall() == [("weekly", 168)]
        assert con.execute("select count(*) from raw.report_goal_conditions").fetchall() == [(0,)]


def test_config_asset_fails_on_a_bad_file_and_keeps_the_tables(tmp_path: Path) -> None:
    database = tmp_path / "config.duckdb"
    path = _config_file(tmp_path, VALID)
    resources = {
        "warehouse": WarehouseResource(database=str(database)),
        "report_config": ReportConfigResource(file=str(path)),
    }
    assert dg.materialize([report_config_tables], resources=resources).success

    path.write_text("timezone: UTC\nreports:\n  - name: Main\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reports\[0\]\.name: expected a lowercase name"):
        dg.materialize([report_config_tables], resources=resources)

    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from raw.report_definitions").fetchall() == [(2,)]


def test_unknown_credit_mode_lists_the_allowed_ones(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["credit"] = "lasttouch"

    assert _error(tmp_path, change) == (
        "reports[0].credit: expected one of independent, last_touch, got 'lasttouch'"
    )


def test_unknown_window_channel_is_named(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["windows"] = {"by_channel": {"fax": {"direct": "24h"}}}

    assert _error(tmp_path, change) == (
        "reports[0].windows.by_channel: unknown channel 'fax'; "
        "expected one of push, kakao, sms, email, in_app"
    )


def test_bad_channel_window_names_its_key(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["windows"] = {"by_channel": {"sms": {"indirect": "soon"}}}

    assert _error(tmp_path, change) == (
        "reports[0].windows.by_channel.sms.indirect: expected a whole number of hours or "
        "days such as 72h or 14d, got 'soon'"
    )


def test_target_dates_must_be_in_order(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["campaigns"] = {"sent_between": ["2026-11-30", "2026-11-01"]}

    assert _error(tmp_path, change) == (
        "reports[0].campaigns.sent_between: the first date must not be after the second, "
        "got 2026-11-30 and 2026-11-01"
    )


def test_target_channel_must_be_known(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["campaigns"] = {"channels": ["push", "pager"]}

    assert _error(tmp_path, change) == (
        "reports[0].campaigns.channels: unknown channel 'pager'; "
        "expected one of push, kakao, sms, email, in_app"
    )


def test_a_goal_has_at_most_five_steps(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["goals"][0]["steps"] = ["a", "b", "c", "d", "e", "f"]

    assert _error(tmp_path, change) == (
        "reports[0].goals[0].steps: List should have at most 5 items after validation, not 6"
    )


def test_the_most_specific_window_wins() -> None:
    data = copy.deepcopy(VALID)
    data["reports"][0]["windows"] = {
        "direct": "48h",
        "indirect": "1d",
        "by_channel": {"SMS": {"direct": "24h", "indirect": "12h"}, "push": {"indirect": "6h"}},
    }
    report = parse_config(data).reports[0]
    # channel override, then type override, then the report's window (72h).
    assert report.channel_window_hours("sms") == (24, 12)
    assert report.channel_window_hours("push") == (48, 6)
    assert report.channel_window_hours("email") == (48, 24)
    assert parse_config(VALID).reports[0].channel_window_hours("kakao") == (72, 72)


def test_report_hash_changes_with_the_criteria() -> None:
    base = parse_config(VALID).reports[0].definition_hash("Asia/Seoul")
    same = parse_config(copy.deepcopy(VALID)).reports[0].definition_hash("Asia/Seoul")
    data = copy.deepcopy(VALID)
    data["reports"][0]["windows"] = {"by_channel": {"sms": {"direct": "24h"}}}
    narrower = parse_config(data).reports[0].definition_hash("Asia/Seoul")
    # The same window written another way is the same criteria.
    data = copy.deepcopy(VALID)
    data["reports"][0]["window"] = "3d"
    rewritten = parse_config(data).reports[0].definition_hash("Asia/Seoul")
    assert base == same == rewritten
    assert narrower != base
    assert parse_config(VALID).reports[0].definition_hash("UTC") != base


def _error_for_text(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "reports.yml"
    path.write_text(text, encoding=encoding)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


ONE_REPORT = """\
timezone: UTC
reports:
  - name: main
    window: 72h
    goals: [{name: purchase, event_key: purchase}]
"""


@pytest.mark.parametrize(
    ("bad_date", "reason"),
    [
        ("2026-13-01", "month value is outside expected range of 1-12"),
        ("2026-02-30", "day value is outside expected range"),
    ],
)
def test_an_impossible_unquoted_date_names_its_key(
    tmp_path: Path, bad_date: str, reason: str
) -> None:
    # Unquoted, YAML itself used to turn these into dates and fail with a
    # Python traceback instead of a line naming the key.
    text = ONE_REPORT + f"    campaigns: {{sent_between: [{bad_date}, 2026-12-01]}}\n"

    message = _error_for_text(tmp_path, text)

    assert message.startswith("reports[0].campaigns.sent_between[0]: ")
    assert reason in message


def test_unquoted_dates_still_read_as_dates(tmp_path: Path) -> None:
    path = tmp_path / "reports.yml"
    path.write_text(ONE_REPORT + "    campaigns: {sent_between: [2026-11-01, 2026-11-30]}\n")

    target = load_config(path).reports[0].campaigns
    assert target.sent_between == (date(2026, 11, 1), date(2026, 11, 30))


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    # Line 5 repeats the window of line 4; the last one used to win unseen.
    text = ONE_REPORT.replace("    window: 72h\n", "    window: 72h\n    window: 1h\n")

    assert _error_for_text(tmp_path, text) == (
        "line 5: key 'window' is given twice in one mapping, where the second would "
        "silently win; keep one"
    )


def test_a_repeated_top_level_key_is_refused(tmp_path: Path) -> None:
    assert _error_for_text(tmp_path, "timezone: Asia/Seoul\n" + ONE_REPORT).startswith(
        "line 2: key 'timezone' is given twice"
    )


def test_a_config_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    # UTF-16 starts with the byte order mark ff fe.
    assert _error_for_text(tmp_path, ONE_REPORT, encoding="utf-16") == (
        "not UTF-8 text (byte 0 is 0xff); save the file as UTF-8"
    )


def test_a_window_longer_than_a_year_and_a_day_is_refused(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["window"] = "367d"

    assert _error(tmp_path, change) == (
        "reports[0].window: a window can be at most 366d (8784h), got '367d'"
    )


def test_the_longest_window_is_accepted(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["reports"][0]["window"] = "8784h"
    assert load_config(_config_file(tmp_path, data)).reports[0].window_hours == 366 * 24


def test_an_empty_channel_list_is_refused(tmp_path: Path) -> None:
    def change(data):
        data["reports"][0]["campaigns"] = {"channels": []}

    assert _error(tmp_path, change).startswith("reports[0].campaigns.channels: ")


@pytest.mark.parametrize(
    ("tags", "succeeds"),
    [
        # A daily run: partitions are days of Asia/Seoul, the config says UTC.
        ({"dagster/partition": "2026-11-02"}, False),
        (
            {
                "dagster/asset_partition_range_start": "2026-11-02",
                "dagster/asset_partition_range_end": "2026-11-03",
            },
            False,
        ),
        # A full build loads every file whatever the zones.
        ({}, True),
    ],
    ids=["one_day", "day_range", "full_build"],
)
def test_a_daily_run_refuses_a_config_of_another_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tags: dict[str, str], succeeds: bool
) -> None:
    monkeypatch.setenv(SCHEDULE_TIMEZONE_ENV, "Asia/Seoul")
    data = copy.deepcopy(VALID)
    data["timezone"] = "UTC"
    path = _config_file(tmp_path, data)
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "config.duckdb")),
        "report_config": ReportConfigResource(file=str(path)),
    }

    result = dg.materialize(
        [report_config_tables], resources=resources, tags=tags, raise_on_error=False
    )

    assert result.success is succeeds
    if not succeeds:
        (failure,) = [event for event in result.all_events if event.is_step_failure]
        assert failure.step_failure_data.user_failure_data.description == (
            f"{path}: timezone 'UTC' differs from CAMPAIGN_REPORT_SCHEDULE_TIMEZONE "
            "'Asia/Seoul', the zone of the daily partitions; a daily run needs the two to "
            "agree: set CAMPAIGN_REPORT_SCHEDULE_TIMEZONE=UTC (a full build runs either way)"
        )
