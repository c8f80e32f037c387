"""The synthetic month follows the landing contract and holds every case the product handles.

Runs are small (a few thousand people) and split into several part files, so the parallel
path and the files shared between parts are exercised too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import orchestration.sample_data as sample_data
from orchestration.sample_data import SampleDataSummary, generate_sample_data

PERSONS = 2_500
PER_FILE = 1_000  # so the run writes three parts
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 12, 1, tzinfo=UTC)

MESSAGE_COLUMNS = [
    "event_id",
    "campaign_id",
    "message_id",
    "user_id",
    "device_id",
    "channel",
    "event_type",
    "occurred_at",
    "properties",
]
PRODUCT_COLUMNS = ["event_id", "event_key", "user_id", "device_id", "occurred_at", "properties"]

# The demo month as the generator's catalogue states it: id, channel, message type.
CAMPAIGNS = [
    ("c01", "push", None),
    ("c02", "kakao", "alimtalk"),
    ("c03", "email", None),
    ("c04", "kakao", "friendtalk"),
    ("c05", "sms", "sms"),
    ("c06", "in_app", None),
    ("c07", "push", None),
    ("c08", "sms", "lms"),
    ("c09", "kakao", "brand_message"),
    ("c10", "email", None),
    ("c11", "sms", "mms"),
    ("c12", "in_app", None),
]


def _generate(landing: Path, **options: object) -> SampleDataSummary:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sample_data, "PERSONS_PER_FILE", PER_FILE)
        return generate_sample_data(landing, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SampleDataSummary:
    return _generate(tmp_path_factory.mktemp("sample") / "landing", persons=PERSONS, seed=7)


def _columns(names: list[str]) -> str:
    return "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in names) + "}"


@pytest.fixture(scope="module")
def con(run: SampleDataSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every landing file read back as text, each row tagged with its file's name."""
    landing = run.landing_dir
    con = duckdb.connect()
    messages, products = _columns(MESSAGE_COLUMNS), _columns(PRODUCT_COLUMNS)
    con.execute(
        f"""
        create table message_events as
        select * exclude (filename), parse_filename(filename) as file from read_csv(
            '{landing}/message_events/*.csv', header = true, columns = {messages},
            filename = true)
        union all by name
        select * exclude (filename), parse_filename(filename) as file from read_json(
            '{landing}/message_events/*.jsonl', columns = {messages}, filename = true)
        """
    )
    con.execute(
        f"""
        create table product_events as
        select * exclude (filename), parse_filename(filename) as file
        from read_parquet('{landing}/product_events/*.parquet', filename = true)
        union all by name
        select * exclude (filename), parse_filename(filename) as file from read_csv(
            '{landing}/product_events/*.csv', header = true, columns = {products},
            filename = true)
        """
    )
    for table in ("campaigns", "identities"):
        con.execute(
            f"create table {table} as select * from read_csv("
            f"'{landing}/{table}/*.csv', header = true, all_varchar = true)"
        )
    # Each message with its campaign's channel and the channel it actually went out on.
    con.execute(
        """
        create view message_channels as
        select m.*, c.channel as campaign_channel, coalesce(m.channel, c.channel) as sent_on
        from message_events as m join campaigns as c using (campaign_id)
        """
    )
    yield con
    con.close()


def _files(landing: Path) -> dict[str, bytes]:
    return {
        path.relative_to(landing).as_posix(): path.read_bytes()
        for path in sorted(landing.rglob("*"))
        if path.is_file()
    }


def test_same_seed_and_size_give_byte_identical_files(
    run: SampleDataSummary, tmp_path: Path
) -> None:
    again = _generate(tmp_path / "landing", persons=PERSONS, seed=7)
    assert _files(again.landing_dir) == _files(run.landing_dir)


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    first = _files(_generate(tmp_path / "a", persons=200, seed=1).landing_dir)
    second = _files(_generate(tmp_path / "b", persons=200, seed=2).landing_dir)
    assert first["campaigns/campaigns.csv"] == second["campaigns/campaigns.csv"]
    assert first["message_events/part-00000.csv"] != second["message_events/part-00000.csv"]


