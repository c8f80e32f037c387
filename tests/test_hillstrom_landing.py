"""The Hillstrom landing files reproduce the published MineThatData figures.

Expected numbers are the published per-segment figures of the challenge (customers,
visitors, buyers, spend), not anything computed by the loader.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.hillstrom import HillstromError, HillstromSummary, write_hillstrom_landing
from orchestration.report_config import load_config

REPO = Path(__file__).resolve().parents[1]
SEND_AT = datetime(2008, 3, 3, 9, 0, tzinfo=UTC)
HEADER = (
    "recency,history_segment,history,mens,womens,zip_code,newbie,channel,segment,"
    "visit,conversion,spend"
)


def _connect(landing: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in ("campaigns", "message_events", "product_events", "identities"):
        con.execute(
            f"create table {table} as select * from read_csv(?, header = true, all_varchar = true)",
            [str(landing / table / "*.csv")],
        )
    return con


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> HillstromSummary:
    # The defaults: the repository's copy of the file and the 2008-03-03 09:00 UTC send.
    return write_hillstrom_landing(tmp_path_factory.mktemp("hillstrom") / "landing")


@pytest.fixture(scope="module")
def con(written: HillstromSummary) -> duckdb.DuckDBPyConnection:
    return _connect(written.landing_dir)


# campaign, the message event that puts a customer in the group, customers, visitors,
# buyers, spend: the published figures of each segment.
PUBLISHED = [
    ("mens_email", "deliver", 21_307, 3_894, 267, Decimal("30311.69")),
    ("womens_email", "deliver", 21_387, 3_238, 189, Decimal("23038.11")),
    ("mens_email", "holdout", 21_306, 2_262, 122, Decimal("13908.33")),
    ("womens_email", "holdout", 21_306, 2_262, 122, Decimal("13908.33")),
]


@pytest.mark.parametrize(
    ("campaign_id", "event_type", "customers", "visitors", "buyers", "spend"), PUBLISHED
)
def test_each_group_reproduces_the_published_figures(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    event_type: str,
    customers: int,
    visitors: int,
    buyers: int,
    spend: Decimal,
) -> None:
    row = con.execute(
        """
        with grp as (
            select distinct user_id from message_events
            where campaign_id = ? and event_type = ?
        )
        select
            (select count(*) from grp),
            count(distinct p.user_id) filter (where p.event_key = 'visit'),
            count(distinct p.user_id) filter (where p.event_key = 'purchase'),
            sum(cast(json_extract_string(p.properties, '$.amount') as decimal(18, 2)))
                filter (where p.event_key = 'purchase')
        from grp join product_events as p using (user_id)
        """,
        [campaign_id, event_type],
    ).fetchone()
    assert row == (customers, visitors, buyers, spend)


def test_every_customer_is_in_exactly_one_segment(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """
        select kind, count(*) from (
            select user_id, string_agg(distinct campaign_id || ':' || event_type, ','
                order by campaign_id || ':' || event_type) as kind
            from message_events group by user_id
        ) group by kind order by kind
        """
    ).fetchall()
    assert rows == [
        ("mens_email:deliver,mens_email:send", 21_307),
        ("mens_email:holdout,womens_email:holdout", 21_306),
        ("womens_email:deliver,womens_email:send", 21_387),
    ]
    # One event of each kind per message, and one message per customer and campaign.
    assert con.execute(
        "select count(*), count(distinct event_id) from message_events"
    ).fetchone() == (
        2 * 21_307 + 2 * 21_387 + 2 * 21_306,
        2 * 21_307 + 2 * 21_387 + 2 * 21_306,
    )
    assert con.execute("select count(distinct message_id) from message_events").fetchone() == (
        21_307 + 21_387 + 2 * 21_306,
    )


def test_message_events_are_all_at_the_send(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(
        "select distinct occurred_at, device_id, channel, properties from message_events"
    ).fetchall() == [("2008-03-03T09:00:00Z", None, None, None)]


def test_product_events_fall_in_the_window_after_the_send(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first, last, at_send, past_end = con.execute(
        """
        select
            min(occurred_at::timestamp),
            max(occurred_at::timestamp),
            count(*) filter (where occurred_at::timestamp <= timestamp '2008-03-03 09:00:00'),
            count(*) filter (where occurred_at::timestamp > timestamp '2008-03-17 09:00:00')
        from product_events
        """
    ).fetchone()
    assert (at_send, past_end) == (0, 0)
    assert SEND_AT.replace(tzinfo=None) < first
    assert last <= (SEND_AT + timedelta(days=14)).replace(tzinfo=None)
    assert all(
        value.endswith("Z")
        for (value,) in con.sql("select occurred_at from product_events").fetchall()
    )


def test_every_purchase_comes_after_the_same_customers_visit(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Every buyer in the file also visited: 267 + 189 + 122 purchases, all after a visit.
    assert con.execute(
        """
        select count(*), count(*) filter (where v.occurred_at < p.occurred_at)
        from product_events as p
        join product_events as v on v.user_id = p.user_id and v.event_key = 'visit'
        where p.event_key = 'purchase'
        """
    ).fetchone() == (578, 578)


def test_campaigns_and_identities(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(
        "select campaign_id, campaign_name, channel, message_type from campaigns order by 1"
    ).fetchall() == [
        ("mens_email", "Mens E-Mail", "email", None),
        ("womens_email", "Womens E-Mail", "email", None),
    ]
    assert con.execute("select count(*) from identities").fetchone() == (0,)


def test_summary_counts_match_the_files(written: HillstromSummary) -> None:
    assert written.send_at == SEND_AT
    assert written.customers == {
        "Mens E-Mail": 21_307,
        "Womens E-Mail": 21_387,
        "No E-Mail": 21_306,
    }
    # Two events for each e-mailed customer, two holdouts for each of the others.
    assert (written.campaigns, written.message_events, written.identities) == (2, 128_000, 0)
    # 3,894 + 3,238 + 2,262 visits and 267 + 189 + 122 purchases.
    assert written.product_events == 9_394 + 578
    assert [path.relative_to(written.landing_dir).as_posix() for path in written.files] == [
        "campaigns/campaigns.csv",
        "identities/identities.csv",
        "message_events/message_events.csv",
        "product_events/product_events.csv",
    ]


def _zip(path: Path, *rows: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hillstrom.csv", "\r\n".join([HEADER, *rows]) + "\r\n")
    return path


def test_a_small_file_gives_the_events_worked_out_by_hand(tmp_path: Path) -> None:
    source = _zip(
        tmp_path / "small.zip",
        "10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Mens E-Mail,1,1,499",
        "6,3) $200 - $350,329.08,1,1,Rural,1,Web,No E-Mail,0,0,0",
        "7,2) $100 - $200,180.65,0,1,Surburban,1,Web,Womens E-Mail,1,0,0",
    )
    send_at = datetime(2020, 1, 6, 8, 30)  # no zone: taken as UTC
    summary = write_hillstrom_landing(tmp_path / "landing", csv_zip=source, send_at=send_at)
    assert summary.send_at == datetime(2020, 1, 6, 8, 30, tzinfo=UTC)
    con = _connect(tmp_path / "landing")
    assert con.execute(
        "select message_id, campaign_id, user_id, event_type, occurred_at from message_events "
        "order by event_id"
    ).fetchall() == [
        (
            "hillstrom-000001-mens_email",
            "mens_email",
            "hillstrom-000001",
            "deliver",
            "2020-01-06T08:30:00Z",
        ),
        (
            "hillstrom-000001-mens_email",
            "mens_email",
            "hillstrom-000001",
            "send",
            "2020-01-06T08:30:00Z",
        ),
        (
            "hillstrom-000002-mens_email",
            "mens_email",
            "hillstrom-000002",
            "holdout",
            "2020-01-06T08:30:00Z",
        ),
        (
            "hillstrom-000002-womens_email",
            "womens_email",
            "hillstrom-000002",
            "holdout",
            "2020-01-06T08:30:00Z",
        ),
        (
            "hillstrom-000003-womens_email",
            "womens_email",
            "hillstrom-000003",
            "deliver",
            "2020-01-06T08:30:00Z",
        ),
        (
            "hillstrom-000003-womens_email",
            "womens_email",
            "hillstrom-000003",
            "send",
            "2020-01-06T08:30:00Z",
        ),
    ]
    events = con.execute(
        "select user_id, event_key, json_extract_string(properties, '$.amount'), "
        "json_extract_string(properties, '$.order_id'), "
        "occurred_at::timestamp > timestamp '2020-01-06 08:30:00' "
        "and occurred_at::timestamp <= timestamp '2020-01-20 08:30:00' "
        "from product_events order by event_id"
    ).fetchall()
    assert events == [
        ("hillstrom-000001", "purchase", "499", "hillstrom-000001-order", True),
        ("hillstrom-000001", "visit", None, None, True),
        ("hillstrom-000003", "visit", None, None, True),
    ]


def test_a_bad_segment_is_reported_with_its_line(tmp_path: Path) -> None:
    source = _zip(
        tmp_path / "bad.zip",
        "10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Mens E-Mail,0,0,0",
        "10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Kids E-Mail,0,0,0",
    )
    with pytest.raises(HillstromError, match=r"bad\.zip:hillstrom\.csv line 3: segment must be"):
        write_hillstrom_landing(tmp_path / "landing", csv_zip=source)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    source = tmp_path / "cols.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("hillstrom.csv", "segment,visit,conversion\nNo E-Mail,0,0\n")
    with pytest.raises(HillstromError, match="missing column"):
        write_hillstrom_landing(tmp_path / "landing", csv_zip=source)
    assert not (tmp_path / "landing").exists()  # nothing is wiped or written on a bad file


def test_the_example_config_is_valid() -> None:
    config = load_config(REPO / "examples" / "hillstrom.yml")
    assert config.timezone == "UTC"
    [report] = config.reports
    assert (report.name, report.window_hours) == ("hillstrom", 14 * 24)
    assert [(goal.name, goal.event_key, goal.value) for goal in report.goals] == [
        ("visit", "visit", None),
        ("purchase", "purchase", "amount"),
    ]
