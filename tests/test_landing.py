"""The loader: every file format, unions, the contract's errors, idempotence, identities."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.assets import build_raw_table_assets
from orchestration.landing import (
    CONTRACTS,
    MISNAMED_DAY_FOLDERS,
    LandingError,
    check_landing,
    landing_date,
    load_table,
    misnamed_day_folders,
)
from orchestration.partitions import daily_partitions
from orchestration.pipeline import _summarise
from orchestration.resources import LandingResource, WarehouseResource

CAMPAIGNS = CONTRACTS["campaigns"]
MESSAGE_EVENTS = CONTRACTS["message_events"]
PRODUCT_EVENTS = CONTRACTS["product_events"]
IDENTITIES = CONTRACTS["identities"]

CAMPAIGN_HEADER = "campaign_id,campaign_name,channel,message_type,created_at\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "loader.duckdb"))
    yield connection
    connection.close()


def test_csv_keeps_text_as_written_and_numbers_rows(tmp_path: Path, con) -> None:
    _write(
        tmp_path / "campaigns" / "campaigns.csv",
        CAMPAIGN_HEADER
        + 'c1,"Sale, spring",push,,2024-03-01 10:00:00\n'
        + "007,Welcome,SMS,lms,2024-03-01T10:00:00+09:00\n",
    )

    result = load_table(con, tmp_path, CAMPAIGNS)

    assert result.rows == 2
    assert result.files == ("campaigns/campaigns.csv",)
    # The leading zeros, the upper case and the offset stay as the file has them;
    # an empty cell is NULL.
    assert _rows(con, "select * from raw.campaigns order by _source_row") == [
        (
            "c1",
            "Sale, spring",
            "push",
            None,
            "2024-03-01 10:00:00",
            "campaigns/campaigns.csv",
            1,
            None,
        ),
        (
            "007",
            "Welcome",
            "SMS",
            "lms",
            "2024-03-01T10:00:00+09:00",
            "campaigns/campaigns.csv",
            2,
            None,
        ),
    ]


def test_every_raw_column_is_text_except_the_row_number(tmp_path: Path, con) -> None:
    _write(tmp_path / "campaigns" / "a.csv", CAMPAIGN_HEADER + "c1,A,push,,\n")
    load_table(con, tmp_path, CAMPAIGNS)
    types = _rows(
        con,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'campaigns' order by ordinal_position",
    )
    assert types == [
        ("campaign_id", "VARCHAR"),
        ("campaign_name", "VARCHAR"),
        ("channel", "VARCHAR"),
        ("message_type", "VARCHAR"),
        ("created_at", "VARCHAR"),
        ("_source_file", "VARCHAR"),
        ("_source_row", "BIGINT"),
        # The delivery day: a file outside a YYYY-MM-DD folder has none.
        ("_landing_date", "DATE"),
    ]


def test_parquet_values_become_text_and_nested_values_json(tmp_path: Path, con) -> None:
    folder = tmp_path / "product_events"
    folder.mkdir()
    con.execute(
        f"""
        copy (
            select * from (values
                (1, 'purchase', timestamp '2024-03-01 11:00:00',
                    {{'order_id': 'o1', 'amount': 30000}}),
                (2, 'sign_up', timestamp '2024-03-01 12:30:00',
                    {{'order_id': null, 'amount': null}})
            ) as t(event_id, event_key, occurred_at, properties)
        ) to '{folder / "part-0.parquet"}' (format parquet)
        """
    )

    result = load_table(con, tmp_path, PRODUCT_EVENTS)

    assert result.rows == 2
    assert _rows(con, "select * from raw.product_events order by _source_row") == [
        (
            "1",
            "purchase",
            None,
            None,
            "2024-03-01 11:00:00",
            '{"order_id":"o1","amount":30000}',
            "product_events/part-0.parquet",
            1,
            None,
        ),
        (
            "2",
            "sign_up",
            None,
            None,
            "2024-03-01 12:30:00",
            '{"order_id":null,"amount":null}',
            "product_events/part-0.parquet",
            2,
            None,
        ),
    ]


def test_json_lines_objects_become_json_text(tmp_path: Path, con) -> None:
    lines = [
        {
            "event_id": "p1",
            "event_key": "purchase",
            "user_id": 42,
            "occurred_at": "2024-03-01T11:00:00Z",
            "properties": {"order_id": "o1", "amount": 30000},
        },
        {"event_id": "p2", "event_key": "sign_up", "occurred_at": "2024-03-01 12:00:00"},
    ]
    _write(
        tmp_path / "product_events" / "events.ndjson",
        "\n".join(json.dumps(line) for line in lines) + "\n",
    )

    load_table(con, tmp_path, PRODUCT_EVENTS)

    assert _rows(con, "select * from raw.product_events order by _source_row") == [
        (
            "p1",
            "purchase",
            "42",
            None,
            "2024-03-01T11:00:00Z",
            '{"order_id":"o1","amount":30000}',
            "product_events/events.ndjson",
            1,
            None,
        ),
        (
            "p2",
            "sign_up",
            None,
            None,
            "2024-03-01 12:00:00",
            None,
            "product_events/events.ndjson",
            2,
            None,
        ),
    ]


def test_files_of_every_format_are_unioned_by_column_name(tmp_path: Path, con) -> None:
    folder = tmp_path / "campaigns"
    # Columns in another order, and a column the contract does not know.
    _write(folder / "a.csv", "channel,campaign_id,owner\npush,c1,kim\nsms,c2,lee\n")
    _write(folder / "nested" / "b.jsonl", '{"campaign_id": "c3", "channel": "email"}\n')
    _write(folder / "c.json", '{"campaign_id": "c4", "channel": "kakao"}\n')
    con.execute(
        f"copy (select 'c5' as campaign_id, 'in_app' as channel) "
        f"to '{folder / 'd.parquet'}' (format parquet)"
    )
    _write(folder / "notes.txt", "not data")
    _write(folder / ".DS_Store", "clutter")

    result = load_table(con, tmp_path, CAMPAIGNS)

    assert result.rows == 5
    assert result.files == (
        "campaigns/a.csv",
        "campaigns/c.json",
        "campaigns/d.parquet",
        "campaigns/nested/b.jsonl",
    )
    assert result.ignored_columns == {"campaigns/a.csv": ("owner",)}
    assert result.skipped_files == ("campaigns/notes.txt",)
    assert _rows(
        con,
        "select campaign_id, channel, _source_file, _source_row from raw.campaigns "
        "order by campaign_id",
    ) == [
        ("c1", "push", "campaigns/a.csv", 1),
        ("c2", "sms", "campaigns/a.csv", 2),
        ("c3", "email", "campaigns/nested/b.jsonl", 1),
        ("c4", "kakao", "campaigns/c.json", 1),
        ("c5", "in_app", "campaigns/d.parquet", 1),
    ]


def test_missing_required_column_names_file_and_column_and_keeps_old_table(
    tmp_path: Path, con
) -> None:
    folder = tmp_path / "message_events"
    header = "event_id,campaign_id,message_id,event_type,occurred_at\n"
    _write(folder / "a.csv", header + "e1,c1,m1,send,2024-03-01 10:00:00\n")
    load_table(con, tmp_path, MESSAGE_EVENTS)
    bad = _write(folder / "b.csv", "event_id,campaign_id,message_id,event_type\ne2,c1,m1,open\n")

    with pytest.raises(LandingError) as raised:
        load_table(con, tmp_path, MESSAGE_EVENTS)

    assert str(raised.value) == (
        f"{bad}: missing required column occurred_at (a message_events file needs "
        "event_id, campaign_id, message_id, event_type, occurred_at)"
    )
    # The good file's rows from the first load are still there, and only them.
    assert _rows(con, "select event_id from raw.message_events") == [("e1",)]


def test_json_file_without_a_required_key_is_refused(tmp_path: Path, con) -> None:
    bad = _write(
        tmp_path / "campaigns" / "a.jsonl",
        '{"campaign_id": "c1", "name": "x"}\n{"campaign_id": "c2"}\n',
    )
    with pytest.raises(LandingError, match="missing required column channel") as raised:
        load_table(con, tmp_path, CAMPAIGNS)
    assert str(raised.value).startswith(f"{bad}: ")


def test_json_line_that_is_not_an_object_names_the_record(tmp_path: Path, con) -> None:
    bad = _write(
        tmp_path / "campaigns" / "a.jsonl",
        '{"campaign_id": "c1", "channel": "push"}\n["c2", "sms"]\n',
    )
    with pytest.raises(LandingError) as raised:
        load_table(con, tmp_path, CAMPAIGNS)
    assert str(raised.value) == (
        f"{bad}: record 2 is not a JSON object; expected one object per line"
    )


def test_loading_the_same_files_again_changes_nothing(tmp_path: Path, con) -> None:
    _write(tmp_path / "campaigns" / "a.csv", CAMPAIGN_HEADER + "c1,A,push,,\nc2,B,sms,lms,\n")
    _write(tmp_path / "campaigns" / "b.jsonl", '{"campaign_id": "c3", "channel": "email"}\n')

    load_table(con, tmp_path, CAMPAIGNS)
    first = _rows(con, "select * from raw.campaigns order by all")
    load_table(con, tmp_path, CAMPAIGNS)
    second = _rows(con, "select * from raw.campaigns order by all")

    assert len(first) == 3
    assert second == first


def test_identities_table_is_empty_without_a_folder(tmp_path: Path, con) -> None:
    result = load_table(con, tmp_path, IDENTITIES)
    assert result.rows == 0
    assert _rows(con, "select count(*) from raw.identities") == [(0,)]
    columns = [row[0] for row in _rows(con, "describe raw.identities")]
    assert columns == [
        "device_id",
        "user_id",
        "linked_at",
        "_source_file",
        "_source_row",
        "_landing_date",
    ]


def test_identities_are_loaded_when_present(tmp_path: Path, con) -> None:
    _write(
        tmp_path / "identities" / "links.csv",
        "device_id,user_id,linked_at\nd1,u1,2024-02-01 00:00:00\n",
    )
    load_table(con, tmp_path, IDENTITIES)
    assert _rows(con, "select * from raw.identities") == [
        ("d1", "u1", "2024-02-01 00:00:00", "identities/links.csv", 1, None)
    ]


def test_missing_or_empty_required_folder_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "campaigns" / "a.csv", CAMPAIGN_HEADER)
    _write(tmp_path / "message_events" / "readme.txt", "no data here")

    with pytest.raises(LandingError) as raised:
        check_landing(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path / 'message_events'}: no data files; expected CSV, Parquet or "
        "JSON-lines files (.csv, .json, .jsonl, .ndjson, .parquet)"
    )

    _write(tmp_path / "message_events" / "a.csv", "event_id\n")
    with pytest.raises(LandingError) as raised:
        check_landing(tmp_path)
    assert str(raised.value).startswith(
        f"{tmp_path / 'product_events'}: folder not found; the landing folder needs a "
        "product_events/ sub-folder"
    )

    with pytest.raises(LandingError, match="landing folder not found"):
        check_landing(tmp_path / "absent")


def test_raw_assets_load_the_fixture_through_dagster(tmp_path: Path, landing: Path) -> None:
    # Named raw.duckdb on purpose: DuckDB then has a catalog called raw as
    # well as the schema, which unqualified table names would trip over.
    database = tmp_path / "raw.duckdb"
    # No partition: a full refresh, which loads every file of every table.
    result = dg.materialize(
        build_raw_table_assets(daily_partitions("UTC", "2024-03-01")),
        resources={
            "warehouse": WarehouseResource(database=str(database)),
            "landing": LandingResource(folder=str(landing)),
        },
    )

    assert result.success
    # Counted by hand from the fixture files: 21 + 8 message event rows (two of
    # them repeat an event_id; raw keeps every row), 9 + 4 product event rows.
    counts = {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata[
            "dagster/row_count"
        ].value
        for event in result.get_asset_materialization_events()
    }
    assert counts == {
        "raw/campaigns": 4,
        "raw/message_events": 29,
        "raw/product_events": 13,
        "raw/identities": 1,
    }
    with duckdb.connect(str(database), read_only=True) as con:
        assert _rows(
            con,
            "select _source_file, count(*) from raw.raw.message_events group by all order by all",
        ) == [
            ("message_events/kakao.jsonl", 8),
            ("message_events/push_and_email.csv", 21),
        ]


def test_a_file_is_of_a_day_only_in_a_yyyy_mm_dd_folder(tmp_path: Path) -> None:
    folder = tmp_path / "message_events"
    assert landing_date(folder, folder / "2026-11-04" / "a.csv") == date(2026, 11, 4)
    assert landing_date(folder, folder / "2026-11-04" / "late" / "a.csv") == date(2026, 11, 4)
    # An ISO week date that Python's fromisoformat reads as 2026-11-04, a day
    # that does not exist, a file beside the folders, and a folder deeper down.
    assert landing_date(folder, folder / "2026-W45-3" / "a.csv") is None
    assert landing_date(folder, folder / "2026-02-30" / "a.csv") is None
    assert landing_date(folder, folder / "2026-11-04.csv") is None
    assert landing_date(folder, folder / "old" / "2026-11-04" / "a.csv") is None


def test_misnamed_day_folders_are_the_day_like_names_that_are_not_days(tmp_path: Path) -> None:
    folder = tmp_path / "message_events"
    for name in ("2026-11-02", "2026-11-3", "20261104", "2026-02-30", "2026_11_05", "history"):
        (folder / name).mkdir(parents=True)
    _write(folder / "2026-11-06.csv", "event_id\n")  # a file, not a folder

    # 2026-11-02 is a day; history does not try to be one; the rest try and fail.
    assert misnamed_day_folders(tmp_path, MESSAGE_EVENTS) == [
        "message_events/2026-02-30",
        "message_events/2026-11-3",
        "message_events/20261104",
        "message_events/2026_11_05",
    ]
    assert misnamed_day_folders(tmp_path, PRODUCT_EVENTS) == []


def test_a_day_run_names_the_misnamed_day_folder_it_did_not_load(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    header = "event_id,campaign_id,message_id,event_type,occurred_at\n"
    _write(
        landing / "message_events" / "2026-11-02" / "a.csv", header + "e1,c1,m1,send,2026-11-02\n"
    )
    # Meant as 2026-11-03: a daily run of that day does not read it.
    _write(
        landing / "message_events" / "2026-11-3" / "b.csv", header + "e2,c1,m2,send,2026-11-03\n"
    )
    _write(landing / "product_events" / "2026-11-03" / "p.csv", "event_id,event_key,occurred_at\n")
    events = [
        asset
        for asset in build_raw_table_assets(daily_partitions("UTC", "2026-11-01"))
        if asset.key.path[-1] in {"message_events", "product_events"}
    ]

    result = dg.materialize(
        events,
        partition_key="2026-11-03",
        resources={
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
            "landing": LandingResource(folder=str(landing)),
        },
    )

    assert result.success
    metadata = {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert metadata["raw/message_events"]["dagster/row_count"].value == 0
    assert metadata["raw/message_events"][MISNAMED_DAY_FOLDERS].value == [
        "message_events/2026-11-3"
    ]
    assert metadata["raw/product_events"][MISNAMED_DAY_FOLDERS].value == []
    assert _summarise(result).misnamed_day_folders == ["message_events/2026-11-3"]


# Unusable files: each stops the load of its table with one line naming the file, and the
# table keeps the rows of the last load that worked.


def _load_good_campaigns(tmp_path: Path, con) -> None:
    _write(tmp_path / "campaigns" / "a.csv", CAMPAIGN_HEADER + "c1,A,push,,\n")
    load_table(con, tmp_path, CAMPAIGNS)


def _refused(tmp_path: Path, con, contract=CAMPAIGNS) -> str:
    with pytest.raises(LandingError) as raised:
        load_table(con, tmp_path, contract)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_binary_file_named_csv_is_refused(tmp_path: Path, con) -> None:
    _load_good_campaigns(tmp_path, con)
    bad = tmp_path / "campaigns" / "b.csv"
    bad.write_bytes(bytes(range(256)) * 20)

    assert _refused(tmp_path, con) == (
        f'{bad}: cannot be read as csv: Error when sniffing file "{bad}". It was not '
        "possible to automatically detect the CSV parsing dialect"
    )
    assert _rows(con, "select campaign_id from raw.campaigns") == [("c1",)]


def test_corrupt_parquet_file_is_refused(tmp_path: Path, con) -> None:
    _load_good_campaigns(tmp_path, con)
    bad = tmp_path / "campaigns" / "b.parquet"
    # A Parquet file's magic bytes at both ends, and no valid footer between them.
    bad.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")

    assert _refused(tmp_path, con) == (
        f"{bad}: cannot be read as parquet: Footer length error in file '{bad}'"
    )
    assert _rows(con, "select campaign_id from raw.campaigns") == [("c1",)]


def test_parquet_file_without_a_required_column_is_refused(tmp_path: Path, con) -> None:
    bad = tmp_path / "campaigns" / "b.parquet"
    bad.parent.mkdir()
    con.execute(f"copy (select 'c1' as campaign_id) to '{bad}' (format parquet)")

    assert _refused(tmp_path, con) == (
        f"{bad}: missing required column channel (a campaigns file needs campaign_id, channel)"
    )


def test_json_lines_file_with_a_line_that_is_not_json_names_the_line(tmp_path: Path, con) -> None:
    _load_good_campaigns(tmp_path, con)
    bad = _write(
        tmp_path / "campaigns" / "b.jsonl",
        '{"campaign_id": "c2", "channel": "push"}\n\n{"campaign_id": "c3", "channel": \n',
    )

    # Line 2 is blank, which JSON lines allow; line 3 stops in the middle of an object.
    assert _refused(tmp_path, con) == (
        f"{bad}: line 3 is not valid JSON; expected one JSON object per line"
    )
    assert _rows(con, "select campaign_id from raw.campaigns") == [("c1",)]


def test_empty_json_lines_file_is_refused(tmp_path: Path, con) -> None:
    bad = _write(tmp_path / "campaigns" / "b.jsonl", "")
    assert _refused(tmp_path, con) == f"{bad}: file is empty; expected one JSON object per line"


def test_a_bad_row_past_the_sample_names_its_file_and_line_but_not_its_values(
    tmp_path: Path, con
) -> None:
    _load_good_campaigns(tmp_path, con)
    # DuckDB checks a file's first 20,480 rows before the load; this one breaks after.
    rows = "".join(f"c{number},push\n" for number in range(25_000))
    bad = _write(
        tmp_path / "campaigns" / "c.csv",
        "campaign_id,channel\n" + rows + "c_last,010-1234-5678,extra\n",
    )

    # Line 25,002: the header, 25,000 good rows, then the one with a column too many.
    message = _refused(tmp_path, con)
    assert message == (
        f"{bad}: cannot be read as csv: CSV Error on Line: 25002 Expected Number of "
        "Columns: 2 Found: 3"
    )
    assert "010-1234-5678" not in message
    assert _rows(con, "select campaign_id from raw.campaigns") == [("c1",)]


# In a small file DuckDB's sniffer meets the bad row before the load and used
# to answer that it could not detect a dialect, with no line. The loader now
# names the columns from the header itself, so the line is named.
@pytest.mark.parametrize(
    ("bad_row", "line", "reason"),
    [
        ("c3,010-1234-5678\n", 4, "Expected Number of Columns: 5 Found: 2"),
        ('c3,"Sale,push,,\n', 4, "Value with unterminated quote found."),
    ],
    ids=["too_few_fields", "unterminated_quote"],
)
def test_a_bad_row_in_a_small_csv_names_its_line(
    tmp_path: Path, con, bad_row: str, line: int, reason: str
) -> None:
    _load_good_campaigns(tmp_path, con)
    # Line 1 is the header, lines 2 and 3 are good rows, line 4 is the bad one.
    bad = _write(
        tmp_path / "campaigns" / "c.csv",
        CAMPAIGN_HEADER + "c2,B,sms,lms,\nc4,D,push,,\n" + bad_row,
    )

    message = _refused(tmp_path, con)
    assert message == f"{bad}: cannot be read as csv: CSV Error on Line: {line} {reason}"
    assert "010-1234-5678" not in message
    assert _rows(con, "select campaign_id from raw.campaigns") == [("c1",)]


def test_a_long_row_in_a_small_csv_is_not_taken_for_the_header(tmp_path: Path, con) -> None:
    _load_good_campaigns(tmp_path, con)
    # One field more than the five of the header: a sniffer picked this row as
    # the header, found no campaign_id column and read no rows. (With more
    # fields still, DuckDB stops counting at the first one too many.)
    bad = _write(
        tmp_path / "campaigns" / "c.csv",
        CAMPAIGN_HEADER + "c2,B,sms,lms,\nc3,C,push,,,extra\n",
    )

    assert _refused(tmp_path, con) == (
        f"{bad}: cannot be read as csv: CSV Error on Line: 3 Expected Number of Columns: 5 Found: 6"
    )


def test_a_csv_header_with_a_byte_order_mark_spaces_and_crlf_reads_as_written(
    tmp_path: Path, con
) -> None:
    _write(
        tmp_path / "campaigns" / "a.csv",
        '\ufeffCampaign_ID, channel ,"campaign_name"\r\nc1,push,"Sale, today"\r\nc2,sms,B',
    )

    load_table(con, tmp_path, CAMPAIGNS)

    assert _rows(
        con, "select campaign_id, channel, campaign_name from raw.campaigns order by 1"
    ) == [("c1", "push", "Sale, today"), ("c2", "sms", "B")]
