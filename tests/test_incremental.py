"""Daily partitioned runs end where a full build does, in any order, again and after a kill.

Twelve days of sample data (Asia/Seoul, the reporting zone) are sorted into one landing
folder per day of delivery, the generator's late rows two days after they happened.
Three stories are planted on top, each worked out by hand below:

- A: push message mA to person p-late is sent and clicked on 11-04 at 10:00 and 10:05
  KST; the purchase o-late at 12:00 the same day is delivered on 11-06, two days late.
  It is a direct conversion of campaign c-planted (clicked, then bought 1h55m later,
  inside the 72-hour window) once 11-06 has run.
- B: message mB is sent on 11-05 at 09:00 and clicked at 09:10 (delivered on 11-05); its
  open at 09:05 is delivered on 11-06, after the click. The receipt's first open is
  09:05 KST, 00:05 UTC.
- C: message mC is sent on 11-07 at 23:30 KST; the purchase o-next at 00:30 on 11-08,
  without a click, is an indirect conversion of c-planted (push's indirect window is 24
  hours) although the message was sent the day before the partition that builds it.

Each build is the real loader and the real dbt CLI on a DuckDB file of its own, with the
vars a Dagster partition passes (orchestration/partitions.py). The Dagster wiring of the
same vars is tested in tests/test_run_scope.py and tests/test_definitions.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.assets import write_report_tables
from orchestration.landing import CONTRACTS, load_table
from orchestration.partitions import DEFAULT_LATE_ALLOWANCE_HOURS, PARTITIONED_TABLES, DayRange
from orchestration.paths import DBT_PROJECT_DIR, DEFAULT_CONFIG, PROFILES_DIR, dbt_executable
from orchestration.report_config import load_config
from orchestration.sample_data import deliver_by_day, generate_sample_data
from orchestration.settings import DATABASE_ENV

TIMEZONE = "Asia/Seoul"
FIRST_DAY = date(2026, 11, 1)
DAYS = 12
# Every relation the partitioned models write, and every mart built from them.
COMPARED_SCHEMAS = ("staging", "intermediate", "marts", "quarantine")
# What the last run found to redo rather than a result: the messages that run derived
# again and the persons of those reaching outside its span. A full build, which redoes
# everything, has none.
RUN_STATE_TABLES = ("intermediate.int_judged_messages", "intermediate.int_rederived_persons")

PLANTED_CAMPAIGNS = "campaign_id,campaign_name,channel,message_type,created_at\n" + (
    "c-planted,Planted push,push,,2026-11-01T00:00:00+09:00\n"
)
MESSAGE_HEADER = "event_id,campaign_id,message_id,user_id,channel,event_type,occurred_at\n"
PLANTED_MESSAGES = {
    "2026-11-04": [
        "pa1,c-planted,mA,p-late,push,send,2026-11-04T10:00:00+09:00",
        "pa2,c-planted,mA,p-late,push,click,2026-11-04T10:05:00+09:00",
    ],
    "2026-11-05": [
        "pb1,c-planted,mB,p-open,push,send,2026-11-05T09:00:00+09:00",
        "pb2,c-planted,mB,p-open,push,click,2026-11-05T09:10:00+09:00",
    ],
    "2026-11-06": ["pb3,c-planted,mB,p-open,push,open,2026-11-05T09:05:00+09:00"],
    "2026-11-07": ["pc1,c-planted,mC,p-next,push,send,2026-11-07T23:30:00+09:00"],
}
PRODUCT_HEADER = "event_id,event_key,user_id,occurred_at,properties\n"
PLANTED_PRODUCTS = {
    "2026-11-06": [
        'qa1,purchase,p-late,2026-11-04T12:00:00+09:00,"{""order_id"": ""o-late"", '
        '""amount"": 5000}"'
    ],
    "2026-11-08": [
        'qc1,purchase,p-next,2026-11-08T00:30:00+09:00,"{""order_id"": ""o-next"", '
        '""amount"": 7000}"'
    ],
}


def _plant(landing: Path) -> None:
    (landing / "campaigns" / "planted.csv").write_text(PLANTED_CAMPAIGNS)
    for table, header, rows_by_day in (
        ("message_events", MESSAGE_HEADER, PLANTED_MESSAGES),
        ("product_events", PRODUCT_HEADER, PLANTED_PRODUCTS),
    ):
        for day, rows in rows_by_day.items():
            folder = landing / table / day
            folder.mkdir(exist_ok=True)
            (folder / "planted.csv").write_text(header + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("incremental") / "landing"
    generate_sample_data(root, persons=300, start=FIRST_DAY, days=DAYS - 2)
    deliver_by_day(root, TIMEZONE)
    _plant(root)
    return root


def _day(n: int) -> DayRange:
    return DayRange.day(FIRST_DAY + timedelta(days=n), TIMEZONE)


@dataclass(frozen=True)
class Warehouse:
    path: Path
    landing: Path
    config: Path = DEFAULT_CONFIG

    def build(self, days: DayRange | None) -> None:
        """Load, then dbt build without tests: all of the landing folder, or a day range."""
        with duckdb.connect(str(self.path)) as con:
            for contract in CONTRACTS.values():
                partitioned = days is not None and contract.name in PARTITIONED_TABLES
                load_table(con, self.landing, contract, days if partitioned else None)
            write_report_tables(con, load_config(self.config))
        done = subprocess.run(self._dbt_run(days), env=self._env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:]

    def _dbt_run(self, days: DayRange | None) -> list[str]:
        # The seed and the models; the data tests run in the other test modules.
        command = [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR)]
        command += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
        # Its own target folder: the project's holds the manifest other tests read.
        command += ["--target-path", str(self.path.parent / "dbt_target")]
        command += ["--profiles-dir", str(PROFILES_DIR)]
        if days is None:
            return [*command, "--full-refresh"]
        return [*command, "--vars", json.dumps(days.dbt_vars(DEFAULT_LATE_ALLOWANCE_HOURS))]

    def _env(self) -> dict[str, str]:
        return {**os.environ, DATABASE_ENV: str(self.path)}

    def relations(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table the builds wrote, its rows sorted, for comparing two warehouses."""
        found = {}
        with duckdb.connect(str(self.path), read_only=True) as con:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() "
                f"where schema_name in {COMPARED_SCHEMAS} order by all"
            ).fetchall()
            for schema, table in tables:
                if f"{schema}.{table}" in RUN_STATE_TABLES:
                    continue
                rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
                found[f"{schema}.{table}"] = sorted(rows, key=repr)
        return found


