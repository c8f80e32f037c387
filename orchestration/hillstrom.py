"""The MineThatData e-mail challenge (Kevin Hillstrom, 2008) as landing files.

A real campaign with a randomised holdout: 64,000 customers split at random into a men's
e-mail, a women's e-mail and no e-mail, with visits, purchases and spend over the two weeks
after the send. Built through the pipeline, the report must reproduce the published
per-segment figures, which makes this the end-to-end check on real numbers.

Each e-mailed customer gets one message with a send and a deliver at the send time. Each
no-e-mail customer gets a holdout message in both campaigns, because the one random control
group serves as the control of each. The file says only that a visit or purchase happened
within the two weeks, so each is placed at a time derived from a hash of the row number:
strictly after the send and at most fourteen days after it, a purchase after its visit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestration.landing import CONTRACTS

DEFAULT_CSV_ZIP = Path(__file__).resolve().parents[1] / "examples" / "hillstrom.csv.zip"
DEFAULT_SEND_AT = datetime(2008, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning
WINDOW = timedelta(days=14)

CAMPAIGNS = (("mens_email", "Mens E-Mail"), ("womens_email", "Womens E-Mail"))
HOLDOUT_SEGMENT = "No E-Mail"
SEGMENT_CAMPAIGN = {name: campaign_id for campaign_id, name in CAMPAIGNS}
REQUIRED_COLUMNS = ("segment", "visit", "conversion", "spend")
TABLES = ("campaigns", "message_events", "product_events", "identities")
# Spend is copied into the purchase's JSON as it is written in the file, so it must already
# be a plain decimal number that JSON accepts.
SPEND_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")

MESSAGE_EVENT_COLUMNS = CONTRACTS["message_events"].columns
PRODUCT_EVENT_COLUMNS = CONTRACTS["product_events"].columns


Row = tuple[str | None, ...]


class HillstromError(ValueError):
    """The Hillstrom file is not what the loader expects; the message names the place."""


@dataclass(frozen=True)
class HillstromSummary:
    """What was written: rows per table, customers per segment and the files."""

    landing_dir: Path
    send_at: datetime
    campaigns: int
    message_events: int
    product_events: int
    identities: int
    customers: dict[str, int]
    files: tuple[Path, ...]


@dataclass(frozen=True)
class _Customer:
    row_number: int  # 1-based data row, header not counted
    segment: str
    visit: bool
    conversion: bool
    spend: str

    @property
    def user_id(self) -> str:
        return f"hillstrom-{self.row_number:06d}"


def write_hillstrom_landing(
    landing_dir: Path,
    *,
    csv_zip: Path = DEFAULT_CSV_ZIP,
    send_at: datetime = DEFAULT_SEND_AT,
) -> HillstromSummary:
    """Wipe the four table folders under ``landing_dir`` and write the Hillstrom data.

    A ``send_at`` without a time zone is taken as UTC, as the landing contract does.
    """
    send_at = send_at.replace(tzinfo=UTC) if send_at.tzinfo is None else send_at.astimezone(UTC)
    if send_at.microsecond:
        raise ValueError(f"send_at must be a whole second, got {send_at.isoformat()}")
    customers = list(_read_customers(Path(csv_zip)))

    landing_dir = Path(landing_dir)
    for table in TABLES:
        shutil.rmtree(landing_dir / table, ignore_errors=True)
        (landing_dir / table).mkdir(parents=True)
    paths = {table: landing_dir / table / f"{table}.csv" for table in TABLES}
    sent = _iso(send_at)

    _write_csv(
        paths["campaigns"],
        ("campaign_id", "campaign_name", "channel", "message_type", "created_at"),
        [(campaign_id, name, "email", None, sent) for campaign_id, name in CAMPAIGNS],
    )
    message_events = _write_csv(
        paths["message_events"], MESSAGE_EVENT_COLUMNS, _message_rows(customers, sent)
    )
    product_events = _write_csv(
        paths["product_events"], PRODUCT_EVENT_COLUMNS, _product_rows(customers, send_at)
    )
    # The customers are known by user id only, so there is nothing to link; the empty table
    # is still written so the folder holds what every landing folder holds.
    _write_csv(paths["identities"], ("device_id", "user_id", "linked_at"), [])

    counts = {segment: 0 for segment in (*SEGMENT_CAMPAIGN, HOLDOUT_SEGMENT)}
    for customer in customers:
        counts[customer.segment] += 1
    return HillstromSummary(
        landing_dir=landing_dir,
        send_at=send_at,
        campaigns=len(CAMPAIGNS),
        message_events=message_events,
        product_events=product_events,
        identities=0,
        customers=counts,
        files=tuple(sorted(paths.values())),
    )


def _read_customers(csv_zip: Path) -> Iterator[_Customer]:
    if not csv_zip.is_file():
        raise HillstromError(f"{csv_zip}: file not found")
    try:
        archive = zipfile.ZipFile(csv_zip)
    except zipfile.BadZipFile:
        raise HillstromError(f"{csv_zip}: not a zip archive") from None
    with archive:
        members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
        if len(members) != 1:
            raise HillstromError(
                f"{csv_zip}: expected exactly one .csv file inside, found {len(members)}"
            )
        source = f"{csv_zip}:{members[0]}"
        with archive.open(members[0]) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or [])]
            if missing:
                raise HillstromError(
                    f"{source}: missing column(s) {', '.join(missing)}; expected the "
                    f"MineThatData header with {', '.join(REQUIRED_COLUMNS)}"
                )
            for row_number, row in enumerate(reader, start=1):
                yield _parse_row(source, row_number, row)


def _parse_row(source: str, row_number: int, row: dict[str, str]) -> _Customer:
    # The header is line 1, so data row n is line n + 1 of the file.
    where = f"{source} line {row_number + 1}"
    segment = row["segment"]
    if segment not in SEGMENT_CAMPAIGN and segment != HOLDOUT_SEGMENT:
        expected = ", ".join([*SEGMENT_CAMPAIGN, HOLDOUT_SEGMENT])
        raise HillstromError(f"{where}: segment must be one of {expected}, got {segment!r}")
    flags = {}
    for column in ("visit", "conversion"):
        if row[column] not in ("0", "1"):
            raise HillstromError(f"{where}: {column} must be 0 or 1, got {row[column]!r}")
        flags[column] = row[column] == "1"
    spend = row["spend"]
    if not SPEND_PATTERN.match(spend):
        raise HillstromError(f"{where}: spend must be a number such as 29.99, got {spend!r}")
    return _Customer(row_number, segment, flags["visit"], flags["conversion"], spend)


def _message_rows(customers: list[_Customer], sent: str) -> Iterator[Row]:
    for customer in customers:
        user_id = customer.user_id
        if customer.segment == HOLDOUT_SEGMENT:
            kinds = [(campaign_id, ("holdout",)) for campaign_id, _ in CAMPAIGNS]
        else:
            kinds = [(SEGMENT_CAMPAIGN[customer.segment], ("send", "deliver"))]
        for campaign_id, event_types in kinds:
            message_id = f"{user_id}-{campaign_id}"
            for event_type in event_types:
                yield (
                    f"{message_id}-{event_type}",
                    campaign_id,
                    message_id,
                    user_id,
                    None,
                    None,
                    event_type,
                    sent,
                    None,
                )


def _product_rows(customers: list[_Customer], send_at: datetime) -> Iterator[Row]:
    last_visit = int(WINDOW.total_seconds()) - 86_400
    for customer in customers:
        if not (customer.visit or customer.conversion):
            continue
        user_id = customer.user_id
        # The visit falls in the first thirteen days and the purchase within a day after
        # it, so both stay inside (send_at, send_at + 14 days].
        visited = send_at + timedelta(seconds=_spread(customer.row_number, "visit", 1, last_visit))
        if customer.visit:
            yield (f"{user_id}-visit", "visit", user_id, None, _iso(visited), None)
        # Spend only counts on a converted row; the file has none with spend otherwise.
        if customer.conversion:
            bought = visited + timedelta(
                seconds=_spread(customer.row_number, "purchase", 60, 86_400)
            )
            order_id = json.dumps(f"{user_id}-order")
            properties = f'{{"amount":{customer.spend},"currency":"USD","order_id":{order_id}}}'
            yield (f"{user_id}-purchase", "purchase", user_id, None, _iso(bought), properties)


def _spread(row_number: int, salt: str, low: int, high: int) -> int:
    """A whole number from low to high inclusive, fixed by the row number and the salt."""
    digest = hashlib.blake2b(f"{row_number}:{salt}".encode(), digest_size=8).digest()
    return low + int.from_bytes(digest, "big") % (high - low + 1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
