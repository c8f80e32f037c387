"""Our shared credit against an independent implementation: the `mta` package (MIT, 0.0.9).

`mta` ships ChannelAttribution's example of 10,000 channel paths, each with its number of
conversions, and computes first-touch, last-touch, linear and position-based credit over
it. Here every path becomes one person: one message per step, an hour apart, in path order,
each step's channel its own campaign, and the path's conversions half an hour after its
last step. Our pipeline builds the credit marts from those raw events, and each campaign's
credited conversions must equal `mta`'s total for the channel.

How `mta` is called, and where its rules meet ours:

- ``allow_loops=True`` keeps a path as it is written. Without it `mta` merges repeated
  consecutive channels (``a > a > b`` becomes ``a > b``), while every message is a touch
  for us.
- first_touch and last_touch: the same rule, the path's first or last step takes each
  conversion. Compared exactly.
- linear with ``share="proportional"``: each step earns ``1 / n`` of a conversion, our rule.
  `mta`'s default, ``share="same"``, splits a conversion over the distinct channels of the
  path instead, whatever their number of steps, which is not our rule.
- position_based with its default 40/40: 0.4 to the first and the last step and 0.2 shared
  by the middle steps, a two-step path 50/50 and a one-step path all of it: our rule.
- ``normalize=False`` gives conversions rather than shares of all conversions.
- time_decay is not compared: `mta` ranks a path's distinct channels by first appearance
  and weighs them 1, 2, 3, ..., while ours halves a touch's weight every half-life before
  the conversion. Only our own invariant is checked for it: the credits add up to the
  number of conversions.

Our credits are kept to six decimals, every touch but the last rounded and the last taking
the rest, so a linear or position-based total may differ from the exact one by at most half
a millionth per rounded touch plus what the conversion's last touch absorbed; that bound is
computed from the paths and is the only tolerance used.
"""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from mta import MTA

from orchestration.report_config import config_tables, parse_config

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
START = datetime(2026, 1, 5, tzinfo=UTC)
REPORT_CONFIG = {
    "timezone": "UTC",
    "reports": [
        {
            "name": "paths",
            "window": "72h",
            # The longest path has 89 steps an hour apart; every step must stay a touch.
            "lookback": "5d",
            "goals": [{"name": "conversion", "event_key": "conversion"}],
        }
    ],
}
# Our model name -> mta's attribution key, for the models whose rules are the same.
COMPARED_MODELS = {
    "first_touch": "first_touch",
    "last_touch": "last_touch",
    "linear": "linear",
    "position_based": "pos_based",
}
ROUNDING_STEP = 0.0000005  # half of the sixth decimal


@dataclass(frozen=True)
class Journey:
    """One row of the data set: the channels in order and the conversions after them."""

    steps: tuple[str, ...]
    conversions: int


