"""Invariants of the marts on generated raw tables, broken rows and all.

Hypothesis writes small landing folders: a planned data set of three campaigns, messages
to five recipients and their product events, in which each row may have one value
replaced by another good one, an id that meets other rows, or a malformed value of a kind
the quarantine knows or does not. Whatever the rows, the run must succeed and these must
hold:

- every raw row is staged, quarantined or a duplicate removed;
- direct converters never exceed indirect converters;
- each funnel step counts no more persons than the step before it;
- every rate lies in [0, 1] or is NULL;
- under last_touch a conversion is credited at most once.

A build takes about half a minute, so there are few examples; each has its own folder.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.landing import CONTRACTS
from orchestration.pipeline import run_pipeline
from orchestration.quarantine import account_rows
from orchestration.settings import RunSettings

CONFIG = """
timezone: Asia/Seoul
reports:
  - name: independent
    window: 24h
    windows:
      by_channel:
        sms: {direct: 12h, indirect: 6h}
    lookback: 2d
    goals:
      - name: purchase
        event_key: purchase
        value: amount
        dedupe: order_id
        where:
          - {property: amount, op: ">", value: 0}
        steps: [view_item, add_to_cart]
      - {name: sign_up, event_key: sign_up}
  - name: last
    window: 12h
    credit: last_touch
    goals:
      - {name: purchase, event_key: purchase, value: amount, dedupe: order_id}
