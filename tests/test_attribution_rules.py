"""The measurement rules of real CRM teams, end to end: landing files in, marts out.

Each person below stands for one worked example, so their numbers can be read
off by hand:

- u_s clicks SMS campaign c_sms at 10:00 on 11-02. With sms windows of 24h
  direct and 12h indirect, a purchase at 10:00 the next day (10) is direct and
  one at 10:00:01 (11) is credited to nothing: past the click window and far
  past the 12-hour receipt window.
- u_pe receives push c_push at 09:00 on 11-01 and clicks e-mail c_email
  (delivered 11:00) at 12:00, then buys at 13:00 (100). Independently, c_email
  is direct and indirect and c_push indirect; under last touch c_email alone
  gets it, as a direct conversion.
- Device d1 receives push c_push2 at 09:00 on 11-01 and buys at 10:00 (50)
  without logging in; at 11:00 d1 logs in as u1. c_push2 has one recipient,
  u1, and one indirect converter, u1.
- Kakao message m_k of c_kakao fails at 10:00 on 11-01, and the same m_k is
  sent by SMS at 10:00:05 and delivered at 10:00:09: one recipient, one
  received message, received by fallback, with an SMS window from 10:00:09. A
  purchase exactly 12 hours later (30) is indirect; one a second after (31) is
  not.

The report `targeted` covers push campaigns first sent on 2026-11-01 in Seoul,
so it has rows for c_push and c_push2 only.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.pipeline import run_pipeline
from orchestration.publish import published_path
from orchestration.settings import RunSettings

CONFIG = """
timezone: Asia/Seoul
reports:
  - name: independent
    window: 72h
    windows:
      by_channel:
        sms: {direct: 24h, indirect: 12h}
    goals:
      - {name: purchase, event_key: purchase, value: amount}
  - name: last
    window: 72h
    windows:
      by_channel:
        sms: {direct: 24h, indirect: 12h}
    credit: last_touch
    goals:
      - {name: purchase, event_key: purchase, value: amount}
  - name: targeted
    window: 72h
    campaigns:
      channels: [push]
      sent_between: [2026-11-01, 2026-11-01]
    goals:
      - {name: purchase, event_key: purchase, value: amount}
"""

CAMPAIGNS = [
    ("c_sms", "SMS", "sms"),
    ("c_push", "Push", "push"),
    ("c_email", "E-mail", "email"),
    ("c_push2", "Push to devices", "push"),
    ("c_kakao", "Kakao", "kakao"),
]

# event_id, campaign_id, message_id, user_id, device_id, channel, event_type, occurred_at
MESSAGE_EVENTS = [
    ("e1", "c_sms", "m_s", "u_s", "", "", "send", "2026-11-02T09:59:00Z"),
    ("e2", "c_sms", "m_s", "u_s", "", "", "deliver", "2026-11-02T09:59:30Z"),
    ("e3", "c_sms", "m_s", "u_s", "", "", "click", "2026-11-02T10:00:00Z"),
    ("e4", "c_push", "m_p", "u_pe", "", "", "send", "2026-11-01T09:00:00Z"),
    ("e5", "c_email", "m_e", "u_pe", "", "", "send", "2026-11-01T11:00:00Z"),
    ("e6", "c_email", "m_e", "u_pe", "", "", "deliver", "2026-11-01T11:00:00Z"),
    ("e7", "c_email", "m_e", "u_pe", "", "", "click", "2026-11-01T12:00:00Z"),
    ("e8", "c_push2", "m_d", "", "d1", "", "send", "2026-11-01T09:00:00Z"),
    ("e9", "c_kakao", "m_k", "u_k", "", "", "fail", "2026-11-01T10:00:00Z"),
    ("e10", "c_kakao", "m_k", "u_k", "", "sms", "send", "2026-11-01T10:00:05Z"),
    ("e11", "c_kakao", "m_k", "u_k", "", "sms", "deliver", "2026-11-01T10:00:09Z"),
]

# event_id, user_id, device_id, occurred_at, amount
PURCHASES = [
    ("p1", "u_s", "", "2026-11-03T10:00:00Z", 10),
    ("p2", "u_s", "", "2026-11-03T10:00:01Z", 11),
    ("p3", "u_pe", "", "2026-11-01T13:00:00Z", 100),
    ("p4", "", "d1", "2026-11-01T10:00:00Z", 50),
    ("p5", "u_k", "", "2026-11-01T22:00:09Z", 30),
    ("p6", "u_k", "", "2026-11-01T22:00:10Z", 31),
]

PERFORMANCE = """
select
    campaign_id, recipients, messages_sent, received, received_by_fallback, opened, clicked,
    direct_converters, direct_conversions, direct_value,
    indirect_converters, indirect_conversions, indirect_value, view_through_converters
