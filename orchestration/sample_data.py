"""A month of synthetic CRM data in the landing layout, for the demo and the tests.

Each person gets devices, an identity (a member, or an anonymous visitor who may sign up),
a baseline of product sessions that has nothing to do with messages, and the messages of
the campaigns whose audience they fall into. A click starts a session that converts far
more often than a baseline one; a received message now and then brings the person back
for an ordinary session later. The holdout groups see the baseline only, so a report built
on this data must show the lift.

People are simulated one at a time and written out a part file of them at a time, so a run
of any size holds only a part's worth in memory. Parts share nothing, so they run in
parallel, one process a core. Each part draws from its own ``random.Random``, seeded from
the run's seed and the part's position, and every id is built from the person's position:
the same seed and size give byte-identical files however the work was scheduled.
"""

from __future__ import annotations

import bisect
import csv
import functools
import json
import multiprocessing
import operator
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb

from orchestration.landing import CONTRACTS, load_table

# The generator writes exactly the landing contract the loader reads.
TABLES = tuple(CONTRACTS)
CAMPAIGN_COLUMNS = CONTRACTS["campaigns"].columns
MESSAGE_EVENT_COLUMNS = CONTRACTS["message_events"].columns
PRODUCT_EVENT_COLUMNS = CONTRACTS["product_events"].columns
IDENTITY_COLUMNS = CONTRACTS["identities"].columns

# People per part file. A part is also the unit held in memory while it is generated.
PERSONS_PER_FILE = 10_000

# Shares of rows that land a second time (same event_id, same values) or only in a later
# batch; they go to files of their own so a loader sees them as separate deliveries.
DUPLICATE_SHARE = 0.005
LATE_SHARE = 0.01

HOUR = 3_600
DAY = 86_400
# Anything a message causes happens within a week of the send; the reports use shorter
# windows, so some of it falls outside them on purpose.
MAX_REACTION = 7 * DAY
SEND_SPREAD = 900  # a bulk send leaves the sending tool over about fifteen minutes
HOLDOUT_SHARE = 0.10
SHOP = "https://shop.example.com"

# How likely a session is to look at items, fill the cart and buy. A click lands the
# person on the offer, so those sessions convert several times more often than the rest.
BASELINE_SESSIONS_PER_DAY = 0.09
EVENT_NAME = "autumn-roulette"


@dataclass(frozen=True)
class _Propensity:
    view: float
    cart: float
    buy: float


BASELINE = _Propensity(view=0.7, cart=0.25, buy=0.3)
NUDGED = _Propensity(view=0.85, cart=0.35, buy=0.35)
CLICKED = _Propensity(view=1.0, cart=0.4, buy=0.45)
NUDGE_CHANCE = 0.1  # a received, unclicked message brings the person back now and then

# Chance of a click once a message is received (e-mail and in-app: once it is opened).
CLICK_RATE = {"push": 0.06, "kakao": 0.05, "sms": 0.025, "email": 0.18, "in_app": 0.12}

# Session activity by hour of day in Korea, where the demo's customers live.
KST_HOURLY_WEIGHTS = (2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 6, 7, 8, 9, 10, 9, 5)
# Upper bounds of each hour's share of the day, for drawing an hour with one random number.
KST_HOURLY_CUMULATIVE = tuple(
    sum(KST_HOURLY_WEIGHTS[: hour + 1]) / sum(KST_HOURLY_WEIGHTS) for hour in range(23)
)
KST_OFFSET = 9 * HOUR


@dataclass(frozen=True)
class _Campaign:
    """One campaign of the demo month and who it goes to."""

    campaign_id: str
    name: str
    channel: str
    message_type: str | None
    day: int  # day of a 30-day month on which it is sent; scaled for other lengths
    kst_hour: int
    audience: str  # app, anonymous_app, phone or email
    reach: float  # share of the eligible people it is sent to
    path: str  # landing page of its link
    holdout: bool = False
    fallback: bool = False  # Kakao only: a failed message is sent again as an SMS
    goal: str = "shop"  # what a click leads to: shop, event or sign_up


# The demo month, one campaign a line: id, name, channel, message type, day, Korean hour,
# audience, reach, landing page, then what sets it apart.
# fmt: off
CAMPAIGNS: tuple[_Campaign, ...] = (
    _Campaign("c01", "Weekend flash sale", "push", None, 1, 19, "app", 0.8, "sale",
              holdout=True),
    _Campaign("c02", "Points expiring soon", "kakao", "alimtalk", 3, 10, "phone", 0.35, "points",
              fallback=True),
    _Campaign("c03", "November newsletter", "email", None, 4, 8, "email", 0.9, "new"),
    _Campaign("c04", "Members-only coupon", "kakao", "friendtalk", 6, 12, "phone", 0.5, "coupon",
              holdout=True, fallback=True),
    _Campaign("c05", "Members day reminder", "sms", "sms", 8, 11, "phone", 0.3, "members"),
    _Campaign("c06", "Autumn roulette event", "in_app", None, 10, 13, "app", 0.6, "event",
              goal="event"),
    _Campaign("c07", "Sign up for a welcome coupon", "push", None, 12, 20, "anonymous_app", 1.0,
              "welcome", goal="sign_up"),
    _Campaign("c08", "Winter collection arrives", "sms", "lms", 14, 18, "phone", 0.4, "winter"),
    _Campaign("c09", "Black Friday preview", "kakao", "brand_message", 18, 20, "phone", 0.5, "bf"),
    _Campaign("c10", "Black Friday sale", "email", None, 20, 7, "email", 0.95, "bf",
              holdout=True),
    _Campaign("c11", "Holiday gift guide", "sms", "mms", 23, 12, "phone", 0.3, "gifts"),
    _Campaign("c12", "Items left in your cart", "in_app", None, 25, 21, "app", 0.4, "cart"),
)
# fmt: on


@dataclass(frozen=True)
class SampleDataSummary:
    """What one run wrote. Row counts include the rows written twice on purpose."""

    landing_dir: Path
    campaigns: int
    message_events: int
    product_events: int
    identities: int
    files: tuple[Path, ...]


