"""Which days a run covers: the partition tags, the full refresh and the days a run may ask for."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration import assets
from orchestration.dbt_assets import BUILD_ARGS, daily_build_args, whole_build_args
from orchestration.landing import LoadResult
from orchestration.partitions import LATE_ALLOWANCE_ENV, DayRange, daily_partitions
from orchestration.resources import LandingResource, WarehouseResource
from orchestration.run_scope import (
    FULL_REFRESH_TAG,
    DaysError,
    check_days,
    describe_days,
    every_day,
    is_full_refresh,
    range_tags,
    tagged_days,
)

SEOUL = "Asia/Seoul"


def test_one_day_uses_the_partition_tag_and_a_range_names_its_last_day() -> None:
    assert range_tags(DayRange.day(date(2026, 11, 2), SEOUL)) == {"dagster/partition": "2026-11-02"}
    # The range's end is exclusive; Dagster's range tags name the last partition.
    assert range_tags(DayRange(date(2026, 11, 2), date(2026, 11, 5), SEOUL)) == {
        "dagster/asset_partition_range_start": "2026-11-02",
        "dagster/asset_partition_range_end": "2026-11-04",
    }
    assert describe_days(DayRange(date(2026, 11, 2), date(2026, 11, 5), SEOUL)) == (
        "2026-11-02 to 2026-11-04"
    )
    assert describe_days(DayRange.day(date(2026, 11, 2), SEOUL)) == "2026-11-02"


@pytest.mark.parametrize(
    ("tags", "full"),
    [
        ({}, True),
        ({"dagster/partition": "2026-11-02"}, False),
        ({"dagster/asset_partition_range_start": "2026-11-02"}, False),
        ({"dagster/partition": "2026-11-02", FULL_REFRESH_TAG: "true"}, True),
        ({"dagster/partition": "2026-11-02", FULL_REFRESH_TAG: "True"}, True),
        ({"dagster/partition": "2026-11-02", FULL_REFRESH_TAG: "false"}, False),
    ],
)
def test_a_run_is_a_full_refresh_when_tagged_or_without_days(tags: dict, full: bool) -> None:
    assert is_full_refresh(tags) is full


def test_a_full_refresh_is_recorded_against_every_day_so_far() -> None:
    # Built in the past so that the partitions do not depend on today's date: the first
    # day of 2020 to today, of which only the start is checked.
    days = every_day(daily_partitions(SEOUL, "2020-01-01"))
    assert days.start == date(2020, 1, 1)
    assert days.timezone == SEOUL
    with pytest.raises(DaysError) as raised:
        every_day(daily_partitions(SEOUL, "2999-01-01"))
    assert str(raised.value) == (
        "CAMPAIGN_REPORT_FIRST_DAY: the first daily partition, 2999-01-01, has not ended "
        "yet in Asia/Seoul; set it to a day that has"
    )


def test_days_before_the_first_partition_or_not_yet_over_are_refused() -> None:
    first = date(2026, 11, 1)
    # 2026-11-05 23:30 UTC is 08:30 on the 6th in Seoul: the 5th has ended there.
    now = datetime(2026, 11, 5, 23, 30, tzinfo=UTC)
    check_days(DayRange(date(2026, 11, 1), date(2026, 11, 6), SEOUL), first, now)
    with pytest.raises(DaysError) as raised:
        check_days(DayRange(date(2026, 10, 31), date(2026, 11, 2), SEOUL), first, now)
    assert str(raised.value) == (
        "2026-10-31: before the first day of the daily partitions, 2026-11-01 "
        "(set CAMPAIGN_REPORT_FIRST_DAY to start them earlier)"
    )
    with pytest.raises(DaysError) as raised:
        check_days(DayRange.day(date(2026, 11, 6), SEOUL), first, now)
    assert str(raised.value) == (
        "2026-11-06: that day has not ended yet in Asia/Seoul; the latest day to build "
        "is 2026-11-05"
    )
    # In UTC the same instant is still the 5th, so only the 4th has ended.
    with pytest.raises(DaysError, match=r"^2026-11-05: that day has not ended yet in UTC;"):
        check_days(DayRange.day(date(2026, 11, 5), "UTC"), first, now)


def test_dbt_gets_the_days_as_vars_or_a_full_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LATE_ALLOWANCE_ENV, raising=False)
    assert daily_build_args(None) == [*BUILD_ARGS, "--full-refresh"]
    args = daily_build_args(DayRange(date(2026, 11, 2), date(2026, 11, 4), SEOUL))
    assert args[:-2] == BUILD_ARGS
    assert args[-2] == "--vars"
    # Seoul is UTC+9 all year: its midnights are 15:00 UTC the day before.
    assert json.loads(args[-1]) == {
        "partition_start_date": "2026-11-02",
        "partition_end_date": "2026-11-04",
        "partition_start_utc": "2026-11-01 15:00:00",
        "partition_end_utc": "2026-11-03 15:00:00",
        "late_data_allowance_hours": 48,
    }


def test_the_tags_name_the_days_the_unpartitioned_sets_read() -> None:
    assert tagged_days({"dagster/partition": "2026-11-02"}, SEOUL) == DayRange(
        date(2026, 11, 2), date(2026, 11, 3), SEOUL
    )
    # The range's end tag is its last day; the range's end is the day after.
    range_ = {
        "dagster/asset_partition_range_start": "2026-11-02",
        "dagster/asset_partition_range_end": "2026-11-04",
    }
    assert tagged_days(range_, SEOUL) == DayRange(date(2026, 11, 2), date(2026, 11, 5), SEOUL)
    assert tagged_days({}, SEOUL) is None
    assert tagged_days({**range_, FULL_REFRESH_TAG: "true"}, SEOUL) is None


def test_a_daily_run_gives_every_dbt_call_the_same_vars(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Different vars in one run's dbt calls would make each of them parse the project anew.
    monkeypatch.delenv(LATE_ALLOWANCE_ENV, raising=False)
    duckdb_warehouse = WarehouseResource(database=str(tmp_path / "w.duckdb"))
    days = DayRange(date(2026, 11, 2), date(2026, 11, 4), SEOUL)
    assert whole_build_args(days, duckdb_warehouse) == daily_build_args(days)
    assert "--vars" in whole_build_args(days, duckdb_warehouse)
    assert whole_build_args(None, duckdb_warehouse) == [*BUILD_ARGS, "--full-refresh"]
    # On PostgreSQL the daily set refuses the days, so the models before it get none.
    postgres = WarehouseResource(database=str(tmp_path / "w.duckdb"), target="postgres")
    assert whole_build_args(days, postgres) == BUILD_ARGS


def _message_events_asset() -> dg.AssetsDefinition:
    (asset,) = (
        asset
        for asset in assets.build_raw_table_assets(daily_partitions(SEOUL, "2026-11-01"))
        if asset.key == dg.AssetKey(["raw", "message_events"])
    )
    return asset


def test_the_event_tables_are_daily_partitioned_with_one_run_per_backfill() -> None:
    by_table = {
        asset.key.path[-1]: asset
        for asset in assets.build_raw_table_assets(daily_partitions(SEOUL, "2026-11-01"))
    }
    for table in ("message_events", "product_events"):
        partitions = by_table[table].partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)
        assert partitions.timezone == SEOUL
        assert partitions.get_first_partition_key() == "2026-11-01"
        assert by_table[table].backfill_policy == dg.BackfillPolicy.single_run()
    for table in ("campaigns", "identities"):
        assert by_table[table].partitions_def is None


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        # One run over three days loads the three day folders at once.
        (
            {
                "dagster/asset_partition_range_start": "2026-11-02",
                "dagster/asset_partition_range_end": "2026-11-04",
            },
            DayRange(date(2026, 11, 2), date(2026, 11, 5), SEOUL),
        ),
        ({"dagster/partition": "2026-11-03"}, DayRange.day(date(2026, 11, 3), SEOUL)),
        ({"dagster/partition": "2026-11-03", FULL_REFRESH_TAG: "true"}, None),
    ],
)
def test_a_raw_event_table_loads_the_days_of_its_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tags: dict[str, str],
    expected: DayRange | None,
) -> None:
    calls: list[DayRange | None] = []

    def fake_load(con, landing_dir, contract, days=None) -> LoadResult:
        calls.append(days)
        return LoadResult(table=contract.name, rows=0, files=())

    monkeypatch.setattr(assets, "load_table", fake_load)
    result = dg.materialize(
        [_message_events_asset()],
        resources={
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
            "landing": LandingResource(folder=str(tmp_path)),
        },
        tags=tags,
    )
    assert result.success
    assert calls == [expected]


class _UnlockedWarehouse(WarehouseResource):
    """A PostgreSQL warehouse that takes no run lock, so that no server is needed."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        pass


def test_a_partitioned_run_on_postgres_stops_with_one_line(tmp_path: Path) -> None:
    result = dg.materialize(
        [_message_events_asset()],
        resources={
            # Never connected to: the asset stops before it opens the warehouse.
            "warehouse": _UnlockedWarehouse(database=str(tmp_path / "w.duckdb"), target="postgres"),
            "landing": LandingResource(folder=str(tmp_path)),
        },
        partition_key="2026-11-03",
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description == (
        "daily partitions run on DuckDB only; use a full run"
    )
