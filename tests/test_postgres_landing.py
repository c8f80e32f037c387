"""The loader on PostgreSQL: the same raw rows as on DuckDB, and raw tables replaced in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration import postgres
from orchestration.landing import CONTRACTS, load_table
from orchestration.landing_postgres import load_table_into_postgres
from orchestration.settings import PostgresSettings

CAMPAIGNS = CONTRACTS["campaigns"]
MESSAGE_EVENTS = CONTRACTS["message_events"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def pg(postgres_database: PostgresSettings) -> Iterator[Any]:
    con = postgres.connect(postgres_database)
    try:
        yield con
    finally:
        con.rollback()
        with con.cursor() as cursor:
            cursor.execute("drop schema if exists raw cascade")
        con.commit()
        con.close()


def _pg_rows(con: Any, sql: str) -> list[tuple]:
    with con.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    con.rollback()
    return rows


def test_postgres_gets_the_raw_rows_duckdb_gets(tmp_path: Path, pg: Any) -> None:
    landing = tmp_path / "landing"
    # Quotes, a comma and a line break inside values, an empty cell, non-ASCII text.
    _write(
        landing / "message_events" / "a.csv",
        "event_id,campaign_id,message_id,user_id,event_type,occurred_at,properties\n"
        'e1,c1,m1,u1,send,2024-03-01 10:00:00,"{""note"": ""say \\""hi\\"", then go""}"\n'
        'e2,c1,m1,,deliver,2024-03-01T10:01:00+09:00,"line one\nline two"\n'
        "e3,c1,m2,사용자,click,2024-03-01 10:02:00,\n",
    )
    # An empty string is text, not NULL; a JSON null is NULL; objects stay JSON text.
    records = [
        {
            "event_id": "e4",
            "campaign_id": "c1",
            "message_id": "m3",
            "user_id": "",
            "event_type": "send",
            "occurred_at": "2024-03-02T00:00:00Z",
            "properties": {"link": "https://x.example/?a=1,b=2"},
        },
        {
            "event_id": "e5",
            "campaign_id": "c1",
            "message_id": "m3",
            "user_id": None,
            "event_type": "open",
            "occurred_at": "2024-03-02T00:01:00Z",
            "device_id": "NULL",
        },
    ]
    _write(
        landing / "message_events" / "b.jsonl",
        "\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n",
    )
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'e6' as event_id, 'c2' as campaign_id, 'm4' as message_id, "
            "'send' as event_type, timestamptz '2024-03-03 09:00:00+00' as occurred_at, "
            "{'amount': 1.5} as properties) "
            f"to '{landing / 'message_events' / 'c.parquet'}' (format parquet)"
        )

    duck = duckdb.connect()
    duck.execute("set TimeZone = 'UTC'")
    duck_result = load_table(duck, landing, MESSAGE_EVENTS)
    pg_result = load_table_into_postgres(pg, landing, MESSAGE_EVENTS)

    assert pg_result == duck_result
    assert pg_result.rows == 6
    order = "order by _source_file, _source_row"
    expected = duck.execute(f"select * from raw.message_events {order}").fetchall()
    assert _pg_rows(pg, f"select * from raw.message_events {order}") == expected
    assert [(row[0], row[3], row[4], row[8]) for row in expected] == [
        ("e1", "u1", None, '{"note": "say \\"hi\\", then go"}'),
        ("e2", None, None, "line one\nline two"),
        ("e3", "사용자", None, None),
        ("e4", "", None, '{"link":"https://x.example/?a=1,b=2"}'),
        ("e5", None, "NULL", None),
        ("e6", None, None, '{"amount":1.5}'),
    ]


def test_a_reload_replaces_the_rows_and_keeps_the_views_on_them(tmp_path: Path, pg: Any) -> None:
    header = "campaign_id,campaign_name,channel\n"
    first = _write(tmp_path / "campaigns" / "campaigns.csv", header + "c1,One,push\n")
    assert load_table_into_postgres(pg, tmp_path, CAMPAIGNS).rows == 1
    with pg.cursor() as cursor:
        # dbt's staging view on the table; PostgreSQL would refuse to drop the table under it.
        cursor.execute("create view raw.campaign_names as select campaign_name from raw.campaigns")
    pg.commit()

    first.write_text(header + "c1,Uno,push\nc2,Dos,sms\n", encoding="utf-8")
    assert load_table_into_postgres(pg, tmp_path, CAMPAIGNS).rows == 2
    assert _pg_rows(pg, "select * from raw.campaign_names order by 1") == [("Dos",), ("Uno",)]

    # A table whose columns are not the contract's any more is rebuilt, with its views.
    with pg.cursor() as cursor:
        cursor.execute("alter table raw.campaigns drop column message_type cascade")
    pg.commit()
    assert load_table_into_postgres(pg, tmp_path, CAMPAIGNS).rows == 2
    assert _pg_rows(
        pg,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'campaigns' order by ordinal_position",
    ) == [
        ("campaign_id", "character varying"),
        ("campaign_name", "character varying"),
        ("channel", "character varying"),
        ("message_type", "character varying"),
        ("created_at", "character varying"),
        ("_source_file", "character varying"),
        ("_source_row", "bigint"),
        ("_landing_date", "date"),
    ]
    assert _pg_rows(pg, "select to_regclass('raw.campaign_names')") == [(None,)]