def generate_sample_data(
    landing_dir: Path,
    *,
    persons: int = 20_000,
    seed: int = 7,
    start: date = date(2026, 11, 1),
    days: int = 30,
) -> SampleDataSummary:
    """Wipe the four table folders under ``landing_dir`` and write a fresh month into them."""
    landing_dir = Path(landing_dir)
    period = _fresh_landing(landing_dir, persons, start, days)
    campaigns_path = landing_dir / "campaigns" / "campaigns.csv"
    campaign_count = _write_campaigns(campaigns_path, period)
    jobs = [
        _PartJob(landing_dir, part, first, min(first + PERSONS_PER_FILE, persons), seed, period)
        for part, first in enumerate(range(0, persons, PERSONS_PER_FILE))
    ]

    # The rows that arrive late or twice, and the identities, go to one file each, written
    # here in part order so the output never depends on which worker finished first.
    late_messages = _JsonLinesSink(
        landing_dir / "message_events" / "late_arrivals.jsonl", MESSAGE_EVENT_COLUMNS
    )
    repeated_messages = _JsonLinesSink(
        landing_dir / "message_events" / "redelivered.jsonl", MESSAGE_EVENT_COLUMNS
    )
    late_products = _CsvSink(
        landing_dir / "product_events" / "late_arrivals.csv", PRODUCT_EVENT_COLUMNS
    )
    repeated_products = _CsvSink(
        landing_dir / "product_events" / "redelivered.csv", PRODUCT_EVENT_COLUMNS
    )
    identities = _CsvSink(landing_dir / "identities" / "identities.csv", IDENTITY_COLUMNS)
    shared = (late_messages, repeated_messages, late_products, repeated_products, identities)
    files = [campaigns_path, *(sink.path for sink in shared)]
    message_count = product_count = identity_count = 0
    try:
        for result in _run_parts(jobs):
            late_messages.write(result.late_messages)
            repeated_messages.write(result.repeated_messages)
            late_products.write(result.late_products)
            repeated_products.write(result.repeated_products)
            identities.write(result.identities)
            message_count += result.message_events
            product_count += result.product_events
            identity_count += len(result.identities)
            files += result.files
    finally:
        for sink in shared:
            sink.close()
    return SampleDataSummary(
        landing_dir=landing_dir,
        campaigns=campaign_count,
        message_events=message_count,
        product_events=product_count,
        identities=identity_count,
        files=tuple(sorted(files)),
    )


def _fresh_landing(landing_dir: Path, persons: int, start: date, days: int) -> _Period:
    """Check the size, empty the table folders and return the period to draw."""
    if persons < 1:
        raise ValueError(f"persons must be at least 1, got {persons}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    for table in TABLES:
        shutil.rmtree(landing_dir / table, ignore_errors=True)
        (landing_dir / table).mkdir(parents=True)
    return _Period(int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()), days)


@dataclass(frozen=True)
class _PartJob:
    """One part file's people: persons ``first`` up to but not including ``stop``."""

    landing_dir: Path
    part: int
    first: int
    stop: int
    seed: int
    period: _Period


@dataclass(frozen=True)
class _PartResult:
    files: tuple[Path, ...]
    message_events: int  # every row of this part, including its late and repeated ones
    product_events: int
    late_messages: list[MessageRow]
    repeated_messages: list[MessageRow]
    late_products: list[ProductRow]
    repeated_products: list[ProductRow]
    identities: list[IdentityRow]


def _run_parts(jobs: list[_PartJob]) -> Iterator[_PartResult]:
    """Generate the parts, on every core when there is more than one part."""
    # The cores this process may use, which in a container can be fewer than the machine's.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(len(jobs), cores or 1)
    if workers <= 1:
        yield from map(_write_part, jobs)
        return
    # Parts share nothing, so they run in separate processes; spawn rather than fork, so a
    # caller's open DuckDB connections or threads are never copied into a worker.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_write_part, jobs)


def _write_part(job: _PartJob) -> _PartResult:
    rng = random.Random(f"campaign-report-sample-{job.seed}-{job.part}")
    simulator = _Simulator(rng, job.period)
    for index in range(job.first, job.stop):
        simulator.simulate(index)

    message_path = job.landing_dir / "message_events" / f"part-{job.part:05d}.csv"
    messages, late_messages, repeated_messages = _split_deliveries(rng, simulator.message_rows)
    with _CsvSink(message_path, MESSAGE_EVENT_COLUMNS) as sink:
        sink.write(messages)

    product_path = job.landing_dir / "product_events" / f"part-{job.part:05d}.parquet"
    products, late_products, repeated_products = _split_deliveries(rng, simulator.product_rows)
    _write_parquet(product_path, PRODUCT_EVENT_COLUMNS, products)
    return _PartResult(
        files=(message_path, product_path),
        message_events=len(messages) + len(late_messages) + len(repeated_messages),
        product_events=len(products) + len(late_products) + len(repeated_products),
        late_messages=late_messages,
        repeated_messages=repeated_messages,
        late_products=late_products,
        repeated_products=repeated_products,
        identities=simulator.identity_rows,
    )


