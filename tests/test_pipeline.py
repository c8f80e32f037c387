"""The whole graph, landing files to marts, on the hand-built fixture in tests/fixtures/.

Every expected number is worked out from the product rules in
tests/fixtures/README.md, which walks through the fixture row by row.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.pipeline import run_pipeline
from orchestration.settings import RunSettings

FIXTURES = Path(__file__).parent / "fixtures"

PERFORMANCE_COUNTS = """
select
    campaign_id, recipients, messages_sent, received, failed, opened, clicked,
    direct_converters, direct_conversions, direct_value,
    indirect_converters, indirect_conversions, indirect_value, view_through_converters
from marts.fct_campaign_performance
where report = ? and goal = ?
order by campaign_id
"""

MARTS = ("fct_campaign_performance", "fct_campaign_funnel", "fct_attributed_conversions")


def _marts_snapshot(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {
            mart: con.execute(f"select * from marts.{mart} order by all").fetchall()
            for mart in (*MARTS, "dim_campaigns")
        }


@dataclass(frozen=True)
class Built:
    database: Path
    first: dict[str, list[tuple]]
    second: dict[str, list[tuple]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Built:
    """Run the job twice on a warehouse of this module's own.

    A build takes about twenty seconds, so the tests below share these two runs
    and only read the warehouse afterwards.
    """
    root = tmp_path_factory.mktemp("pipeline")
    settings = RunSettings(
        database=root / "campaign_report.duckdb",
        landing=shutil.copytree(FIXTURES / "landing", root / "landing"),
        config=FIXTURES / "reports.yml",
    )
    summary = run_pipeline(settings)
    # 21 + 8 message event rows and 9 + 4 product event rows, copies included.
    assert summary.row_counts["raw/message_events"] == 29
    assert summary.row_counts["raw/product_events"] == 13
    assert summary.checks_warned == []
    first = _marts_snapshot(settings.database)
    run_pipeline(settings)
    return Built(settings.database, first, _marts_snapshot(settings.database))


def _counts(database: Path, report: str, goal: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(PERFORMANCE_COUNTS, [report, goal]).fetchall()


def _d(value: int) -> Decimal:
    return Decimal(value)


def test_one_day_purchase_numbers(built: Built) -> None:
    assert _counts(built.database, "main", "purchase") == [
        # c1 push: u3 failed; d7 counts as received (send, no fail). u1 bought o1 30 min
        # after clicking (direct); u2 bought o2 5 h after receipt (view-through).
        ("c1", 4, 4, 3, 1, None, 1, 1, 1, _d(30000), 2, 2, _d(50000), 1),
        # c2 e-mail: u4 got two messages and counts once; o6 after m9's click is direct.
        # u1's o5 at the very second of the click is indirect only; u5's o7 is indirect.
        ("c2", 4, 5, 3, 1, 2, 2, 1, 1, _d(15000), 3, 3, _d(72000), 2),
        # c3 Kakao: the same o5 is direct here (10 min after the click), credited
        # independently of c2; u2's o9 lands exactly 24 h after receipt, inside.
        ("c3", 2, 2, 2, 0, None, 1, 1, 1, _d(50000), 2, 2, _d(62000), 1),
        # c4 was never sent.
        ("c4", 0, 0, 0, 0, None, 0, 0, 0, _d(0), 0, 0, _d(0), 0),
    ]


def test_two_hour_purchase_numbers(built: Built) -> None:
    assert _counts(built.database, "short", "purchase") == [
        # u2's o2 (5 h after receipt) falls out of the two-hour window.
        ("c1", 4, 4, 3, 1, None, 1, 1, 1, _d(30000), 1, 1, _d(30000), 0),
        # u5's o7 falls out; o6 is still direct through m9 although m6's window closed.
        ("c2", 4, 5, 3, 1, 2, 2, 1, 1, _d(15000), 2, 2, _d(65000), 1),
        ("c3", 2, 2, 2, 0, None, 1, 1, 1, _d(50000), 1, 1, _d(50000), 0),
        ("c4", 0, 0, 0, 0, None, 0, 0, 0, _d(0), 0, 0, _d(0), 0),
    ]


def test_sign_up_numbers_count_a_repeated_event_once(built: Built) -> None:
    # d7's sign-up p05 arrives in both product event files: one conversion.
    # u5 signs up exactly 2 h after m7's receipt, so the short report keeps it.
    for report in ("main", "short"):
        rows = {row[0]: row[7:] for row in _counts(built.database, report, "sign_up")}
        assert rows["c1"] == (0, 0, _d(0), 1, 1, _d(0), 1)
        assert rows["c2"] == (0, 0, _d(0), 1, 1, _d(0), 1)
        assert rows["c3"] == (0, 0, _d(0), 0, 0, _d(0), 0)


def test_rates_and_their_empty_denominators(built: Built) -> None:
    with duckdb.connect(str(built.database), read_only=True) as con:
        rates = con.execute(
            "select campaign_id, delivery_rate, open_rate, click_rate, "
            "direct_conversion_rate, indirect_conversion_rate "
            "from marts.fct_campaign_performance "
            "where report = 'main' and goal = 'purchase' order by campaign_id"
        ).fetchall()
    assert rates == [
        ("c1", 0.75, None, pytest.approx(1 / 3), 0.25, 0.5),
        ("c2", 0.75, pytest.approx(2 / 3), pytest.approx(2 / 3), 0.25, 0.75),
        ("c3", 1.0, None, 0.5, 0.5, 1.0),
        ("c4", None, None, None, None, None),
    ]


def test_funnel_steps(built: Built) -> None:
    with duckdb.connect(str(built.database), read_only=True) as con:
        funnel = con.execute(
            "select campaign_id, step_index, step, persons, rate_from_previous, drop_off "
            "from marts.fct_campaign_funnel "
            "where report = 'main' and goal = 'purchase' and campaign_id in ('c1', 'c2') "
            "order by campaign_id, step_index"
        ).fetchall()
    assert funnel == [
        # Push does not track opens, so its funnel has no opened step.
        ("c1", 1, "sent", 4, None, None),
        ("c1", 2, "received", 3, 0.75, 1),
        ("c1", 3, "clicked", 1, pytest.approx(1 / 3), 2),
        ("c1", 4, "converted", 1, 1.0, 0),
        ("c2", 1, "sent", 4, None, None),
        ("c2", 2, "received", 3, 0.75, 1),
        ("c2", 3, "opened", 2, pytest.approx(2 / 3), 1),
        ("c2", 4, "clicked", 2, 1.0, 0),
        ("c2", 5, "converted", 1, 0.5, 1),
    ]


def test_one_conversion_is_credited_to_each_campaign_on_its_own(built: Built) -> None:
    with duckdb.connect(str(built.database), read_only=True) as con:
        credits = con.execute(
            "select campaign_id, attribution_type, message_id, conversion_value "
            "from marts.fct_attributed_conversions "
            "where report = 'main' and goal = 'purchase' and conversion_id = 'p07' "
            "order by all"
        ).fetchall()
        first_sent = con.execute(
            "select campaign_id, channel, first_sent_at from marts.dim_campaigns order by 1"
        ).fetchall()
    assert credits == [
        ("c2", "indirect", "m5", _d(50000)),
        ("c3", "direct", "m10", _d(50000)),
        ("c3", "indirect", "m10", _d(50000)),
    ]
    # c3's first send is written 18:00+09:00, which is 09:00 UTC; "Email" is email.
    assert first_sent == [
        ("c1", "push", datetime(2024, 3, 1, 10, 0)),
        ("c2", "email", datetime(2024, 3, 5, 9, 0)),
        ("c3", "kakao", datetime(2024, 3, 5, 9, 0)),
        ("c4", "sms", None),
    ]


def test_running_again_gives_identical_marts(built: Built) -> None:
    assert built.second == built.first
    assert len(built.first["fct_campaign_performance"]) == 16  # 2 reports x 2 goals x 4 campaigns
    # 16 x 5 steps, less the opened step of the three campaigns that cannot see opens.
    assert len(built.first["fct_campaign_funnel"]) == 68
