"""`campaign-report example hillstrom`: a real e-mail experiment through the whole pipeline.

The expected numbers are the published ones (MineThatData, Kevin Hillstrom, 2008), and
the lift figures follow from them by the formulas in orchestration/lift.py; for Mens
E-Mail purchases, for example, 267 / 21,307 = 0.012531 against 122 / 21,306 = 0.005726.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Path:
    database = tmp_path_factory.mktemp("hillstrom") / "hillstrom.duckdb"
    cli = Path(sys.executable).with_name("campaign-report")
    done = subprocess.run(
        [str(cli), "example", "hillstrom", "--database", str(database)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return database


def _rows(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_report_reproduces_the_published_figures(warehouse: Path) -> None:
    assert _rows(
        warehouse,
        "select campaign_name, goal, recipients, indirect_converters, indirect_value, "
        "direct_converters from marts.fct_campaign_performance order by 1, 2",
    ) == [
        ("Mens E-Mail", "purchase", 21307, 267, Decimal("30311.69"), 0),
        ("Mens E-Mail", "visit", 21307, 3894, Decimal("0"), 0),
        ("Womens E-Mail", "purchase", 21387, 189, Decimal("23038.11"), 0),
        ("Womens E-Mail", "visit", 21387, 3238, Decimal("0"), 0),
    ]


def test_the_lift_against_the_no_email_holdout(warehouse: Path) -> None:
    rows = _rows(
        warehouse,
        "select campaign_id, goal, treatment_persons, control_persons, "
        "round(treatment_rate, 6), round(control_rate, 6), round(absolute_lift, 6), "
        "round(relative_lift, 4), round(incremental_converters, 1) "
        "from marts.fct_campaign_lift order by 1, 2",
    )
    assert rows == [
        ("mens_email", "purchase", 21307, 21306, 0.012531, 0.005726, 0.006805, 1.1884, 145.0),
        ("mens_email", "visit", 21307, 21306, 0.182757, 0.106167, 0.07659, 0.7214, 1631.9),
        ("womens_email", "purchase", 21387, 21306, 0.008837, 0.005726, 0.003111, 0.5433, 66.5),
        ("womens_email", "visit", 21387, 21306, 0.1514, 0.106167, 0.045233, 0.4261, 967.4),
    ]
    ((lower, upper, p_value, value),) = _rows(
        warehouse,
        "select absolute_lift_ci_lower, absolute_lift_ci_upper, p_value, incremental_value "
        "from marts.fct_campaign_lift where campaign_id = 'mens_email' and goal = 'purchase'",
    )
    assert (round(lower, 5), round(upper, 5)) == (0.005, 0.00861)
    assert p_value < 1e-12
    assert round(value, 2) == Decimal("16402.71")
    ((womens_p,),) = _rows(
        warehouse,
        "select p_value from marts.fct_campaign_lift "
        "where campaign_id = 'womens_email' and goal = 'purchase'",
    )
    assert round(womens_p, 6) == 0.000157
