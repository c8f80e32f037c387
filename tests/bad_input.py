"""A landing folder with a bit of everything that goes wrong in real exports.

Each row below says what the rules make of it, so that the expectations of
tests/test_quarantine.py and tests/test_personal_data.py can be read off by hand.
Times are UTC on 2026-11-02 unless a row says otherwise. The report `main` has a
24-hour window and one goal, purchase, valued by amount and deduplicated by order_id.
"""

from __future__ import annotations

import csv
from pathlib import Path

CONFIG = """
timezone: UTC
reports:
  - name: main
    window: 24h
    goals:
      - {name: purchase, event_key: purchase, value: amount, dedupe: order_id}
"""

# Planted personal data: none of it may reach a table outside raw and quarantine.
KIM_EMAIL = "kim@example.com"
LEE_EMAIL = "lee@example.com"
PUSH_PHONE = "010-1234-5678"
SMS_PHONE = "010-2222-3333"
PLANTED = (KIM_EMAIL, LEE_EMAIL, PUSH_PHONE, SMS_PHONE)

CAMPAIGN_HEADER = ("campaign_id", "campaign_name", "channel", "message_type", "created_at")
CAMPAIGNS = [
    ("c1", "Push", "push", "", "2026-11-01 00:00:00"),  # 1 staged
    ("c2", "Mail", "email", "", "2026-11-01 00:00:00"),  # 2 staged
    ("c3", "Texts", "sms", "sms", "2026-11-01 00:00:00"),  # 3 duplicate: later.csv redefines c3
    ("", "Nameless", "push", "", ""),  # 4 missing_campaign_id
    ("c5", "Fax", "fax", "", ""),  # 5 unknown_channel
    ("c6", "Soon", "kakao", "", "next week"),  # 6 unparseable_created_at
]
LATER_CAMPAIGNS = [("c3", "Texts again", "sms", "sms", "")]  # 1 staged, the last definition

MESSAGE_HEADER = (
    "event_id",
    "campaign_id",
    "message_id",
    "user_id",
    "device_id",
    "channel",
    "event_type",
    "occurred_at",
    "properties",
)
MESSAGE_EVENTS = [
    # 1-3: m1 to u1, clicked at 10:30; the click's phone property is dropped.
    ("e01", "c1", "m1", "u1", "", "", "send", "2026-11-02 10:00:00", ""),
    ("e02", "c1", "m1", "u1", "", "", "deliver", "2026-11-02 10:01:00", ""),
    (
        "e03",
        "c1",
        "m1",
        "u1",
        "",
        "",
        "click",
        "2026-11-02 10:30:00",
        f'{{"link": "https://shop.example/sale", "phone": "{PUSH_PHONE}"}}',
    ),
    # 4-5: m2 to a user whose id is an e-mail address: hashed, still one person.
    ("e04", "c1", "m2", KIM_EMAIL, "", "", "send", "2026-11-02 10:00:00", ""),
    ("e05", "c1", "m2", KIM_EMAIL, "", "", "deliver", "2026-11-02 10:02:00", ""),
    # 6-7: m3 to u3 was delivered and opened, but its send is not in the logs: a warning.
    ("e06", "c2", "m3", "u3", "", "", "deliver", "2026-11-02 09:01:00", ""),
    ("e07", "c2", "m3", "u3", "", "", "open", "2026-11-02 09:05:00", ""),
    # 8-9: m4 to u4 was clicked an hour before it was sent: a warning. Received at the
    # click (no delivery, no failure), which is also its first click.
    ("e08", "c2", "m4", "u4", "", "", "send", "2026-11-02 12:00:00", ""),
    ("e09", "c2", "m4", "u4", "", "", "click", "2026-11-02 11:00:00", ""),
    # 10-11: m5 by SMS to a device whose id is the phone number: hashed; "to" is dropped.
    (
        "e10",
        "c3",
        "m5",
        "",
        SMS_PHONE,
        "",
        "send",
        "2026-11-02 10:00:00",
        f'{{"to": "{SMS_PHONE}", "segment": "vip"}}',
    ),
    ("e11", "c3", "m5", "", SMS_PHONE, "", "deliver", "2026-11-02 10:00:05", ""),
    # 12: unknown_campaign; its e-mail address stays in raw and quarantine only.
    ("e12", "c9", "m6", LEE_EMAIL, "", "", "send", "2026-11-02 10:00:00", ""),
    ("e13", "c1", "m7", "u7", "", "", "send", "not a time", ""),  # 13 unparseable_occurred_at
    ("e14", "c1", "m7", "u7", "", "", "send", "2999-01-01T00:00:00Z", ""),  # 14 future
    ("e15", "c1", "m8", "", "", "", "send", "2026-11-02 10:00:00", ""),  # 15 missing_person
    ("e16", "c1", "m8", "u8", "", "", "bounce", "2026-11-02 10:00:00", ""),  # 16 unknown type
    ("e17", "c1", "m8", "u8", "", "", "send", "2026-11-02 10:00:00", "oops"),  # 17 not JSON
    ("e01", "c1", "m1", "u1", "", "", "send", "2026-11-02 10:00:00", ""),  # 18 duplicate
    # 19: c5 exists in the files but was quarantined, so it is not a campaign.
    ("e19", "c5", "m9", "u9", "", "", "send", "2026-11-02 10:00:00", ""),
    ("e20", "c1", "", "u1", "", "", "send", "2026-11-02 10:00:00", ""),  # 20 missing_message_id
]