from marts.fct_campaign_performance
where report = ? and goal = 'purchase'
order by campaign_id
"""


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@dataclass(frozen=True)
class Warehouse:
    path: Path

    def rows(self, sql: str, *parameters: object) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, list(parameters)).fetchall()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Warehouse:
    root = tmp_path_factory.mktemp("rules")
    landing = root / "landing"
    _write_csv(
        landing / "campaigns/campaigns.csv",
        ["campaign_id", "campaign_name", "channel"],
        CAMPAIGNS,
    )
    _write_csv(
        landing / "message_events/events.csv",
        [
            "event_id",
            "campaign_id",
            "message_id",
            "user_id",
            "device_id",
            "channel",
            "event_type",
            "occurred_at",
        ],
        MESSAGE_EVENTS,
    )
    _write_csv(
        landing / "product_events/purchases.csv",
        ["event_id", "event_key", "user_id", "device_id", "occurred_at", "properties"],
        [
            (event_id, "purchase", user, device, at, f'{{"amount": {amount}}}')
            for event_id, user, device, at, amount in PURCHASES
        ],
    )
    # The link arrives after both the message and the purchase of d1.
    _write_csv(
        landing / "identities/identities.csv",
        ["device_id", "user_id", "linked_at"],
        [("d1", "u1", "2026-11-01T11:00:00Z")],
    )
    config = root / "reports.yml"
    config.write_text(CONFIG, encoding="utf-8")
    database = root / "warehouse.duckdb"
    run_pipeline(RunSettings(database=database, landing=landing, config=config))
    return Warehouse(database)


def _d(value: int) -> Decimal:
    return Decimal(value)


def test_independent_credit_per_campaign(warehouse: Warehouse) -> None:
    assert warehouse.rows(PERFORMANCE, "independent") == [
        # campaign, recipients, messages, received, by fallback, opened, clicked,
        # direct converters / conversions / value, indirect ..., view-through
        ("c_email", 1, 1, 1, 0, 1, 1, 1, 1, _d(100), 1, 1, _d(100), 0),
        ("c_kakao", 1, 1, 1, 1, None, 0, 0, 0, _d(0), 1, 1, _d(30), 1),
        ("c_push", 1, 1, 1, 0, None, 0, 0, 0, _d(0), 1, 1, _d(100), 1),
        ("c_push2", 1, 1, 1, 0, None, 0, 0, 0, _d(0), 1, 1, _d(50), 1),
        ("c_sms", 1, 1, 1, 0, None, 1, 1, 1, _d(10), 1, 1, _d(10), 0),
    ]


def test_last_touch_gives_the_purchase_to_the_clicked_email(warehouse: Warehouse) -> None:
    assert warehouse.rows(PERFORMANCE, "last") == [
        ("c_email", 1, 1, 1, 0, 1, 1, 1, 1, _d(100), 1, 1, _d(100), 0),
        ("c_kakao", 1, 1, 1, 1, None, 0, 0, 0, _d(0), 1, 1, _d(30), 1),
        ("c_push", 1, 1, 1, 0, None, 0, 0, 0, _d(0), 0, 0, _d(0), 0),
        ("c_push2", 1, 1, 1, 0, None, 0, 0, 0, _d(0), 1, 1, _d(50), 1),
        ("c_sms", 1, 1, 1, 0, None, 1, 1, 1, _d(10), 1, 1, _d(10), 0),
    ]
    # Each conversion has at most one credited row, so campaign totals add up
    # to at most the number of purchases that were credited at all (p1, p3,
    # p4, p5).
    assert warehouse.rows(
        "select conversion_id, count(*) from marts.fct_attributed_conversions "
        "where report = 'last' group by conversion_id order by conversion_id"
    ) == [("p1", 1), ("p3", 1), ("p4", 1), ("p5", 1)]


def test_a_device_linked_later_is_its_user(warehouse: Warehouse) -> None:
    assert warehouse.rows(
        "select person_id, message_id, attribution_type, hours_from_anchor "
        "from marts.fct_attributed_conversions "
        "where report = 'independent' and campaign_id = 'c_push2'"
    ) == [("u1", "m_d", "indirect", 1.0)]


def test_a_kakao_fallback_is_received_once_on_sms(warehouse: Warehouse) -> None:
    assert warehouse.rows(
        "select conversion_id, received_channel, anchor_at, hours_from_anchor "
        "from marts.fct_attributed_conversions "
        "where report = 'independent' and campaign_id = 'c_kakao'"
    ) == [("p5", "sms", datetime.fromisoformat("2026-11-01 10:00:09"), 12.0)]


def test_a_target_keeps_only_its_campaigns(warehouse: Warehouse) -> None:
    assert warehouse.rows(
        "select campaign_id, first_sent_date from marts.fct_campaign_performance "
        "where report = 'targeted' order by campaign_id"
    ) == [
        ("c_push", date.fromisoformat("2026-11-01")),
        ("c_push2", date.fromisoformat("2026-11-01")),
    ]


def test_every_row_carries_its_report_definition(warehouse: Warehouse) -> None:
    hashes = warehouse.rows(
        "select report, count(distinct report_hash), min(credit_mode) "
        "from marts.fct_campaign_performance group by report order by report"
    )
    assert [(report, count, mode) for report, count, mode in hashes] == [
        ("independent", 1, "independent"),
        ("last", 1, "last_touch"),
        ("targeted", 1, "independent"),
    ]
    # The two reports differ only in credit, and that alone changes the hash.
    assert (
        len(
            {
                row[0]
                for row in warehouse.rows(
                    "select distinct report_hash from marts.fct_campaign_performance"
                )
            }
        )
        == 3
    )


def test_daily_rows_add_up_to_the_campaign_totals(warehouse: Warehouse) -> None:
    measures = [
        "recipients",
        "messages_sent",
        "received",
        "received_by_fallback",
        "failed",
        "clicked",
        "direct_converters",
        "direct_conversions",
        "direct_value",
        "indirect_converters",
        "indirect_conversions",
        "indirect_value",
        "view_through_converters",
    ]
    summed = ", ".join(f"sum({measure})" for measure in measures)
    plain = ", ".join(measures)
    daily = warehouse.rows(
        f"select report, campaign_id, goal, {summed} from marts.fct_campaign_daily "
        "group by all order by all"
    )
    totals = warehouse.rows(
        f"select report, campaign_id, goal, {plain} from marts.fct_campaign_performance "
        "where recipients > 0 order by all"
    )
    assert daily == totals
    # Seoul is nine hours ahead: u_s's send at 09:59 UTC is 18:59 on 11-02.
    assert warehouse.rows(
        "select send_date from marts.fct_campaign_daily "
        "where report = 'independent' and campaign_id = 'c_sms'"
    ) == [(date.fromisoformat("2026-11-02"),)]


def test_the_documented_sql_client_opens_the_published_copy(warehouse: Warehouse) -> None:
    # The README tells analysts to open the published copy with the duckdb CLI installed
    # in .venv; it must read the storage version that the pipeline's duckdb wrote.
    client = Path(sys.executable).with_name("duckdb")
    shown = subprocess.run(
        [
            str(client),
            "-readonly",
            "-csv",
            str(published_path(warehouse.path)),
            "-c",
            "select campaign_id, indirect_converters from marts.fct_campaign_performance "
            "where report = 'last' and campaign_id in ('c_email', 'c_push') order by 1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "campaign_id,indirect_converters",
        "c_email,1",
        "c_push,0",
    ]