@dataclass(frozen=True)
class _Period:
    start: int  # epoch seconds, UTC midnight of the first day
    days: int

    def send_time(self, campaign: _Campaign) -> int:
        day = min(campaign.day * self.days // 30, self.days - 1)
        # The hour is a Korean wall-clock hour kept inside the same UTC day, so every send
        # falls within the period whatever its length.
        return self.start + day * DAY + (campaign.kst_hour * HOUR - KST_OFFSET) % DAY


@dataclass
class _Device:
    device_id: str
    app: bool
    linked_at: int | None  # when it became known to belong to the person's user_id


@dataclass
class _Person:
    index: int
    user_id: str
    member: bool  # signed up before the period; otherwise an anonymous visitor
    devices: list[_Device]
    push_opt_in: bool
    phone: bool
    kakao: bool
    email: bool
    sessions_per_day: float
    pending_sign_up: int | None = None  # an anonymous visitor's own sign-up time, if any
    product_seq: int = 0
    order_seq: int = 0

    @property
    def app_device(self) -> _Device | None:
        return next((device for device in self.devices if device.app), None)

    def next_event_id(self) -> str:
        self.product_seq += 1
        return f"p-{self.index:08d}-{self.product_seq}"

    def next_order_id(self) -> str:
        self.order_seq += 1
        return f"o-{self.index:08d}-{self.order_seq}"


@dataclass
class _Message:
    campaign: _Campaign
    message_id: str
    user_id: str | None
    device_id: str | None
    seq: int = 0


# (event_id, campaign_id, message_id, user_id, device_id, channel, event_type, at, properties)
MessageRow = tuple[str, str, str, str | None, str | None, str | None, str, int, str | None]
# (event_id, event_key, user_id, device_id, at, properties)
ProductRow = tuple[str, str, str | None, str | None, int, str | None]
# (device_id, user_id, linked_at)
IdentityRow = tuple[str, str, int]


@dataclass
class _Simulator:
    """Turns people into rows, one person at a time, keeping one part file's worth."""

    rng: random.Random
    period: _Period
    message_rows: list[MessageRow] = field(default_factory=list)
    product_rows: list[ProductRow] = field(default_factory=list)
    identity_rows: list[IdentityRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        # In send order, so a person's earlier messages are settled before later ones.
        self.campaigns = sorted(
            ((campaign, self.period.send_time(campaign)) for campaign in CAMPAIGNS),
            key=lambda pair: pair[1],
        )

    def simulate(self, index: int) -> None:
        person = self._make_person(index)
        for campaign, send_at in self.campaigns:
            if self._targets(person, campaign, send_at):
                self._message(person, campaign, send_at + self._between(0, SEND_SPREAD - 1))
        if person.pending_sign_up is not None:
            self._sign_up_session(person, person.pending_sign_up)
        self._baseline_sessions(person)
        for device in person.devices:
            if device.linked_at is not None:
                self.identity_rows.append((device.device_id, person.user_id, device.linked_at))

    # People

    def _make_person(self, index: int) -> _Person:
        rng = self.rng
        period_seconds = self.period.days * DAY
        member = rng.random() < 0.88
        has_app = rng.random() < 0.65
        devices = [self._device(app=has_app)]
        pending_sign_up = None
        if member:
            if has_app and rng.random() < 0.25:
                devices.append(self._device(app=False))  # also shops on the mobile web
            if has_app and rng.random() < 0.08:
                devices.append(self._device(app=True))  # a second phone or a tablet
            for position, device in enumerate(devices):
                # Most devices were linked long ago; the rest log in for the first time
                # during the month, after some anonymous activity on them.
                if rng.random() < (0.85 if position == 0 else 0.5):
                    device.linked_at = self.period.start - self._between(HOUR, 180 * DAY)
                else:
                    device.linked_at = self.period.start + self._between(0, period_seconds - 1)
        elif rng.random() < 0.35:
            # An anonymous visitor who signs up on their own during the month. The device
            # counts as linked from then on, so later messages already know the user.
            pending_sign_up = self.period.start + self._between(0, period_seconds - 1)
            devices[0].linked_at = pending_sign_up
        phone = member and rng.random() < 0.92
        return _Person(
            index=index,
            user_id=f"u-{index:08d}",
            member=member,
            devices=devices,
            push_opt_in=has_app and rng.random() < 0.6,
            phone=phone,
            kakao=phone and rng.random() < 0.85,
            email=member and rng.random() < 0.7,
            # Skewed: most people come rarely, a few come almost every day.
            sessions_per_day=rng.gammavariate(0.7, BASELINE_SESSIONS_PER_DAY / 0.7),
            pending_sign_up=pending_sign_up,
        )

    def _device(self, *, app: bool) -> _Device:
        prefix = "app" if app else "web"
        return _Device(f"{prefix}-{self.rng.getrandbits(64):016x}", app, None)

    # Messages

    def _targets(self, person: _Person, campaign: _Campaign, send_at: int) -> bool:
        if campaign.audience == "phone":
            eligible = person.phone
        elif campaign.audience == "email":
            eligible = person.email
        else:
            device = person.app_device
            eligible = device is not None and (campaign.channel != "push" or person.push_opt_in)
            if campaign.audience == "anonymous_app":
                eligible = eligible and not person.member and not _linked_by(device, send_at)
        return eligible and self.rng.random() < campaign.reach

    def _message(self, person: _Person, campaign: _Campaign, send_at: int) -> None:
        device = person.app_device if campaign.channel in ("push", "in_app") else None
        if device is None:
            user_id: str | None = person.user_id
        else:
            # A push or in-app message goes to a device; the sender knows whose it is only
            # if the device was linked by then.
            user_id = person.user_id if _linked_by(device, send_at) else None
        message = _Message(
            campaign,
            f"m-{campaign.campaign_id}-{person.index:08d}",
            user_id,
            device.device_id if device else None,
        )
        if campaign.holdout and self.rng.random() < HOLDOUT_SHARE:
            self._event(message, "holdout", send_at)
            return
        self._event(message, "send", send_at)
        flows = {
            "push": self._push,
            "kakao": self._kakao,
            "sms": self._sms,
            "email": self._email,
            "in_app": self._in_app,
        }
        received_at = flows[campaign.channel](person, message, send_at)
        if received_at is not None and self.rng.random() < NUDGE_CHANCE:
            later = received_at + min(int(self.rng.expovariate(1 / (8 * HOUR))), MAX_REACTION)
            self._session(person, self._any_device(person), later, NUDGED)

    def _push(self, person: _Person, message: _Message, sent: int) -> int | None:
        # Push providers confirm nothing, so a push that did not fail counts as received.
        if self.rng.random() < 0.05:
            self._fail(message, sent, "unregistered device token")
            return None
        self._maybe_click(person, message, sent, "push")
        return sent

    def _kakao(self, person: _Person, message: _Message, sent: int) -> int | None:
        rng = self.rng
        if person.kakao and rng.random() >= 0.03:
            delivered = sent + self._between(1, 10)
            self._event(message, "deliver", delivered)
            self._maybe_click(person, message, delivered, "kakao")
            return delivered
        reason = "not a KakaoTalk user" if not person.kakao else "blocked by the recipient"
        failed = self._fail(message, sent, reason)
        if not message.campaign.fallback:
            return None
        # The same message goes out again as a text message a few seconds after the failure.
        resent = failed + self._between(2, 8)
        self._event(message, "send", resent, channel="sms")
        delivered = resent + self._between(1, 15)
        self._event(message, "deliver", delivered, channel="sms")
        self._maybe_click(person, message, delivered, "sms", channel="sms")
        return delivered

    def _sms(self, person: _Person, message: _Message, sent: int) -> int | None:
        draw = self.rng.random()
        if draw < 0.03:
            self._fail(message, sent, "invalid number")
            return None
        received = sent
        # About a quarter of carriers never report delivery; those messages still arrive.
        if draw < 0.73:
            received = sent + self._between(1, 30)
            self._event(message, "deliver", received)
        self._maybe_click(person, message, received, "sms")
        return received

    def _email(self, person: _Person, message: _Message, sent: int) -> int | None:
        rng = self.rng
        if rng.random() < 0.04:
            self._fail(message, sent, rng.choice(("hard bounce", "mailbox full")))
            return None
        delivered = sent + self._between(5, 120)
        self._event(message, "deliver", delivered)
        if rng.random() < 0.25:
            opened = delivered + self._delay(3 * HOUR)
            self._event(message, "open", opened)
            if rng.random() < 0.2:
                self._event(message, "open", opened + self._delay(12 * HOUR))
            self._maybe_click(person, message, opened, "email", mean_delay=60)
        elif rng.random() < 0.01:
            # Images blocked: the open pixel never loads, but the link is clicked.
            self._click(person, message, delivered + self._delay(3 * HOUR))
        return delivered

    def _in_app(self, person: _Person, message: _Message, sent: int) -> int | None:
        if self.rng.random() < 0.55:
            # The message is shown the next time the app is opened; that shown is its open.
            shown = sent + self._delay(6 * HOUR)
            device = person.app_device
            assert device is not None  # in-app audiences are app users only
            user_id = self._session_user(person, device, shown - 1)
            self._product_event(person, device, shown - 1, "app_open", None, user_id)
            self._event(message, "open", shown)
            self._maybe_click(person, message, shown, "in_app", mean_delay=10)
        return sent

    def _maybe_click(
        self,
        person: _Person,
        message: _Message,
        after: int,
        rate_of: str,
        *,
        mean_delay: int = 20 * 60,
        channel: str | None = None,
    ) -> None:
        if self.rng.random() < CLICK_RATE[rate_of]:
            self._click(person, message, after + self._delay(mean_delay), channel=channel)

    def _click(
        self, person: _Person, message: _Message, at: int, *, channel: str | None = None
    ) -> None:
        campaign = message.campaign
        link = f"{SHOP}/{campaign.path}?utm_campaign={campaign.campaign_id}"
        self._event(message, "click", at, channel=channel, properties=_props(("link", link)))
        # Push and in-app links open the app that showed them; other links open wherever
        # the person happens to read the message.
        device = person.app_device if campaign.channel in ("push", "in_app") else None
        device = device or self._any_device(person)
        landed = at + self._between(2, 30)
        if campaign.goal == "sign_up":
            self._start_event(person, device, landed, None, campaign)
            if self.rng.random() < 0.4:
                self._sign_up(person, device, landed + self._between(30, 300))
        elif campaign.goal == "event":
            user_id = self._session_user(person, device, landed)
            self._start_event(person, device, landed, user_id, campaign)
            if self.rng.random() < 0.5:
                props = _props(("event_name", EVENT_NAME))
                at = landed + self._between(10, 120)
                self._product_event(person, device, at, "event_participation", props, user_id)
        else:
            self._session(person, device, landed, CLICKED, campaign=campaign)

    def _fail(self, message: _Message, sent: int, reason: str) -> int:
        failed = sent + self._between(2, 20)
        self._event(message, "fail", failed, properties=_props(("reason", reason)))
        return failed

    def _event(
        self,
        message: _Message,
        event_type: str,
        at: int,
        *,
        channel: str | None = None,
        properties: str | None = None,
    ) -> None:
        message.seq += 1
        self.message_rows.append(
            (
                f"{message.message_id}-{message.seq}",
                message.campaign.campaign_id,
                message.message_id,
                message.user_id,
                message.device_id,
                channel,
                event_type,
                at,
                properties,
            )
        )

    # Product sessions

    def _baseline_sessions(self, person: _Person) -> None:
        # Sessions arrive as a Poisson process over the period, at the hours Koreans shop.
        rate = max(person.sessions_per_day, 1e-9)
        elapsed = self.rng.expovariate(rate)
        while elapsed < self.period.days:
            kst_hour = bisect.bisect(KST_HOURLY_CUMULATIVE, self.rng.random())
            second = (kst_hour * HOUR - KST_OFFSET) % DAY + self._between(0, HOUR - 1)
            at = self.period.start + int(elapsed) * DAY + second
            self._session(person, self.rng.choice(person.devices), at, BASELINE)
            elapsed += self.rng.expovariate(rate)

    def _sign_up(self, person: _Person, device: _Device, at: int) -> None:
        """Make an anonymous visitor a user, unless they already were before ``at``."""
        if device.linked_at is not None and device.linked_at < at:
            return
        # Signing up now replaces the sign-up the visitor would have made later on.
        person.pending_sign_up = None
        device.linked_at = at
        props = _props(("method", self.rng.choice(("kakao", "email", "apple"))))
        self._product_event(person, device, at, "sign_up", props, person.user_id)

    def _sign_up_session(self, person: _Person, at: int) -> None:
        device = person.devices[0]
        self._start_event(person, device, at - self._between(30, 600), None)
        self._sign_up(person, device, at)

    def _session(
        self,
        person: _Person,
        device: _Device,
        at: int,
        propensity: _Propensity,
        *,
        campaign: _Campaign | None = None,
    ) -> None:
        rng = self.rng
        user_id = self._session_user(person, device, at)
        self._start_event(person, device, at, user_id, campaign)
        if rng.random() >= propensity.view:
            return
        item = 0
        while item == 0 or rng.random() < 0.45:
            item = self._between(1, 500)
            at += self._between(5, 120)
            props = _props(("item_id", _sku(item)))
            self._product_event(person, device, at, "view_item", props, user_id)
        if rng.random() < 0.01:
            at += self._between(5, 60)
            props = _props(("event_name", EVENT_NAME))
            self._product_event(person, device, at, "event_participation", props, user_id)
        if rng.random() >= propensity.cart:
            return
        price = _price(item)
        at += self._between(5, 120)
        props = _props(("item_id", _sku(item)), ("price", price))
        self._product_event(person, device, at, "add_to_cart", props, user_id)
        if rng.random() >= propensity.buy:
            return
        quantity = 1 if rng.random() < 0.8 else 2
        # A few orders are paid entirely with points, so their amount is zero.
        amount = 0 if rng.random() < 0.01 else price * quantity
        order = _encode_json(
            {"amount": amount, "currency": "KRW", "order_id": person.next_order_id()}
        )
        at += self._between(30, 600)
        self._product_event(person, device, at, "purchase", order, user_id)
        if rng.random() < 0.02:
            # Both the app and the order server reported this order: same order_id, two events.
            self._product_event(
                person, device, at + self._between(1, 5), "purchase", order, user_id
            )

    def _start_event(
        self,
        person: _Person,
        device: _Device,
        at: int,
        user_id: str | None,
        campaign: _Campaign | None = None,
    ) -> None:
        if device.app:
            self._product_event(person, device, at, "app_open", None, user_id)
            return
        props = None
        if campaign is not None:
            props = _props(
                ("utm_source", "crm"),
                ("utm_medium", campaign.channel),
                ("utm_campaign", campaign.campaign_id),
            )
        self._product_event(person, device, at, "visit", props, user_id)

    def _product_event(
        self,
        person: _Person,
        device: _Device,
        at: int,
        event_key: str,
        properties: str | None,
        user_id: str | None,
    ) -> None:
        self.product_rows.append(
            (person.next_event_id(), event_key, user_id, device.device_id, at, properties)
        )

    def _session_user(self, person: _Person, device: _Device, at: int) -> str | None:
        # Before a device is linked its sessions carry the device only; after, most carry
        # the user too, and the rest are sessions of a logged-out user.
        if _linked_by(device, at) and self.rng.random() < 0.9:
            return person.user_id
        return None

    def _any_device(self, person: _Person) -> _Device:
        return self.rng.choice(person.devices)

    def _between(self, low: int, high: int) -> int:
        """A whole number from low to high inclusive; cheaper than randint on this hot path."""
        return low + int(self.rng.random() * (high - low + 1))

    def _delay(self, mean_seconds: int) -> int:
        return 1 + min(int(self.rng.expovariate(1 / mean_seconds)), MAX_REACTION)


def _linked_by(device: _Device | None, at: int) -> bool:
    return device is not None and device.linked_at is not None and device.linked_at <= at


def _sku(item: int) -> str:
    return f"sku-{item:04d}"


def _price(item: int) -> int:
    # A fixed catalogue: every item always costs the same, 5,000 to 99,000 won.
    return 1_000 * (5 + (item * 37) % 95)


def _split_deliveries(
    rng: random.Random, rows: list[Any]
) -> tuple[list[Any], list[Any], list[Any]]:
    """Sort rows by time, then set aside the ones that arrive late and the ones sent twice."""
    rows.sort(key=operator.itemgetter(-2, 0))  # the time, then the event id
    late = set(rng.sample(range(len(rows)), round(len(rows) * LATE_SHARE)))
    repeated = sorted(rng.sample(range(len(rows)), round(len(rows) * DUPLICATE_SHARE)))
    main = [row for position, row in enumerate(rows) if position not in late]
    return main, [rows[i] for i in sorted(late)], [rows[i] for i in repeated]


@functools.cache
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))