def test_writes_the_files_of_every_table_in_all_three_formats(run: SampleDataSummary) -> None:
    written = [path.relative_to(run.landing_dir).as_posix() for path in run.files]
    assert written == [
        "campaigns/campaigns.csv",
        "identities/identities.csv",
        "message_events/late_arrivals.jsonl",
        "message_events/part-00000.csv",
        "message_events/part-00001.csv",
        "message_events/part-00002.csv",
        "message_events/redelivered.jsonl",
        "product_events/late_arrivals.csv",
        "product_events/part-00000.parquet",
        "product_events/part-00001.parquet",
        "product_events/part-00002.parquet",
        "product_events/redelivered.csv",
    ]
    assert sorted(_files(run.landing_dir)) == written  # nothing else was left behind


def test_summary_counts_every_row_written(
    run: SampleDataSummary, con: duckdb.DuckDBPyConnection
) -> None:
    counts = [
        con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
        for table in ("campaigns", "message_events", "product_events", "identities")
    ]
    assert counts == [run.campaigns, run.message_events, run.product_events, run.identities]
    assert run.campaigns == 12


def test_rerun_wipes_only_the_four_table_folders(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "message_events").mkdir(parents=True)
    (landing / "message_events" / "stale.csv").write_text("event_id\nold\n")
    (landing / "notes").mkdir()
    (landing / "notes" / "keep.txt").write_text("mine")
    _generate(landing, persons=50)
    assert not (landing / "message_events" / "stale.csv").exists()
    assert (landing / "notes" / "keep.txt").read_text() == "mine"


def test_campaigns_cover_every_channel_and_message_type(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select campaign_id, channel, message_type from campaigns order by campaign_id"
    ).fetchall()
    assert rows == CAMPAIGNS
    names = con.execute("select count(distinct campaign_name), count(created_at) from campaigns")
    assert names.fetchone() == (12, 12)