def _differences(left: Warehouse, right: Warehouse) -> list[str]:
    ours, theirs = left.relations(), right.relations()
    assert set(ours) == set(theirs)
    return [
        f"{relation}: {len(ours[relation])} rows against {len(theirs[relation])}, "
        f"first difference {next(iter(set(ours[relation]) ^ set(theirs[relation])), None)!r}"
        for relation in sorted(ours)
        if ours[relation] != theirs[relation]
    ]


@pytest.fixture(scope="module")
def full(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(tmp_path_factory.mktemp("full") / "w.duckdb", landing)
    warehouse.build(None)
    return warehouse


@pytest.fixture(scope="module")
def daily(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(tmp_path_factory.mktemp("daily") / "w.duckdb", landing)
    for n in range(DAYS):
        warehouse.build(_day(n))
    return warehouse


def test_the_landing_folder_has_a_folder_per_day_of_delivery(landing: Path) -> None:
    delivered = sorted(path.name for path in (landing / "message_events").iterdir())
    assert delivered[0] == "2026-11-01"
    # The generator's last day is 11-10; late rows arrive after it.
    assert "2026-11-10" < delivered[-1] <= "2026-11-12"
    assert not any((landing / "message_events").glob("*.csv"))


def test_day_by_day_equals_a_full_build(full: Warehouse, daily: Warehouse) -> None:
    assert _differences(daily, full) == []


def test_the_planted_stories_are_credited(daily: Warehouse) -> None:
    with duckdb.connect(str(daily.path), read_only=True) as con:
        credited = con.execute(
            "select message_id, attribution_type from marts.fct_attributed_conversions "
            "where report = 'default' and goal = 'purchase' and campaign_id = 'c-planted' "
            "order by message_id, attribution_type"
        ).fetchall()
        (opened,) = con.execute(
            "select first_opened_at from intermediate.int_message_receipts where message_id = 'mB'"
        ).fetchone()
    # A: the late purchase, clicked first, is direct; C: the next day's, indirect only.
    assert credited == [("mA", "direct"), ("mA", "indirect"), ("mC", "indirect")]
    assert str(opened) == "2026-11-05 00:05:00"


def test_days_built_out_of_order_equal_a_full_build(
    full: Warehouse, landing: Path, tmp_path: Path
) -> None:
    warehouse = Warehouse(tmp_path / "w.duckdb", landing)
    # Days 1-2 and 4-6 as two backfills, then day 3 after day 6, then the rest.
    for days in (
        DayRange(FIRST_DAY, FIRST_DAY + timedelta(days=2), TIMEZONE),
        DayRange(FIRST_DAY + timedelta(days=3), FIRST_DAY + timedelta(days=6), TIMEZONE),
        _day(2),
        DayRange(FIRST_DAY + timedelta(days=6), FIRST_DAY + timedelta(days=DAYS), TIMEZONE),
    ):
        warehouse.build(days)
    assert _differences(warehouse, full) == []


def test_a_day_run_again_changes_nothing(daily: Warehouse, tmp_path: Path) -> None:
    again = Warehouse(tmp_path / "w.duckdb", daily.landing)
    shutil.copy(daily.path, again.path)
    again.build(_day(5))
    assert _differences(again, daily) == []


def test_a_run_killed_half_way_then_run_again_equals_one_clean_run(
    daily: Warehouse, tmp_path: Path
) -> None:
    again = Warehouse(tmp_path / "w.duckdb", daily.landing)
    shutil.copy(daily.path, again.path)
    day = _day(7)
    with duckdb.connect(str(again.path)) as con:
        for table in PARTITIONED_TABLES:
            load_table(con, again.landing, CONTRACTS[table], day)
    run = subprocess.Popen(
        again._dbt_run(day),
        env=again._env(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert run.stdout is not None
    # Killed once the first partitioned model has been rewritten and the rest have not.
    for line in run.stdout:
        if "base_message_events" in line and " OK " in line:
            os.killpg(run.pid, signal.SIGKILL)
            break
    run.wait(timeout=300)
    assert run.returncode == -signal.SIGKILL
    again.build(day)
    assert _differences(again, daily) == []


def _dbt_test(
    warehouse: Warehouse, days: DayRange | None, select: str
) -> subprocess.CompletedProcess[str]:
    """The data tests `select` picks, as a day run or a full build runs them."""
    command = [dbt_executable(), "test", "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--select", select]
    command += ["--target-path", str(warehouse.path.parent / "dbt_target")]
    command += ["--profiles-dir", str(PROFILES_DIR)]
    if days is not None:
        command += ["--vars", json.dumps(days.dbt_vars(DEFAULT_LATE_ALLOWANCE_HOURS))]
    return subprocess.run(command, env=warehouse._env(), capture_output=True, text=True)


def test_a_day_run_tests_only_the_rows_it_wrote(daily: Warehouse, tmp_path: Path) -> None:
    """Bad rows of 11-03 fail that day's tests and a full build's, not those of 11-12.

    One is a message event delivered on 11-03, the other the shared credit of a
    conversion on 11-03. Day 11 (11-12) delivers other rows, and re-derives the
    conversions from 11-07 00:00 KST on (its start less the 72-hour window and the
    48-hour allowance), so its tests read neither. One dbt call per case covers both
    tables: each call parses the project again.
    """
    broken = Warehouse(tmp_path / "w.duckdb", daily.landing)
    shutil.copy(daily.path, broken.path)
    with duckdb.connect(str(broken.path)) as con:
        con.execute(
            "update staging.base_message_events set row_status = 'not_a_status' "
            "where _source_row = (select min(_source_row) from staging.base_message_events "
            "where _landing_date = ?) and _landing_date = ?",
            [_day(2).start, _day(2).start],
        )
        changed = con.execute(
            "with one as (select report, goal, conversion_id from marts.fct_conversion_credit "
            "where converted_at >= '2026-11-02 15:00' and converted_at < '2026-11-03 15:00' "
            "order by all limit 1) "
            "update marts.fct_conversion_credit as credit set credit = credit.credit + 1 "
            "from one where credit.report = one.report and credit.goal = one.goal "
            "and credit.conversion_id = one.conversion_id and credit.credit_model = 'linear' "
            "returning credit.touch_number"
        ).fetchall()
    # Its linear credit, on every touch, now sums to more than 1.
    assert changed
    select = "base_message_events,test_name:accepted_values fct_conversion_credit,test_name:sums_to"
    assert _dbt_test(broken, _day(11), select).returncode == 0
    for days in (_day(2), None):
        done = _dbt_test(broken, days, select)
        assert done.returncode == 1, done.stdout[-2000:]
        assert "accepted_values_base_message_events_row_status" in done.stdout
        assert "sums_to_fct_conversion_credit_credit" in done.stdout


def _receipts(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """int_message_receipts keyed by message_id, each row as a dict of its columns."""
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        cursor = con.execute("select * from intermediate.int_message_receipts")
        columns = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def test_a_day_run_follows_a_campaign_that_went_came_back_and_changed_channel(
    full: Warehouse, daily: Warehouse, tmp_path: Path
) -> None:
    """A day run derives again the receipts of a campaign whose row changed, on any day.

    c-planted's messages mA, mB and mC were delivered on 11-04 to 11-07; day 11 (11-12)
    delivers none of them. Its campaigns row is the only thing that changes.
    """
    landing = Path(shutil.copytree(daily.landing, tmp_path / "landing"))
    warehouse = Warehouse(tmp_path / "w.duckdb", landing)
    shutil.copy(daily.path, warehouse.path)
    expected = _receipts(full)
    planted = {message for message, row in expected.items() if row["campaign_id"] == "c-planted"}
    assert planted == {"mA", "mB", "mC"}
    campaigns = landing / "campaigns" / "planted.csv"

    # Gone: its events are quarantined as unknown_campaign, so its messages have no receipt.
    campaigns.unlink()
    warehouse.build(_day(11))
    assert _receipts(warehouse) == {m: r for m, r in expected.items() if m not in planted}

    # Back: its messages are received again, as in the full build.
    campaigns.write_text(PLANTED_CAMPAIGNS)
    warehouse.build(_day(11))
    assert _receipts(warehouse) == expected

    # Moved to e-mail: the campaign's channel, and so open tracking, change on all three.
    campaigns.write_text(PLANTED_CAMPAIGNS.replace(",push,", ",email,"))
    warehouse.build(_day(11))
    moved = {
        message: row | {"campaign_channel": "email", "tracks_opens": True}
        if message in planted
        else row
        for message, row in expected.items()
    }
    assert _receipts(warehouse) == moved


LONG_LOOKBACK_CONFIG = """\
timezone: Asia/Seoul
reports:
  - name: long_lookback
    window: 72h
    credit: independent
    lookback: 7d
    goals:
      - name: purchase
        event_key: purchase
        value: amount
"""


def _planted_landing(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A landing folder of c-planted and the given (table, day, CSV row) rows only."""
    landing = tmp_path / "landing"
    (landing / "campaigns").mkdir(parents=True)
    (landing / "campaigns" / "planted.csv").write_text(PLANTED_CAMPAIGNS)
    for table, day, row in rows:
        header = MESSAGE_HEADER if table == "message_events" else PRODUCT_HEADER
        planted = landing / table / day / "planted.csv"
        if not planted.exists():
            planted.parent.mkdir(parents=True, exist_ok=True)
            planted.write_text(header)
        with planted.open("a") as csv:
            csv.write(row + "\n")
    return landing


def _full_and_days(
    tmp_path: Path, landing: Path, runs: list[tuple[date, date]]
) -> tuple[Warehouse, Warehouse]:
    """A full build of `landing` under LONG_LOOKBACK_CONFIG, and one built by `runs`."""
    config = tmp_path / "reports.yml"
    config.write_text(LONG_LOOKBACK_CONFIG)
    full = Warehouse(tmp_path / "full" / "w.duckdb", landing, config)
    full.path.parent.mkdir()
    full.build(None)
    daily = Warehouse(tmp_path / "daily" / "w.duckdb", landing, config)
    daily.path.parent.mkdir()
    for start, end in runs:
        daily.build(DayRange(start, end, TIMEZONE))
    return full, daily


def test_a_backfill_reaches_conversions_as_far_as_the_longest_lookback(tmp_path: Path) -> None:
    """A backfilled send earns shared credit for a conversion past every window after it.

    mL is sent on 11-03 at 10:00 KST and delivered that day; the purchase o-long, on
    11-08 at 10:00 KST, is five days later: outside the 72-hour window, so never
    attributed, but inside the 7-day lookback, so mL is its only touch. Days 11-04 to
    11-09 are built first, then 11-03 as a backfill. Its attribution scope must reach
    11-08, which the 72-hour window alone (to 11-07 00:00 KST) does not.
    """
    landing = _planted_landing(
        tmp_path,
        [
            (
                "message_events",
                "2026-11-03",
                "pl1,c-planted,mL,p-long,push,send,2026-11-03T10:00:00+09:00",
            ),
            (
                "product_events",
                "2026-11-08",
                'ql1,purchase,p-long,2026-11-08T10:00:00+09:00,"{""amount"": 9000}"',
            ),
        ],
    )
    full, backfilled = _full_and_days(
        tmp_path,
        landing,
        [(date(2026, 11, 4), date(2026, 11, 10)), (date(2026, 11, 3), date(2026, 11, 4))],
    )

    with duckdb.connect(str(backfilled.path), read_only=True) as con:
        credit = con.execute(
            "select credit_model, message_id, credit from marts.fct_conversion_credit "
            "where conversion_id = 'ql1' order by credit_model"
        ).fetchall()
        (attributed,) = con.execute(
            "select count(*) from marts.fct_attributed_conversions"
        ).fetchone()
    # One touch: every credit model gives it the whole conversion.
    assert credit == [
        (model, "mL", 1)
        for model in ("first_touch", "last_touch", "linear", "position_based", "time_decay")
    ]
    assert attributed == 0
    assert _differences(backfilled, full) == []


# Push message mX to p-x: its send on 11-01, and a later event of it on 11-12.
MX_SEND = "x1,c-planted,mX,p-x,push,send,2026-11-01T10:00:00+09:00"
MX_LATE = "x2,c-planted,mX,p-x,push,{},2026-11-12T10:00:00+09:00"


# Push message mY to p-y, sent and delivered within the day its run builds: its
# receipt cannot move past that run's span.
MY_EVENTS = (
    "y-send,c-planted,mY,p-y,push,send,{day}T10:00:00+09:00",
    "y-deliver,c-planted,mY,p-y,push,deliver,{day}T10:05:00+09:00",
)


def _rederived_persons(warehouse: Warehouse) -> list[str]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        rows = con.execute(
            "select person_id from intermediate.int_rederived_persons order by 1"
        ).fetchall()
    return [person for (person,) in rows]


def purchase(at: str) -> str:
    """p-x's purchase y1 at a KST time, as a product_events CSV row."""
    return f'y1,purchase,p-x,{at}:00+09:00,"{{""amount"": 9000}}"'


def _touches_of(warehouse: Warehouse, conversion_id: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        return con.execute(
            "select message_id, received_at from intermediate.int_conversion_touches "
            "where conversion_id = ?",
            [conversion_id],
        ).fetchall()


@pytest.mark.parametrize(
    ("rows", "runs"),
    [
        # In order: the push is sent on 11-01 and bought from two hours later; its
        # delivery is logged on 11-12. The delivery outranks the send, so the receipt
        # moves to 11-12, after the purchase: no pair, no touch. The 11-12 run's span
        # starts on 11-03 and does not reach the purchase.
        (
            [
                ("message_events", "2026-11-01", MX_SEND),
                ("product_events", "2026-11-01", purchase("2026-11-01T12:00")),
                ("message_events", "2026-11-12", MX_LATE.format("deliver")),
                *(("message_events", "2026-11-12", e.format(day="2026-11-12")) for e in MY_EVENTS),
            ],
            [
                (date(2026, 11, 1), date(2026, 11, 2)),
                (date(2026, 11, 2), date(2026, 11, 12)),
                (date(2026, 11, 12), date(2026, 11, 13)),
            ],
        ),
        # Out of order: the click on 11-12 and the purchase an hour later are built
        # first, then the send of 11-01 as a backfill. The send becomes the receipt,
        # and eleven days before the purchase it is past the 7-day lookback: no
        # touch. The backfill's span ends on 11-09.
        (
            [
                ("message_events", "2026-11-01", MX_SEND),
                ("message_events", "2026-11-12", MX_LATE.format("click")),
                ("product_events", "2026-11-12", purchase("2026-11-12T11:00")),
                *(("message_events", "2026-11-01", e.format(day="2026-11-01")) for e in MY_EVENTS),
            ],
            [(date(2026, 11, 2), date(2026, 11, 13)), (date(2026, 11, 1), date(2026, 11, 2))],
        ),
    ],
    ids=["delivery_logged_late_in_order", "send_backfilled_after_its_click"],
)
def test_a_receipt_that_moves_past_the_span_is_followed(
    tmp_path: Path, rows: list[tuple[str, str, str]], runs: list[tuple[date, date]]
) -> None:
    """A day that moves a message's receipt redoes its person's conversions, wherever."""
    full, daily = _full_and_days(tmp_path, _planted_landing(tmp_path, rows), runs)
    assert _touches_of(full, "y1") == []
    assert _differences(daily, full) == []
    # The last run derived mX and mY again. mX's events lie eleven days apart, past
    # its span; mY's both lie in the run's own day, so p-y's conversions, if it had
    # any, would all be inside the span.
    assert _rederived_persons(daily) == ["p-x"]