@functools.cache
def _clock() -> tuple[str, ...]:
    """Every second of a day as HH:MM:SSZ, built once: a lookup beats strftime per row."""
    two_digits = [f"{number:02d}" for number in range(60)]
    return tuple(
        f"{hour}:{minute}:{second}Z"
        for hour in two_digits[:24]
        for minute in two_digits
        for second in two_digits
    )


def _iso(epoch_seconds: int) -> str:
    day, second = divmod(epoch_seconds, DAY)
    return _day_prefix(day) + _clock()[second]


# One shared encoder: json.dumps builds a new one on every call given non-default options.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@functools.lru_cache(maxsize=16_384)
def _props(*pairs: tuple[str, str | int]) -> str:
    """Properties as JSON object text. Most repeat (an item, a link), so each is built once."""
    return _encode_json(dict(pairs))


class _Layout:
    """Where a table's rows keep their timestamp and their properties.

    Rows stay tuples, with the time as epoch seconds and properties as JSON text, until a
    file format renders them its own way.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.time_index = next(i for i, name in enumerate(columns) if name.endswith("_at"))
        self.json_index = self.columns.index("properties") if "properties" in columns else None

    def as_text(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        values[self.time_index] = _iso(values[self.time_index])
        return values

    def as_record(self, row: Sequence[Any]) -> dict[str, Any]:
        record = dict(zip(self.columns, row, strict=True))
        record[self.columns[self.time_index]] = _iso(row[self.time_index])
        if self.json_index is not None and row[self.json_index] is not None:
            record["properties"] = json.loads(row[self.json_index])
        return record


class _CsvSink:
    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._layout = _Layout(columns)
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        as_text = self._layout.as_text
        self._writer.writerows([as_text(row) for row in rows])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _CsvSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _JsonLinesSink:
    """One JSON object a line; properties stay a nested object rather than quoted text."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._layout = _Layout(columns)
        self._file: TextIO = path.open("w", encoding="utf-8", newline="\n")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        as_record = self._layout.as_record
        self._file.writelines(_encode_json(as_record(row)) + "\n" for row in rows)

    def close(self) -> None:
        self._file.close()