def test_campaigns_are_sent_at_their_scheduled_korean_hour(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # c01: day 1 at 19:00 in Seoul is 10:00 UTC on 2 November. c10: day 20 at 07:00 in
    # Seoul is kept inside the UTC day, so 22:00 UTC on 21 November. A bulk send spreads
    # over fifteen minutes.
    first_sends = dict(
        con.execute(
            "select campaign_id, min(occurred_at) from message_events "
            "where campaign_id in ('c01', 'c10') and event_type in ('send', 'holdout') "
            "group by 1"
        ).fetchall()
    )
    last_sends = dict(
        con.execute(
            "select campaign_id, max(occurred_at) from message_events "
            "where campaign_id in ('c01', 'c10') and event_type in ('send', 'holdout') "
            "and channel is null group by 1"
        ).fetchall()
    )
    assert "2026-11-02T10:00:00Z" <= first_sends["c01"] <= last_sends["c01"]
    assert last_sends["c01"] < "2026-11-02T10:15:00Z"
    assert "2026-11-21T22:00:00Z" <= first_sends["c10"] <= last_sends["c10"]
    assert last_sends["c10"] < "2026-11-21T22:15:00Z"


def test_required_columns_are_filled(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(
        """
        select
            count(*) filter (where event_id is null or campaign_id is null
                or message_id is null or event_type is null or occurred_at is null),
            count(*) filter (where user_id is null and device_id is null)
        from message_events
        """
    ).fetchone() == (0, 0)
    assert con.execute(
        """
        select
            count(*) filter (where event_id is null or event_key is null
                or occurred_at is null),
            count(*) filter (where user_id is null and device_id is null)
        from product_events
        """
    ).fetchone() == (0, 0)
    assert con.execute(
        "select count(*) filter (where device_id is null or user_id is null "
        "or linked_at is null) from identities"
    ).fetchone() == (0,)
    assert con.execute(
        "select count(*), count(distinct campaign_id) from campaigns "
        "where channel in ('push', 'kakao', 'sms', 'email', 'in_app')"
    ).fetchone() == (12, 12)


def test_event_types_and_keys_are_the_contracts(con: duckdb.DuckDBPyConnection) -> None:
    types = con.execute("select distinct event_type from message_events order by 1").fetchall()
    assert [t for (t,) in types] == ["click", "deliver", "fail", "holdout", "open", "send"]
    keys = con.execute("select distinct event_key from product_events order by 1").fetchall()
    assert [k for (k,) in keys] == [
        "add_to_cart",
        "app_open",
        "event_participation",
        "purchase",
        "sign_up",
        "view_item",
        "visit",
    ]


def test_every_timestamp_is_utc_iso_8601(con: duckdb.DuckDBPyConnection) -> None:
    values = con.execute(
        "select occurred_at from message_events union all "
        "select occurred_at from product_events union all "
        "select linked_at from identities union all select created_at from campaigns"
    ).fetchall()
    for (value,) in values:
        parsed = datetime.fromisoformat(value)
        assert value.endswith("Z") and parsed.utcoffset() == timedelta(0), value


def test_events_fall_in_the_month(con: duckdb.DuckDBPyConnection) -> None:
    # Messages are all sent within the month; what they cause may run into the days after.
    first, last = con.execute(
        "select min(occurred_at), max(occurred_at) from message_events "
        "where event_type in ('send', 'holdout')"
    ).fetchone()  # type: ignore[misc]
    assert datetime.fromisoformat(first) >= PERIOD_START
    assert datetime.fromisoformat(last) < PERIOD_END
    first, last = con.execute(
        "select min(occurred_at), max(occurred_at) from product_events"
    ).fetchone()  # type: ignore[misc]
    assert datetime.fromisoformat(first) >= PERIOD_START
    assert datetime.fromisoformat(last) < PERIOD_END + timedelta(days=8)


def test_properties_are_json_objects(con: duckdb.DuckDBPyConnection) -> None:
    values = con.execute(
        "select properties from message_events where properties is not null union all "
        "select properties from product_events where properties is not null"
    ).fetchall()
    assert values
    assert all(isinstance(json.loads(value), dict) for (value,) in values)


def test_every_message_event_belongs_to_a_campaign(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(
        "select count(*) from message_events where campaign_id not in "
        "(select campaign_id from campaigns)"
    ).fetchone() == (0,)
    # One message is one campaign to one person: its events agree on both.
    assert con.execute(
        """
        select count(*) from (
            select message_id from message_events group by message_id
            having count(distinct campaign_id) > 1
                or count(distinct coalesce(user_id, '') || '|' || coalesce(device_id, '')) > 1
        )
        """
    ).fetchone() == (0,)


def test_a_channel_is_given_only_when_it_differs_from_the_campaigns(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert con.execute(
        "select distinct campaign_channel, channel from message_channels where channel is not null"
    ).fetchall() == [("kakao", "sms")]


def test_opens_are_only_on_email_and_in_app(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select distinct sent_on from message_channels where event_type = 'open' order by 1"
    ).fetchall()
    assert rows == [("email",), ("in_app",)]


def test_kakao_failures_fall_back_to_sms_on_the_same_message(
    con: duckdb.DuckDBPyConnection,
) -> None:
    fallbacks = con.execute(
        """
        select
            message_id,
            any_value(campaign_id),
            max(occurred_at::timestamp) filter (where event_type = 'fail' and channel is null),
            min(occurred_at::timestamp) filter (where event_type = 'send' and channel = 'sms'),
            min(occurred_at::timestamp)
                filter (where event_type = 'deliver' and channel = 'sms'),
            count(distinct event_id) filter (where event_type = 'send' and channel is null)
        from message_events
        where message_id in (select message_id from message_events where channel = 'sms')
        group by message_id
        """
    ).fetchall()
    assert len(fallbacks) > 20
    for message_id, campaign_id, failed, resent, delivered, kakao_sends in fallbacks:
        # Only the Alimtalk and Friendtalk campaigns fall back; brand messages do not.
        assert campaign_id in ("c02", "c04"), message_id
        assert kakao_sends == 1, message_id
        # The SMS goes out two to eight seconds after the failure and is then delivered.
        assert failed + timedelta(seconds=2) <= resent <= failed + timedelta(seconds=8)
        assert resent < delivered


def test_some_messages_fail_and_some_sms_never_confirm_delivery(
    con: duckdb.DuckDBPyConnection,
) -> None:
    failing = con.execute(
        "select distinct sent_on from message_channels where event_type = 'fail' order by 1"
    ).fetchall()
    assert failing == [("email",), ("kakao",), ("push",), ("sms",)]
    # SMS messages whose carrier never reported: a send, no deliver and no fail.
    unconfirmed = con.execute(
        """
        select count(*) from (
            select message_id from message_channels where campaign_channel = 'sms'
            group by message_id
            having bool_or(event_type = 'send')
                and not bool_or(event_type in ('deliver', 'fail'))
        )
        """
    ).fetchone()[0]  # type: ignore[index]
    assert unconfirmed > 50
    assert con.execute(
        "select count(*) from message_channels where sent_on = 'push' and event_type = 'deliver'"
    ).fetchone() == (0,)


def test_holdouts_are_a_tenth_of_three_campaigns_and_get_nothing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = con.execute(
        """
        select
            campaign_id,
            count(distinct message_id) filter (where event_type = 'holdout'),
            count(distinct message_id)
        from message_events group by campaign_id
        having count(*) filter (where event_type = 'holdout') > 0
        order by campaign_id
        """
    ).fetchall()
    assert [campaign_id for campaign_id, _, _ in rows] == ["c01", "c04", "c10"]
    for campaign_id, held_out, audience in rows:
        assert 0.06 < held_out / audience < 0.14, campaign_id
    # A held-out message has its holdout event and nothing else.
    assert con.execute(
        """
        select count(*) from (
            select message_id from message_events group by message_id
            having bool_or(event_type = 'holdout') and bool_or(event_type <> 'holdout')
        )
        """
    ).fetchone() == (0,)


def test_exact_duplicates_are_in_their_own_files(con: duckdb.DuckDBPyConnection) -> None:
    for table, repeated_file in (
        ("message_events", "redelivered.jsonl"),
        ("product_events", "redelivered.csv"),
    ):
        total, distinct = con.execute(
            f"select count(*), count(distinct event_id) from {table}"
        ).fetchone()  # type: ignore[misc]
        repeated = total - distinct
        assert 0.003 < repeated / distinct < 0.007, table
        copies = con.execute(
            f"select * exclude (file, properties), properties from {table} "
            f"where file = '{repeated_file}' order by event_id"
        ).fetchall()
        originals = con.execute(
            f"select * exclude (file, properties), properties from {table} "
            f"where file <> '{repeated_file}' and event_id in "
            f"(select event_id from {table} where file = '{repeated_file}') order by event_id"
        ).fetchall()
        assert len(copies) == repeated

        def parsed(row: tuple) -> tuple:
            properties = None if row[-1] is None else json.loads(row[-1])
            return (*row[:-1], properties)

        assert [parsed(row) for row in copies] == [parsed(row) for row in originals]


def test_late_arrivals_are_in_their_own_files(con: duckdb.DuckDBPyConnection) -> None:
    for table, late_file in (
        ("message_events", "late_arrivals.jsonl"),
        ("product_events", "late_arrivals.csv"),
    ):
        late, in_parts = con.execute(
            f"""
            select count(*), count(*) filter (where event_id in (
                select event_id from {table} where file like 'part-%'))
            from {table} where file = '{late_file}'
            """
        ).fetchone()  # type: ignore[misc]
        assert late > 20, table
        assert in_parts == 0, table


def test_purchases_carry_amount_currency_and_order_and_some_orders_repeat(
    con: duckdb.DuckDBPyConnection,
) -> None:
    purchases = con.execute(
        "select distinct event_id, properties from product_events where event_key = 'purchase'"
    ).fetchall()
    orders: dict[str, set[str]] = {}
    for event_id, properties in purchases:
        values = json.loads(properties)
        assert sorted(values) == ["amount", "currency", "order_id"]
        assert isinstance(values["amount"], int) and values["amount"] >= 0
        assert values["currency"] == "KRW"
        orders.setdefault(values["order_id"], set()).add(event_id)
    repeated_orders = [ids for ids in orders.values() if len(ids) == 2]
    assert repeated_orders
    assert all(len(ids) <= 2 for ids in orders.values())
    assert any(json.loads(p)["amount"] == 0 for _, p in purchases)  # paid with points


def test_devices_are_linked_to_users_some_only_after_their_events(
    con: duckdb.DuckDBPyConnection,
) -> None:
    device_only = con.execute(
        "select count(*) from product_events where user_id is null"
    ).fetchone()[0]  # type: ignore[index]
    assert device_only > 100
    linked_late = con.execute(
        """
        select count(*) from identities as i
        where i.linked_at > (
            select min(p.occurred_at) from product_events as p
            where p.device_id = i.device_id and p.user_id is null
        )
        """
    ).fetchone()[0]  # type: ignore[index]
    assert linked_late > 10
    # A device belongs to one user only, and the events that name both agree with it.
    assert con.execute(
        "select count(*) - count(distinct device_id) from identities"
    ).fetchone() == (0,)
    assert con.execute(
        """
        select count(*) from product_events as p join identities as i using (device_id)
        where p.user_id is not null and p.user_id <> i.user_id
        """
    ).fetchone() == (0,)


def test_some_people_buy_without_any_message(con: duckdb.DuckDBPyConnection) -> None:
    # A person is their user id, or the user their device is linked to, or the device.
    buyers_without_messages = con.execute(
        """
        with people_messaged as (
            select coalesce(m.user_id, i.user_id, m.device_id) as person
            from message_events as m left join identities as i using (device_id)
        )
        select count(distinct coalesce(p.user_id, i.user_id, p.device_id))
        from product_events as p left join identities as i using (device_id)
        where p.event_key = 'purchase'
            and coalesce(p.user_id, i.user_id, p.device_id)
                not in (select person from people_messaged where person is not null)
        """
    ).fetchone()[0]  # type: ignore[index]
    assert buyers_without_messages > 10


def test_clicks_convert_far_more_often_than_receipt_alone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Within 72 hours of the first click, or of the send for messages received but not
    # clicked: clicked sessions buy with 40% x 45% odds, the others at the baseline rate.
    rates = dict(
        con.execute(
            """
            with people as (
                select distinct on (event_id) p.*, coalesce(p.user_id, i.user_id) as person
                from product_events as p left join identities as i using (device_id)
                where p.event_key = 'purchase'
            ),
            messages as (
                select
                    message_id,
                    coalesce(any_value(m.user_id), any_value(i.user_id)) as person,
                    min(m.occurred_at::timestamp) filter (where event_type = 'send') as sent,
                    min(m.occurred_at::timestamp) filter (where event_type = 'click')
                        as clicked,
                    bool_or(event_type = 'fail') as failed
                from message_events as m left join identities as i using (device_id)
                where event_type in ('send', 'click', 'fail')
                group by message_id
            )
            select
                clicked is not null as was_clicked,
                avg((exists (
                    select 1 from people as p
                    where p.person = messages.person
                        and p.occurred_at::timestamp > coalesce(clicked, sent)
                        and p.occurred_at::timestamp
                            <= coalesce(clicked, sent) + interval 72 hour
                ))::int)
            from messages
            where person is not null and sent is not null and not failed
            group by 1
            """
        ).fetchall()
    )
    assert rates[True] > 0.1
    assert rates[True] > 4 * rates[False]


def test_rejects_a_run_without_people(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="persons must be at least 1, got 0"):
        generate_sample_data(tmp_path, persons=0)
