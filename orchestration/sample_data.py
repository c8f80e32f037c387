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

from orchestration.landing import CONTRACTS

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
    if persons < 1:
        raise ValueError(f"persons must be at least 1, got {persons}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    landing_dir = Path(landing_dir)
    for table in TABLES:
        shutil.rmtree(landing_dir / table, ignore_errors=True)
        (landing_dir / table).mkdir(parents=True)

    period = _Period(
        int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()), days
    )
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