def _write_parquet(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # Without pyarrow or pandas the simplest way into Parquet is through a CSV that DuckDB
    # reads back with every column declared as text.
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch) / "rows.csv"
        with _CsvSink(staging, columns) as sink:
            sink.write(rows)
        declared = ", ".join(f"'{column}': 'VARCHAR'" for column in columns)
        with duckdb.connect() as con:
            con.execute(
                f"copy (select * from read_csv(?, header = true, delim = ',', quote = '\"', "
                f"escape = '\"', columns = {{{declared}}})) to '{_sql_path(path)}' "
                "(format parquet)",
                [str(staging)],
            )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_campaigns(path: Path, period: _Period) -> int:
    with _CsvSink(path, CAMPAIGN_COLUMNS) as sink:
        sink.write(
            [
                # Set up two days before its send.
                (c.campaign_id, c.name, c.channel, c.message_type, period.send_time(c) - 2 * DAY)
                for c in CAMPAIGNS
            ]
        )
    return len(CAMPAIGNS)


# Bulk mode
#
# The simulator above is exact but runs at a few thousand people a second, far too slow for
# a benchmark of a hundred million message events. Bulk mode draws the same month with the
# same parameters (campaigns, reach, click rates, propensities, holdouts, fallbacks, late and
# repeated rows) as set-based DuckDB SQL instead: every random number is a hash of the run's
# seed, the row's key and what is being drawn, so the output depends only on the seed and the
# size, never on threads or scheduling. It writes Parquet part files of the same contract.
#
# It simplifies where a person-at-a-time rule does not vectorise: baseline sessions are
# spread evenly over the days rather than as a Poisson process, activity is exponentially
# rather than gamma distributed across people, a click on the sign-up campaign signs up only
# people who would not have signed up on their own, and a device linked by that sign-up does
# not put the user on later messages (identity stitching still joins them).

BULK_PERSONS_PER_PART = 500_000
# The longest run of item views one session can have in bulk mode.
BULK_MAX_VIEWS = 20
# Seconds between one viewed item and the next, at most.
_VIEW_STEP = 125


def generate_bulk_sample_data(
    landing_dir: Path,
    *,
    persons: int,
    seed: int = 7,
    start: date = date(2026, 11, 1),
    days: int = 30,
    sessions_per_day: float = BASELINE_SESSIONS_PER_DAY,
    persons_per_part: int = BULK_PERSONS_PER_PART,
    memory_limit: str = "4GB",
) -> SampleDataSummary:
    """Wipe the table folders under ``landing_dir`` and write a month drawn in bulk.

    ``sessions_per_day`` is the mean baseline activity of a person; lowering it gives fewer
    product events per message event. Memory stays within ``memory_limit`` plus a part's rows.
    """
    landing_dir = Path(landing_dir)
    period = _fresh_landing(landing_dir, persons, start, days)
    campaigns_path = landing_dir / "campaigns" / "campaigns.csv"
    files = [campaigns_path]
    campaign_count = _write_campaigns(campaigns_path, period)
    counts = {"message_events": 0, "product_events": 0, "identities": 0}
    with duckdb.connect() as con:
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set preserve_insertion_order = false")
        con.execute("set TimeZone = 'UTC'")
        _bulk_setup(con, seed, period, sessions_per_day)
        for part, first in enumerate(range(0, persons, persons_per_part)):
            stop = min(first + persons_per_part, persons)
            for statement in _bulk_part_sql(first, stop, period):
                con.execute(statement)
            for table in counts:
                written, paths = _bulk_write(con, landing_dir, table, part)
                counts[table] += written
                files += paths
    return SampleDataSummary(
        landing_dir=landing_dir,
        campaigns=campaign_count,
        message_events=counts["message_events"],
        product_events=counts["product_events"],
        identities=counts["identities"],
        files=tuple(sorted(files)),
    )


def _bulk_setup(
    con: duckdb.DuckDBPyConnection, seed: int, period: _Period, sessions_per_day: float
) -> None:
    # A uniform draw in [0, 1): 53 bits of a hash of the seed, two keys and a tag.
    con.execute(
        f"create temp macro r(k1, k2, tag) as "
        f"(hash(k1, k2, tag, {int(seed)}) >> 11)::double / 9007199254740992.0"
    )
    con.execute(
        "create temp macro pick(k1, k2, tag, lo, hi) as "
        "lo + floor(r(k1, k2, tag) * (hi - lo + 1))::bigint"
    )
    # An exponential reaction time of the given mean, at least a second, at most a week.
    con.execute(
        "create temp macro delay(k1, k2, tag, mean) as "
        f"1 + least(floor(-ln(1 - r(k1, k2, tag)) * mean)::bigint, {MAX_REACTION})"
    )
    con.execute(
        "create temp macro iso(epoch) as strftime(make_timestamp(epoch * 1000000), "
        "'%Y-%m-%dT%H:%M:%SZ')"
    )
    con.execute("create temp macro pad8(n) as lpad(n::varchar, 8, '0')")
    con.execute(
        f"create temp macro hex64(k, tag) as format('{{:016x}}', hash(k, tag, {int(seed)}))"
    )
    rows = []
    for number, campaign in enumerate(CAMPAIGNS):
        rows.append(
            f"({number}, '{campaign.campaign_id}', '{campaign.channel}', "
            f"'{campaign.audience}', {campaign.reach}, {campaign.holdout}, "
            f"{campaign.fallback}, '{campaign.goal}', '{campaign.path}', "
            f"{period.send_time(campaign)}, {CLICK_RATE[campaign.channel]})"
        )
    con.execute(
        "create temp table campaigns (campaign_no int, campaign_id varchar, channel varchar, "
        "audience varchar, reach double, holdout bool, fallback bool, goal varchar, "
        "path varchar, send_base bigint, click_rate double)"
    )
    con.execute(f"insert into campaigns values {', '.join(rows)}")
    # The UTC second of day at which a session's Korean hour starts, looked up by a draw
    # scaled to a thousand slots, so an hour costs one list access instead of a search.
    slots = [
        (bisect.bisect(KST_HOURLY_CUMULATIVE, (slot + 0.5) / 1000) * HOUR - KST_OFFSET) % DAY
        for slot in range(1000)
    ]
    con.execute(
        "create temp table settings as select "
        f"{period.start}::bigint as period_start, {period.days} as days, "
        f"{float(sessions_per_day)} as sessions_per_day, {slots} as hour_starts"
    )