"""

START = datetime(2026, 11, 1, tzinfo=UTC)

# Text a person could type into any cell, kept to what a CSV file can hold as a value.
free_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    max_size=6,
)


def _pick(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


def _iso(instant: datetime, form: int) -> str:
    if form == 0:
        return instant.strftime("%Y-%m-%d %H:%M:%S")
    if form == 1:
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (instant + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S+09:00")


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """An instant in the three days of the data, in one of the ISO forms exports use, or junk."""
    junk = _pick(
        "",
        "not a time",
        "2026-02-30 10:00:00",
        "2999-01-01T00:00:00Z",
        "-infinity",
        "infinity",
        "0001-01-01 00:00:00",
        "2026-11-01T10:00:00+99:00",
    )
    if draw(st.booleans()):
        return draw(junk | free_text)
    minutes = draw(st.integers(0, 3 * 24 * 60))
    return _iso(START + timedelta(minutes=minutes), draw(st.integers(0, 2)))


properties = st.one_of(
    _pick(
        "",
        "{}",
        '{"order_id": ""}',
        '{"amount": "abc", "order_id": "o1"}',
        '{"amount": null}',
        '{"phone": "010-1234-5678", "amount": 5}',
        "[1, 2]",
        '"text"',
        "not json",
        '{"amount": 1, "amount": 2}',
        '{"amount": 1e400}',
    ),
    st.builds(
        lambda amount, order: f'{{"amount": {amount}, "order_id": "o{order}"}}',
        st.integers(-5, 50_000),
        st.integers(1, 4),
    ),
    free_text,
)
users = _pick("", "u1", "u2", "u3", "kim@example.com", "010-2222-3333") | free_text
devices = _pick("", "d1", "d2", "010-2222-3333")
channels = _pick("", "push", "kakao", "sms", "email", "in_app", "EMAIL", "fax")

# What a row may have instead of its planned value in one column: another good value, a
# value that meets other rows (an id used elsewhere), or a malformed one.
CAMPAIGN_CHANGES: dict[str, st.SearchStrategy[str]] = {
    "campaign_id": _pick("", " c1 ", "c2", "c9") | free_text,
    "campaign_name": free_text,
    "channel": channels,
    "message_type": _pick("alimtalk", "lms", ""),
    "created_at": timestamps(),
}
MESSAGE_CHANGES: dict[str, st.SearchStrategy[str]] = {
    "event_id": _pick("", "e0", "e1", "e2"),
    "campaign_id": _pick("", "c1", "c2", "c3", "c9"),
    "message_id": _pick("", "m0", "m1", "m2"),
    "user_id": users,
    "device_id": devices,
    "channel": channels,
    "event_type": _pick(
        "send", "deliver", "fail", "open", "click", "holdout", "CLICK", "bounce", ""
    ),
    "occurred_at": timestamps(),
    "properties": properties,
}
PRODUCT_CHANGES: dict[str, st.SearchStrategy[str]] = {
    "event_id": _pick("", "p0", "p1"),
    "event_key": _pick("purchase", "view_item", "add_to_cart", "sign_up", ""),
    "user_id": users,
    "device_id": devices,
    "occurred_at": timestamps(),
    "properties": properties,
}
IDENTITY_CHANGES: dict[str, st.SearchStrategy[str]] = {
    "device_id": devices,
    "user_id": _pick("", "u1", "u2", "kim@example.com"),
    "linked_at": timestamps(),
}

# Five recipients in turn: users, an e-mail address as the user id, a device only.
PLANNED_USERS = ("u1", "u2", "u3", "kim@example.com", "")
PLANNED_DEVICES = ("", "d1", "", "", "010-2222-3333")


def _changed(
    draw: st.DrawFn, planned: dict[str, str], changes: dict[str, st.SearchStrategy[str]]
) -> tuple[str, ...]:
    """The planned row, or it with one column's value replaced.

    Hypothesis tries the simplest choice first, which here is no change: its first
    example is the clean data set, and later ones break some of its rows.
    """
    column = draw(st.none() | st.sampled_from(sorted(changes)))
    if column is not None:
        planned = {**planned, column: draw(changes[column])}
    return tuple(planned.values())


@st.composite
def campaign_tables(draw: st.DrawFn) -> list[tuple[str, ...]]:
    planned = [("c1", "push"), ("c2", "email"), ("c3", "sms")]
    return [
        _changed(
            draw,
            {
                "campaign_id": campaign_id,
                "campaign_name": campaign_id.upper(),
                "channel": channel,
                "message_type": "",
                "created_at": "2026-10-31 00:00:00",
            },
            CAMPAIGN_CHANGES,
        )
        for campaign_id, channel in planned
    ]


@st.composite
def message_tables(draw: st.DrawFn) -> list[tuple[str, ...]]:
    """Messages of three events each (send, deliver, then a click or an open), an hour
    apart, to the five planned recipients in turn."""
    rows: list[tuple[str, ...]] = []
    for number in range(draw(st.integers(15, 36))):
        message, step = divmod(number, 3)
        offset = timedelta(hours=message, minutes=(0, 1, 30)[step])
        planned = {
            "event_id": f"e{number}",
            "campaign_id": ("c1", "c2", "c3")[message % 3],
            "message_id": f"m{message}",
            "user_id": PLANNED_USERS[message % 5],
            "device_id": PLANNED_DEVICES[message % 5],
            "channel": "",
            "event_type": ("send", "deliver", "click" if message % 2 else "open")[step],
            "occurred_at": _iso(START + offset, message % 3),
            "properties": "",
        }
        rows.append(_changed(draw, planned, MESSAGE_CHANGES))
        # An export that delivers the same event twice.
        if draw(st.integers(0, 7)) == 7:
            rows.append(rows[-1])
    return rows


@st.composite
def product_tables(draw: st.DrawFn) -> list[tuple[str, ...]]:
    """The five recipients browse, add to cart and buy, 45 minutes after each message."""
    rows: list[tuple[str, ...]] = []
    for number in range(draw(st.integers(8, 24))):
        event_key = ("view_item", "add_to_cart", "purchase", "sign_up")[number % 4]
        planned = {
            "event_id": f"p{number}",
            "event_key": event_key,
            "user_id": PLANNED_USERS[number % 5],
            "device_id": PLANNED_DEVICES[number % 5],
            "occurred_at": _iso(START + timedelta(hours=number, minutes=45), 0),
            "properties": (
                f'{{"amount": {1000 * (number + 1)}, "order_id": "o{number // 4}"}}'
                if event_key == "purchase"
                else ""
            ),
        }
        rows.append(_changed(draw, planned, PRODUCT_CHANGES))
    return rows


@st.composite
def identity_tables(draw: st.DrawFn) -> list[tuple[str, ...]]:
    planned = {"device_id": "d1", "user_id": "u2", "linked_at": "2026-11-02 00:00:00"}
    return [_changed(draw, planned, IDENTITY_CHANGES)]


def _write_csv(folder: Path, table: str, rows: list[tuple[str, ...]]) -> None:
    path = folder / table / f"{table}.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONTRACTS[table].columns)
        writer.writerows(rows)


RATES = {
    "fct_campaign_performance": (
        "delivery_rate",
        "open_rate",
        "click_rate",
        "direct_conversion_rate",
        "indirect_conversion_rate",
    ),
    "fct_campaign_daily": (
        "delivery_rate",
        "open_rate",
        "click_rate",
        "direct_conversion_rate",
        "indirect_conversion_rate",
    ),
    "fct_campaign_funnel": ("rate_from_previous", "rate_from_first"),
    "fct_campaign_lift": ("treatment_rate", "control_rate"),
}

# Each query returns the rows that break its invariant.
VIOLATIONS = {
    "direct converters above indirect": """
        select report, campaign_id, goal, direct_converters, indirect_converters
        from marts.fct_campaign_performance
        where direct_converters > indirect_converters
    """,
    "a funnel step above the one before": """
        select * from (
            select
                report, campaign_id, goal, step_index, persons,
                lag(persons) over (
                    partition by report, campaign_id, goal order by step_index
                ) as previous_persons
            from marts.fct_campaign_funnel
        ) as steps
        where persons > previous_persons
    """,
    "a conversion credited twice under last_touch": """
        select report, goal, conversion_id, count(*)
        from marts.fct_attributed_conversions
        where credit_mode = 'last_touch'
        group by all
        having count(*) > 1
    """,
} | {
    f"a rate of {mart} outside [0, 1]": (
        f"select * from marts.{mart} where "
        + " or ".join(f"not ({column} between 0 and 1)" for column in columns)
    )
    for mart, columns in RATES.items()
}


def _assert_invariants(database: Path) -> None:
    with duckdb.connect(str(database), read_only=True) as con:
        for table in CONTRACTS:
            account = account_rows(con, table)
            assert account.unaccounted == 0, account.describe()
        for invariant, sql in VIOLATIONS.items():
            assert con.execute(sql).fetchall() == [], invariant


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
@given(
    campaigns=campaign_tables(),
    message_events=message_tables(),
    product_events=product_tables(),
    identities=identity_tables(),
)
def test_marts_keep_their_invariants_on_any_rows(
    dbt_manifest: Path,
    campaigns: list[tuple[str, ...]],
    message_events: list[tuple[str, ...]],
    product_events: list[tuple[str, ...]],
    identities: list[tuple[str, ...]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="campaign-report-invariants-") as scratch:
        root = Path(scratch)
        landing = root / "landing"
        _write_csv(landing, "campaigns", campaigns)
        _write_csv(landing, "message_events", message_events)
        _write_csv(landing, "product_events", product_events)
        _write_csv(landing, "identities", identities)
        config = root / "reports.yml"
        config.write_text(CONFIG, encoding="utf-8")
        database = root / "campaign_report.duckdb"

        run_pipeline(RunSettings(database=database, landing=landing, config=config))

        _assert_invariants(database)