def _journeys() -> list[Journey]:
    data = files("mta") / "data" / "data.csv.gz"
    with gzip.open(str(data), "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # Split as mta does: on '>', blanks around a channel dropped, empty steps ignored.
    return [
        Journey(
            tuple(step.strip() for step in row["path"].split(">") if step.strip()),
            int(row["total_conversions"]),
        )
        for row in rows
    ]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


Row = dict[str, Any]


def _message_events(journeys: list[Journey]) -> Iterator[Row]:
    for number, journey in enumerate(journeys):
        person = f"person-{number:05d}"
        for step, channel in enumerate(journey.steps):
            message = f"{person}-m{step:02d}"
            yield {
                "event_id": f"{message}-deliver",
                "campaign_id": f"c_{channel}",
                "message_id": message,
                "user_id": person,
                "event_type": "deliver",
                "occurred_at": _iso(START + timedelta(hours=step)),
            }


def _product_events(journeys: list[Journey]) -> Iterator[Row]:
    for number, journey in enumerate(journeys):
        person = f"person-{number:05d}"
        last_step = START + timedelta(hours=len(journey.steps) - 1)
        for conversion in range(journey.conversions):
            converted = last_step + timedelta(minutes=30, seconds=conversion)
            yield {
                "event_id": f"{person}-k{conversion}",
                "event_key": "conversion",
                "user_id": person,
                "occurred_at": _iso(converted),
            }


def _load_raw(database: Path, scratch: Path, journeys: list[Journey]) -> None:
    """Raw tables as the loader writes them: text columns, plus where each row came from."""
    sources = yaml.safe_load((DBT_PROJECT / "models/staging/_sources.yml").read_text())
    channels = sorted({channel for journey in journeys for channel in journey.steps})
    rows: dict[str, Iterator[Row] | list[Row]] = {
        "campaigns": [
            {
                "campaign_id": f"c_{channel}",
                "campaign_name": channel,
                "channel": "push",
                "created_at": _iso(START),
            }
            for channel in channels
        ],
        "message_events": _message_events(journeys),
        "product_events": _product_events(journeys),
        "identities": [],
        **config_tables(parse_config(REPORT_CONFIG)),
    }
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw")
        for table in sources["sources"][0]["tables"]:
            names = [column["name"] for column in table["columns"]]
            data = [name for name in names if name not in ("_source_file", "_source_row")]
            con.execute(
                f"create table raw.{table['name']} "
                f"({', '.join(f'{name} varchar' for name in data)}, "
                "_source_file varchar, _source_row bigint)"
            )
            # A CSV file and DuckDB's reader load sixty thousand rows far faster than
            # inserts from Python do.
            csv_path = scratch / f"{table['name']}.csv"
            with csv_path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(data)
                for row in rows[table["name"]]:
                    writer.writerow(["" if row.get(name) is None else row[name] for name in data])
            columns = ", ".join(f"'{name}': 'varchar'" for name in data)
            con.execute(
                f"insert into raw.{table['name']} "
                f"select *, '{csv_path.name}', row_number() over () "
                f"from read_csv('{csv_path}', header = true, columns = {{{columns}}})"
            )


def _dbt(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAMPAIGN_REPORT_DATABASE": str(database), "DBT_PROFILES_DIR": str(REPO)}
    return subprocess.run(
        [str(DBT), *args], cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def mta_totals() -> dict[str, dict[str, float]]:
    """mta's credited conversions per model and channel (a channel it never credits is 0)."""
    model = MTA(data="data.csv.gz", allow_loops=True, add_timepoints=False)
    model.first_touch(normalize=False).last_touch(normalize=False)
    model.linear(share="proportional", normalize=False).position_based(normalize=False)
    return {
        ours: {channel: float(total) for channel, total in model.attribution[theirs].items()}
        for ours, theirs in COMPARED_MODELS.items()
    }


def _rounding_bounds(journeys: list[Journey]) -> dict[str, dict[str, float]]:
    """Per model and channel, how far rounding to six decimals can move our total."""
    bounds: dict[str, dict[str, float]] = {
        "linear": defaultdict(float),
        "position_based": defaultdict(float),
    }
    for journey in journeys:
        steps, conversions = journey.steps, journey.conversions
        # linear rounds 1/n on every touch but the last; position_based only the middle
        # touches' 0.2 / (n - 2), since 1, 0.5 and 0.4 are exact.
        rounded = {"linear": steps[:-1], "position_based": steps[1:-1]}
        for model, channels in rounded.items():
            for channel in channels:
                bounds[model][channel] += conversions * ROUNDING_STEP
            # The last touch takes what the rounded ones left: their errors, added up.
            bounds[model][steps[-1]] += conversions * len(channels) * ROUNDING_STEP
    return bounds


@pytest.fixture(scope="module")
def our_totals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Decimal]]:
    scratch = tmp_path_factory.mktemp("mta")
    database = scratch / "mta.duckdb"
    _load_raw(database, scratch, _journeys())
    built = _dbt("build", "--exclude-resource-type", "unit_test", database=database)
    assert built.returncode == 0, built.stdout[-5000:]
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    with duckdb.connect(str(database), read_only=True) as con:
        for model, campaign, credited in con.execute(
            "select credit_model, campaign_id, credited_conversions "
            "from marts.fct_campaign_credit where report = 'paths'"
        ).fetchall():
            totals[model][campaign.removeprefix("c_")] = credited
    return totals


def test_the_data_set_is_the_one_described() -> None:
    journeys = _journeys()
    assert len(journeys) == 10_000
    assert sum(journey.conversions for journey in journeys) == 19_785
    assert max(len(journey.steps) for journey in journeys) == 89  # inside the 5-day lookback


@pytest.mark.parametrize("model", ["first_touch", "last_touch"])
def test_single_touch_models_match_mta_exactly(
    model: str,
    our_totals: dict[str, dict[str, Decimal]],
    mta_totals: dict[str, dict[str, float]],
) -> None:
    theirs = mta_totals[model]
    ours = our_totals[model]
    assert set(ours) >= set(theirs)
    for channel, credited in ours.items():
        assert credited == Decimal(int(theirs.get(channel, 0))), channel


@pytest.mark.parametrize("model", ["linear", "position_based"])
def test_shared_models_match_mta_within_rounding(
    model: str,
    our_totals: dict[str, dict[str, Decimal]],
    mta_totals: dict[str, dict[str, float]],
) -> None:
    theirs = mta_totals[model]
    bounds = _rounding_bounds(_journeys())[model]
    ours = our_totals[model]
    assert set(ours) >= set(theirs)
    for channel, credited in ours.items():
        difference = abs(float(credited) - theirs.get(channel, 0.0))
        assert difference <= bounds[channel] + 1e-9, (channel, difference, bounds[channel])


def test_every_model_hands_out_each_conversion_exactly_once(
    our_totals: dict[str, dict[str, Decimal]],
) -> None:
    assert set(our_totals) == {*COMPARED_MODELS, "time_decay"}
    for model, per_channel in our_totals.items():
        assert sum(per_channel.values()) == Decimal(19_785), model


def test_first_touch_counts_follow_the_paths(our_totals: dict[str, dict[str, Decimal]]) -> None:
    # Independent of both implementations: count first steps straight from the data.
    first_steps: Counter[str] = Counter()
    for journey in _journeys():
        first_steps[journey.steps[0]] += journey.conversions
    assert {channel: int(total) for channel, total in our_totals["first_touch"].items()} == {
        channel: first_steps.get(channel, 0) for channel in our_totals["first_touch"]
    }