def _second_device_sql(n: int, kind: str, share: float, period: _Period) -> str:
    """A member's extra device, if drawn: half were linked before the month, half during."""
    start, span = period.start, period.days * DAY
    return f"""case when member and has_app and r(i, {n}, 'extra') < {share} then {{
                'id': '{kind}-' || hex64(i, 'device{n}'),
                'app': {kind == "app"},
                'linked_at': case
                    when r(i, {n}, 'link') < 0.5
                        then {start} - pick(i, {n}, 'linked', {HOUR}, {180 * DAY})
                    else {start} + pick(i, {n}, 'linked', 0, {span - 1})
                end
            }} end"""


def _bulk_part_sql(first: int, stop: int, period: _Period) -> list[str]:
    """The statements that draw persons ``first`` up to ``stop`` into temp tables."""
    start, span = period.start, period.days * DAY
    persons = f"""
    create or replace temp table persons as
    with drawn as (
        select
            i,
            'u-' || pad8(i) as user_id,
            r(i, 0, 'member') < 0.88 as member,
            r(i, 0, 'app') < 0.65 as has_app,
            r(i, 0, 'pending') < 0.35 as pending_draw,
            {start} + pick(i, 0, 'pending_at', 0, {span - 1}) as pending_at,
            r(i, 0, 'phone') < 0.92 as phone_draw,
            r(i, 0, 'kakao') < 0.85 as kakao_draw,
            r(i, 0, 'email') < 0.7 as email_draw,
            r(i, 0, 'push') < 0.6 as push_draw,
            -ln(1 - r(i, 0, 'activity')) * (select sessions_per_day from settings)
                as sessions_per_day
        from range({first}, {stop}) as persons (i)
    ),
    people as (
        select
            *,
            not member and pending_draw as pending,
            member and phone_draw as phone
        from drawn
    )
    select
        i,
        user_id,
        member,
        has_app,
        case when pending then pending_at end as pending_sign_up,
        phone,
        phone and kakao_draw as kakao,
        member and email_draw as email,
        has_app and push_draw as push_opt_in,
        sessions_per_day,
        list_filter([
            {{
                'id': (case when has_app then 'app-' else 'web-' end)
                    || hex64(i, 'device0'),
                'app': has_app,
                'linked_at': case
                    when member and r(i, 0, 'link0') < 0.85
                        then {start} - pick(i, 0, 'linked', {HOUR}, {180 * DAY})
                    when member then {start} + pick(i, 0, 'linked', 0, {span - 1})
                    when pending then pending_at
                end
            }},
            {_second_device_sql(1, "web", 0.25, period)},
            {_second_device_sql(2, "app", 0.08, period)}
        ], lambda d: d is not null) as devices
    from people
    """
    messages = f"""
    create or replace temp table messages as
    with targeted as (
        select
            persons.*,
            campaigns.*,
            persons.i * 16 + campaigns.campaign_no as k,
            devices[1] as app_device
        from persons
        cross join campaigns
        where
            case campaigns.audience
                when 'phone' then persons.phone
                when 'email' then persons.email
                when 'anonymous_app' then persons.has_app
                    and (campaigns.channel != 'push' or persons.push_opt_in)
                    and not persons.member
                    and not coalesce(
                        persons.devices[1].linked_at <= campaigns.send_base, false
                    )
                else persons.has_app
                    and (campaigns.channel != 'push' or persons.push_opt_in)
            end
            and r(persons.i * 16 + campaigns.campaign_no, 0, 'reach') < campaigns.reach
    ),
    sent as (
        select
            *,
            send_base + pick(k, 0, 'spread', 0, {SEND_SPREAD - 1}) as send_at,
            'm-' || campaign_id || '-' || pad8(i) as message_id,
            holdout and r(k, 0, 'holdout') < {HOLDOUT_SHARE} as is_holdout,
            r(k, 0, 'flow') as draw
        from targeted
    ),
    outcomes as (
        select
            *,
            case
                when is_holdout then false
                when channel = 'push' then draw < 0.05
                when channel = 'kakao' then not (kakao and draw >= 0.03)
                when channel = 'sms' then draw < 0.03
                when channel = 'email' then draw < 0.04
                else false
            end as failed,
            send_at + pick(k, 0, 'fail', 2, 20) as fail_at
        from sent
    ),
    receipts as (
        select
            *,
            case
                when is_holdout then null
                when not failed and channel = 'kakao'
                    then send_at + pick(k, 0, 'deliver', 1, 10)
                when not failed and channel = 'sms' and draw < 0.73
                    then send_at + pick(k, 0, 'deliver', 1, 30)
                when not failed and channel = 'email'
                    then send_at + pick(k, 0, 'deliver', 5, 120)
            end as deliver_at,
            case when failed and fallback and not is_holdout
                then fail_at + pick(k, 0, 'resend', 2, 8)
            end as resend_at
        from outcomes
    ),
    opened as (
        select
            *,
            resend_at + pick(k, 0, 'redeliver', 1, 15) as redeliver_at,
            case
                when channel = 'email' and deliver_at is not null
                    and r(k, 0, 'open') < 0.25
                    then deliver_at + delay(k, 0, 'open_at', {3 * HOUR})
                when channel = 'in_app' and not is_holdout and draw < 0.55
                    then send_at + delay(k, 0, 'shown', {6 * HOUR})
            end as open_at
        from receipts
    ),
    received as (
        select
            *,
            case
                when is_holdout or (failed and resend_at is null) then null
                when resend_at is not null then redeliver_at
                when channel in ('push', 'sms', 'in_app')
                    then coalesce(deliver_at, send_at)
                else deliver_at
            end as received_at,
            case
                when channel = 'email' and open_at is not null
                    and r(k, 0, 'open2') < 0.2
                    then open_at + delay(k, 0, 'open2_at', {12 * HOUR})
            end as open2_at
        from opened
    ),
    clicked as (
        select
            *,
            case
                when received_at is null then null
                when channel in ('email', 'in_app') and open_at is not null
                    and r(k, 0, 'click') < click_rate
                    then open_at + delay(
                        k, 0, 'click_at',
                        case when channel = 'email' then 60 else 10 end
                    )
                when channel = 'email' and open_at is null
                    and r(k, 0, 'blind') < 0.01
                    then deliver_at + delay(k, 0, 'click_at', {3 * HOUR})
                when channel in ('push', 'kakao', 'sms')
                    and r(k, 0, 'click') < case
                        when resend_at is not null then {CLICK_RATE["sms"]}
                        else click_rate
                    end
                    then received_at + delay(k, 0, 'click_at', {20 * 60})
            end as click_at
        from received
    )
    select
        *,
        case when channel in ('push', 'in_app') then app_device end as to_device,
        case
            when channel not in ('push', 'in_app') then user_id
            when app_device.linked_at <= send_at then user_id
        end as to_user,
        case when channel in ('push', 'in_app') then app_device
            else devices[1 + floor(r(k, 0, 'click_device') * len(devices))::int]
        end as click_device,
        case when channel = 'kakao' and failed then
            case when kakao then 'blocked by the recipient'
                else 'not a KakaoTalk user' end
            when channel = 'push' then 'unregistered device token'
            when channel = 'sms' then 'invalid number'
            when r(k, 0, 'bounce') < 0.5 then 'hard bounce'
            else 'mailbox full'
        end as fail_reason
    from clicked
    """
    message_events = f"""
    create or replace temp table message_events as
    with listed as (
        select
            *,
            list_filter([
                {{
                    'type': case when is_holdout then 'holdout' else 'send' end,
                    'ts': send_at, 'channel': null::varchar, 'props': null::varchar
                }},
                {{
                    'type': 'fail', 'ts': case when failed then fail_at end,
                    'channel': null,
                    'props': '{{"reason":"' || fail_reason || '"}}'
                }},
                {{'type': 'deliver', 'ts': deliver_at, 'channel': null, 'props': null}},
                {{'type': 'send', 'ts': resend_at, 'channel': 'sms', 'props': null}},
                {{
                    'type': 'deliver', 'ts': case when resend_at is not null
                        then redeliver_at end,
                    'channel': 'sms', 'props': null
                }},
                {{'type': 'open', 'ts': open_at, 'channel': null, 'props': null}},
                {{'type': 'open', 'ts': open2_at, 'channel': null, 'props': null}},
                {{
                    'type': 'click', 'ts': click_at,
                    'channel': case when resend_at is not null then 'sms' end,
                    'props': '{{"link":"{SHOP}/' || path || '?utm_campaign='
                        || campaign_id || '"}}'
                }}
            ], lambda e: e.ts is not null) as events
        from messages
    ),
    exploded as (
        select
            message_id, campaign_id, to_user, to_device,
            unnest(events) as e,
            generate_subscripts(events, 1) as seq
        from listed
    )
    select
        message_id || '-' || seq as event_id,
        campaign_id,
        message_id,
        to_user as user_id,
        to_device.id as device_id,
        e.channel as channel,
        e.type as event_type,
        iso(e.ts) as occurred_at,
        e.props as properties
    from exploded
    """
    # A person's sessions: the baseline ones, those a click starts on the shop and those
    # a received message brings about later, each with its propensities.
    sessions = f"""
    create or replace temp table sessions as
    with baseline as (
        select
            i, user_id, devices,
            unnest(range(floor(
                sessions_per_day * {period.days} + r(i, 0, 'sessions')
            )::bigint)) as n
        from persons
    ),
    baseline_sessions as (
        select
            i, user_id,
            'b' || n as skey,
            devices[1 + floor(r(i, n, 'device') * len(devices))::int] as device,
            {start} + floor(r(i, n, 'day') * {period.days})::bigint * {DAY}
                + (select hour_starts from settings)[
                    1 + floor(r(i, n, 'hour') * 1000)::int
                ]
                + pick(i, n, 'second', 0, {HOUR - 1}) as ts,
            {BASELINE.view} as view_p, {BASELINE.cart} as cart_p,
            {BASELINE.buy} as buy_p,
            null::varchar as campaign_id, null::varchar as medium
        from baseline
    ),
    clicked_sessions as (
        select
            i, user_id,
            'k' || campaign_id as skey,
            click_device as device,
            click_at + pick(k, 0, 'landed', 2, 30) as ts,
            {CLICKED.view}, {CLICKED.cart}, {CLICKED.buy},
            campaign_id, channel
        from messages
        where click_at is not null and goal = 'shop'
    ),
    nudged_sessions as (
        select
            i, user_id,
            'n' || campaign_id as skey,
            devices[1 + floor(r(k, 0, 'nudge_device') * len(devices))::int],
            received_at + least(
                floor(-ln(1 - r(k, 0, 'nudge_at')) * {8 * HOUR})::bigint,
                {MAX_REACTION}
            ),
            {NUDGED.view}, {NUDGED.cart}, {NUDGED.buy},
            null, null
        from messages
        where received_at is not null and r(k, 0, 'nudge') < {NUDGE_CHANCE}
    ),
    unioned as (
        select * from baseline_sessions
        union all
        select * from clicked_sessions
        union all
        select * from nudged_sessions
    ),
    drawn as (
        select
            *,
            case when device.linked_at <= ts and r(i, skey, 'user') < 0.9
                then user_id end as session_user,
            case when r(i, skey, 'view') < view_p then least(
                1 + floor(ln(1 - r(i, skey, 'views')) / ln(0.45))::bigint,
                {BULK_MAX_VIEWS}
            ) else 0 end as views
        from unioned
    )
    select
        *,
        ts + (views - 1) * {_VIEW_STEP} + pick(i, skey || views, 'view_at', 5, 120)
            as last_view_at,
        pick(i, skey || views, 'item', 1, 500) as last_item
    from drawn
    """
    product_events = f"""
    create or replace temp table product_events as
    with carts as (
        select
            *,
            views > 0 and r(i, skey, 'cart') < cart_p as carted,
            last_view_at + pick(i, skey, 'cart_at', 5, 120) as cart_at,
            1000 * (5 + (last_item * 37) % 95) as price
        from sessions
    ),
    orders as (
        select
            *,
            carted and r(i, skey, 'buy') < buy_p as bought,
            cart_at + pick(i, skey, 'buy_at', 30, 600) as buy_at,
            case when r(i, skey, 'zero') < 0.01 then 0
                when r(i, skey, 'quantity') < 0.8 then price
                else 2 * price end as amount
        from carts
    ),
    views as (
        select i, skey, session_user, device, ts, unnest(range(1, views + 1)) as v
        from sessions
        where views > 0
    ),
    sign_up_clicks as (
        select
            messages.*,
            click_at + pick(k, 0, 'landed', 2, 30) as landed
        from messages
        where click_at is not null and goal in ('sign_up', 'event')
    ),
    rows as (
        select
            i, skey || '-s' as step, session_user as user_id, device,
            case when device.app then 'app_open' else 'visit' end as event_key,
            ts,
            case when not device.app and campaign_id is not null then
                '{{"utm_source":"crm","utm_medium":"' || medium
                || '","utm_campaign":"' || campaign_id || '"}}'
            end as properties
        from sessions
        union all
        select
            i, skey || '-v' || v, session_user, device, 'view_item',
            ts + (v - 1) * {_VIEW_STEP} + pick(i, skey || v, 'view_at', 5, 120),
            '{{"item_id":"sku-'
                || lpad(pick(i, skey || v, 'item', 1, 500)::varchar, 4, '0') || '"}}'
        from views
        union all
        select
            i, skey || '-e', session_user, device, 'event_participation',
            last_view_at + pick(i, skey, 'event_at', 5, 60),
            '{{"event_name":"{EVENT_NAME}"}}'
        from sessions
        where views > 0 and r(i, skey, 'event') < 0.01
        union all
        select
            i, skey || '-c', session_user, device, 'add_to_cart', cart_at,
            '{{"item_id":"sku-' || lpad(last_item::varchar, 4, '0')
                || '","price":' || price || '}}'
        from carts
        where carted
        union all
        select
            i, skey || '-b' || copy, session_user, device, 'purchase',
            buy_at + case when copy = 2 then pick(i, skey, 'again', 1, 5) else 0 end,
            '{{"amount":' || amount || ',"currency":"KRW","order_id":"o-' || pad8(i)
                || '-' || skey || '"}}'
        from orders
        cross join (values (1), (2)) as copies (copy)
        where bought and (copy = 1 or r(i, skey, 'twice') < 0.02)
        union all
        -- An in-app message is shown when the app next opens.
        select
            i, 'a' || campaign_id || '-s',
            case when to_device.linked_at <= open_at - 1
                and r(k, 0, 'shown_user') < 0.9 then user_id end,
            to_device, 'app_open', open_at - 1, null
        from messages
        where channel = 'in_app' and open_at is not null
        union all
        select
            i, 'k' || campaign_id || '-s',
            case when goal = 'event' and click_device.linked_at <= landed
                and r(k, 0, 'landed_user') < 0.9 then user_id end,
            click_device,
            case when click_device.app then 'app_open' else 'visit' end,
            landed,
            case when not click_device.app then
                '{{"utm_source":"crm","utm_medium":"' || channel
                || '","utm_campaign":"' || campaign_id || '"}}'
            end
        from sign_up_clicks
        union all
        select
            i, 'k' || campaign_id || '-e',
            case when click_device.linked_at <= landed
                and r(k, 0, 'landed_user') < 0.9 then user_id end,
            click_device, 'event_participation',
            landed + pick(k, 0, 'event_at', 10, 120),
            '{{"event_name":"{EVENT_NAME}"}}'
        from sign_up_clicks
        where goal = 'event' and r(k, 0, 'joins') < 0.5
        union all
        select
            i, 'k' || campaign_id || '-u', user_id, click_device, 'sign_up',
            landed + pick(k, 0, 'sign_up_at', 30, 300),
            '{{"method":"' || ['kakao', 'email', 'apple'][
                1 + floor(r(k, 0, 'method') * 3)::int
            ] || '"}}'
        from sign_up_clicks
        where goal = 'sign_up' and pending_sign_up is null
            and click_device.linked_at is null and r(k, 0, 'signs_up') < 0.4
        union all
        -- A visitor who signs up on their own, after looking around for a while.
        select
            i, 'own-s', null, devices[1],
            case when devices[1].app then 'app_open' else 'visit' end,
            pending_sign_up - pick(i, 0, 'own_start', 30, 600), null
        from persons
        where pending_sign_up is not null
        union all
        select
            i, 'own-u', user_id, devices[1], 'sign_up', pending_sign_up,
            '{{"method":"' || ['kakao', 'email', 'apple'][
                1 + floor(r(i, 0, 'method') * 3)::int
            ] || '"}}'
        from persons
        where pending_sign_up is not null
    )
    select
        'p-' || pad8(i) || '-' || step as event_id,
        event_key,
        user_id,
        device.id as device_id,
        iso(ts) as occurred_at,
        properties
    from rows
    """
    identities = """
    create or replace temp table identities as
    with signed_up as (
        select device_id, min(occurred_at) as linked_at
        from product_events
        where event_key = 'sign_up' and event_id like '%-u'
        group by device_id
    ),
    devices as (
        select i, user_id, unnest(devices) as device from persons
    )
    select
        devices.device.id as device_id,
        devices.user_id,
        coalesce(iso(devices.device.linked_at), signed_up.linked_at) as linked_at
    from devices
    left join signed_up
        on devices.device.id = signed_up.device_id
    where devices.device.linked_at is not null or signed_up.device_id is not null
    """
    return [persons, messages, message_events, sessions, product_events, identities]