PRODUCT_HEADER = ("event_id", "event_key", "user_id", "device_id", "occurred_at", "properties")
PRODUCT_EVENTS = [
    # 1: u1 buys o1 30 min after m1's click: direct and indirect for c1.
    ("p01", "purchase", "u1", "", "2026-11-02 11:00:00", '{"order_id": "o1", "amount": 30000}'),
    # 2: the e-mail user buys o2 five hours after m2's receipt: indirect for c1. The hashed
    # ids of both tables join; the address in the properties is dropped.
    (
        "p02",
        "purchase",
        KIM_EMAIL,
        "",
        "2026-11-02 15:00:00",
        f'{{"order_id": "o2", "amount": 20000, "email": "{KIM_EMAIL}"}}',
    ),
    # 3: u3 buys after m3's delivery with an empty order id: it counts, with a warning.
    ("p03", "purchase", "u3", "", "2026-11-02 10:00:00", '{"order_id": "", "amount": 5000}'),
    # 4: u4 buys two hours after m4's click; the amount is not a number, so it counts with
    # no value and the value is set aside in quarantine.goal_values.
    ("p04", "purchase", "u4", "", "2026-11-02 13:00:00", '{"order_id": "o4", "amount": "lots"}'),
    ("p05", "", "u1", "", "2026-11-02 11:00:00", ""),  # 5 missing_event_key
    # 6 unparseable_occurred_at: month first, which PostgreSQL's parser alone would read.
    ("p06", "purchase", "u1", "", "11/02/2026 10:00:00", ""),
    # 7: the SMS device buys two hours after m5's receipt: indirect for c3.
    ("p07", "purchase", "", SMS_PHONE, "2026-11-02 12:00:00", '{"order_id": "o7", "amount": 7000}'),
    ("p01", "purchase", "u1", "", "2026-11-02 11:00:00", '{"order_id": "o1", "amount": 30000}'),
    ("p09", "purchase", "u9", "", "2026-11-02 12:00:00", '{"amount": 1, "amount": 2}'),  # 9
]

IDENTITY_HEADER = ("device_id", "user_id", "linked_at")
IDENTITIES = [
    ("dev-1", "u1", "2026-11-01 00:00:00"),  # 1 staged
    ("dev-2", "", "2026-11-01 00:00:00"),  # 2 missing_user_id
]


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_bad_input(root: Path) -> tuple[Path, Path]:
    """Write the landing folder and the report config under root; return both paths."""
    landing = root / "landing"
    _write_csv(landing / "campaigns" / "campaigns.csv", CAMPAIGN_HEADER, CAMPAIGNS)
    _write_csv(landing / "campaigns" / "later.csv", CAMPAIGN_HEADER, LATER_CAMPAIGNS)
    _write_csv(landing / "message_events" / "events.csv", MESSAGE_HEADER, MESSAGE_EVENTS)
    _write_csv(landing / "product_events" / "events.csv", PRODUCT_HEADER, PRODUCT_EVENTS)
    _write_csv(landing / "identities" / "links.csv", IDENTITY_HEADER, IDENTITIES)
    config = root / "reports.yml"
    config.write_text(CONFIG, encoding="utf-8")
    return landing, config