def _bulk_write(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, table: str, part: int
) -> tuple[int, list[Path]]:
    """Write one part's rows of a table: on time, late and repeated, one Parquet file each."""
    folder = landing_dir / table
    if table == "identities":
        path = folder / f"part-{part:05d}.parquet"
        con.execute(f"copy identities to '{_sql_path(path)}' (format parquet)")
        (rows,) = con.execute("select count(*) from identities").fetchone()
        return int(rows), [path]
    late = f"r(event_id, 0, 'late') < {LATE_SHARE}"
    repeated = f"r(event_id, 0, 'repeated') < {DUPLICATE_SHARE}"
    # The late files sort before the parts, so a late row's only copy is read first; the
    # repeated ones sort after, so the loader meets them as second copies.
    selections = {
        f"late_arrivals-{part:05d}.parquet": late,
        f"part-{part:05d}.parquet": f"not ({late})",
        f"redelivered-{part:05d}.parquet": repeated,
    }
    total = 0
    paths = []
    for name, where in selections.items():
        path = folder / name
        con.execute(
            f"copy (select * from {table} where {where}) to '{_sql_path(path)}' (format parquet)"
        )
        (rows,) = con.execute(f"select count(*) from {table} where {where}").fetchone()
        total += int(rows)
        paths.append(path)
    return total, paths


def deliver_by_day(landing_dir: Path, timezone: str, late_days: int = 2) -> dict[str, int]:
    """Sort the event tables' files into one folder per day of delivery, as nightly exports land.

    A row is delivered on its own day in `timezone`; the rows the generator set aside as
    late arrive `late_days` later and the repeated copies a day later, so a daily run
    meets both. Returns the number of day folders per table.
    """
    folders: dict[str, int] = {}
    # A file, not memory: at the benchmark's sizes the rows are sorted out on disk.
    with tempfile.TemporaryDirectory() as scratch, duckdb.connect(f"{scratch}/sort.duckdb") as con:
        for table in ("message_events", "product_events"):
            contract = CONTRACTS[table]
            load_table(con, landing_dir, contract)
            source = landing_dir / table
            staging = Path(scratch) / table
            columns = ", ".join(contract.columns)
            con.execute(
                f"""
                copy (
                    select
                        {columns},
                        strftime(
                            cast(timezone({_sql_text(timezone)}, cast(occurred_at as timestamptz))
                                as date)
                            + case
                                when _source_file like '%late_arrivals%' then {late_days}
                                when _source_file like '%redelivered%' then 1
                                else 0
                            end,
                            '%Y-%m-%d'
                        ) as delivered
                    from raw.{table}
                    order by _source_file, _source_row
                ) to {_sql_text(str(staging))}
                (format parquet, partition_by (delivered), filename_pattern 'part-{{i}}')
                """
            )
            shutil.rmtree(source)
            source.mkdir()
            for day_folder in sorted(staging.iterdir()):
                day = day_folder.name.removeprefix("delivered=")
                shutil.move(str(day_folder), source / day)
            folders[table] = len(list(source.iterdir()))
    return folders


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
