"""The holdout lift statistics, on the Hillstrom experiment and on small hand-worked groups.

The Hillstrom figures are the published segment counts of the MineThatData e-mail
challenge; the expected lifts are computed from them by hand to the precision printed here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster_dbt import DagsterDbtTranslator

from orchestration.lift import (
    Group,
    campaign_lift,
    difference_interval,
    is_small_sample,
    pooled_p_value,
    write_lift_mart,
)
from orchestration.lift_assets import LIFT_COUNTS_KEY, LIFT_KEY, fct_campaign_lift

REPO = Path(__file__).resolve().parents[1]

MENS_PURCHASE = Group(21_307, 267, Decimal("30311.69"))
MENS_VISIT = Group(21_307, 3_894)
WOMENS_PURCHASE = Group(21_387, 189, Decimal("23038.11"))
WOMENS_VISIT = Group(21_387, 3_238)
NO_EMAIL_PURCHASE = Group(21_306, 122, Decimal("13908.33"))
NO_EMAIL_VISIT = Group(21_306, 2_262)


@pytest.mark.parametrize(
    ("treatment", "control", "rates", "absolute", "relative", "incremental"),
    [
        (MENS_PURCHASE, NO_EMAIL_PURCHASE, (0.012531, 0.005726), 0.006805, 1.1884, 145.0),
        (MENS_VISIT, NO_EMAIL_VISIT, (0.182757, 0.106167), 0.076590, 0.7214, 1631.9),
        (WOMENS_PURCHASE, NO_EMAIL_PURCHASE, (0.008837, 0.005726), 0.003111, 0.5433, 66.5),
        (WOMENS_VISIT, NO_EMAIL_VISIT, (0.151400, 0.106167), 0.045233, 0.4261, 967.4),
    ],
    ids=["mens_purchase", "mens_visit", "womens_purchase", "womens_visit"],
)
def test_hillstrom_lift_table(
    treatment: Group,
    control: Group,
    rates: tuple[float, float],
    absolute: float,
    relative: float,
    incremental: float,
) -> None:
    lift = campaign_lift(treatment, control)
    assert lift.treatment_rate is not None and lift.control_rate is not None
    assert (round(lift.treatment_rate, 6), round(lift.control_rate, 6)) == rates
    assert lift.absolute_lift is not None and round(lift.absolute_lift, 6) == absolute
    assert lift.relative_lift is not None and round(lift.relative_lift, 4) == relative
    assert lift.incremental_converters is not None
    assert round(lift.incremental_converters, 1) == incremental
    assert lift.is_small_sample is False


def test_hillstrom_mens_purchase_interval_p_value_and_value() -> None:
    lift = campaign_lift(MENS_PURCHASE, NO_EMAIL_PURCHASE)
    assert lift.ci_lower is not None and lift.ci_upper is not None
    assert (round(lift.ci_lower, 5), round(lift.ci_upper, 5)) == (0.00500, 0.00861)
    assert lift.p_value is not None and 0 < lift.p_value < 1e-12
    # 30,311.69 - 13,908.33 * 21,307 / 21,306 = 30,311.69 - 13,908.982789 = 16,402.707211
    assert lift.incremental_value == Decimal("16402.707211")
    assert lift.treatment_value_per_person == Decimal("1.422617")
    assert lift.control_value_per_person == Decimal("0.652789")


def test_hillstrom_womens_purchase_p_value() -> None:
    p_value = pooled_p_value(WOMENS_PURCHASE, NO_EMAIL_PURCHASE)
    assert p_value is not None and round(p_value, 6) == 0.000157


def test_small_groups_by_hand() -> None:
    # 50 of 100 against 30 of 100.
    treatment, control = Group(100, 50, Decimal(500)), Group(100, 30, Decimal(300))
    lift = campaign_lift(treatment, control)
    assert lift.absolute_lift == pytest.approx(0.2, abs=1e-15)
    assert lift.relative_lift == pytest.approx(2 / 3, abs=1e-15)
    assert lift.incremental_converters == pytest.approx(20.0, abs=1e-12)
    # 5.00 against 3.00 per person, times 100 recipients.
    assert lift.incremental_value == Decimal("200.000000")
    # Unpooled standard error sqrt(0.25 / 100 + 0.21 / 100) = 0.0678233, times 1.959964.
    interval = difference_interval(treatment, control)
    assert interval is not None
    assert (round(interval[0], 5), round(interval[1], 5)) == (0.06707, 0.33293)
    # Pooled rate 0.4: z = 0.2 / sqrt(0.4 * 0.6 * 2 / 100) = 2.886751; the two-sided tail
    # of the standard normal is erfc(z / sqrt 2).
    assert lift.p_value == pytest.approx(math.erfc(2.886751 / math.sqrt(2)), rel=1e-5)
    assert lift.is_small_sample is False


def test_relative_lift_is_null_when_nobody_in_control_converted() -> None:
    lift = campaign_lift(Group(100, 5), Group(50, 0))
    assert lift.control_rate == 0.0
    assert lift.relative_lift is None
    assert lift.absolute_lift == pytest.approx(0.05, abs=1e-15)
    # Only the treatment contributes variance: sqrt(0.05 * 0.95 / 100) = 0.0217945.
    assert lift.ci_lower is not None and lift.ci_upper is not None
    assert (round(lift.ci_lower, 5), round(lift.ci_upper, 5)) == (0.00728, 0.09272)
    assert lift.is_small_sample is True


def test_undefined_statistics_are_null() -> None:
    nobody_converted = campaign_lift(Group(40, 0), Group(40, 0))
    assert nobody_converted.absolute_lift == 0.0
    assert nobody_converted.relative_lift is None
    assert nobody_converted.p_value is None
    assert (nobody_converted.ci_lower, nobody_converted.ci_upper) == (0.0, 0.0)

    nobody_sent = campaign_lift(Group(0, 0), Group(40, 4, Decimal(10)))
    assert nobody_sent.treatment_rate is None
    assert nobody_sent.absolute_lift is None
    assert nobody_sent.incremental_converters is None
    assert nobody_sent.incremental_value is None
    assert nobody_sent.ci_lower is None and nobody_sent.p_value is None
    assert nobody_sent.is_small_sample is True


@pytest.mark.parametrize(
    ("treatment", "control", "small"),
    [
        (Group(100, 10), Group(100, 90), False),  # exactly 10 of each kind is enough
        (Group(100, 9), Group(100, 50), True),  # 9 treatment converters
        (Group(100, 50), Group(100, 91), True),  # 9 control non-converters
        (Group(100, 50), Group(19, 9), True),  # 9 control converters, 10 non-converters
    ],
    ids=["ten_each", "few_converters", "few_non_converters", "few_control_converters"],
)
def test_small_sample_flag(treatment: Group, control: Group, small: bool) -> None:
    assert is_small_sample(treatment, control) is small


def test_converters_cannot_exceed_persons() -> None:
    with pytest.raises(ValueError, match="between 0 and persons"):
        Group(10, 11)


COUNTS_DDL = """
create schema intermediate;
create table intermediate.int_campaign_lift_counts (
    report varchar, campaign_id varchar, goal varchar, report_hash varchar,
    control_window_hours integer,
    treatment_persons bigint, treatment_converters bigint,
    treatment_value numeric(28, 6),
    control_persons bigint, control_converters bigint, control_value numeric(28, 6)
);
insert into intermediate.int_campaign_lift_counts values
    ('hillstrom', 'mens_email', 'purchase', 'h', 336, 21307, 267, 30311.69,
        21306, 122, 13908.33),
    ('hillstrom', 'mens_email', 'visit', 'h', 336, 21307, 3894, 0, 21306, 2262, 0),
    ('hillstrom', 'womens_email', 'purchase', 'h', 336, 21387, 189, 23038.11,
        21306, 122, 13908.33),
    ('hillstrom', 'womens_email', 'visit', 'h', 336, 21387, 3238, 0, 21306, 2262, 0),
    ('small', 'c1', 'purchase', 's', 24, 100, 5, 50, 50, 0, 0);
"""


def _mart(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict[str, object]]:
    cursor = con.execute("select * from marts.fct_campaign_lift")
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    return {(row["report"], row["campaign_id"], row["goal"]): row for row in rows}


def test_write_lift_mart_replaces_the_table_with_typed_columns() -> None:
    con = duckdb.connect()
    con.execute(COUNTS_DDL)
    assert write_lift_mart(con) == 5
    assert write_lift_mart(con) == 5  # a rerun replaces, it does not append

    mart = _mart(con)
    assert len(mart) == 5
    mens = mart[("hillstrom", "mens_email", "purchase")]
    assert (mens["treatment_persons"], mens["control_converters"]) == (21307, 122)
    assert round(mens["absolute_lift"], 6) == 0.006805
    assert mens["incremental_value"] == Decimal("16402.707211")
    assert mens["is_small_sample"] is False
    small = mart[("small", "c1", "purchase")]
    assert small["relative_lift"] is None
    assert small["is_small_sample"] is True

    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_campaign_lift'"
        ).fetchall()
    )
    assert types["treatment_persons"] == "BIGINT"
    assert types["incremental_value"] == "DECIMAL(28,6)"
    assert types["p_value"] == "DOUBLE"
    assert types["is_small_sample"] == "BOOLEAN"
    assert types["control_window_hours"] == "INTEGER"


def test_bad_counts_leave_the_previous_mart_in_place() -> None:
    con = duckdb.connect()
    con.execute(COUNTS_DDL)
    write_lift_mart(con)
    con.execute(
        "insert into intermediate.int_campaign_lift_counts values "
        "('small', 'c2', 'purchase', 's', 24, 10, 11, 0, 10, 0, 0)"
    )
    with pytest.raises(ValueError, match="report 'small', campaign_id 'c2', goal 'purchase'"):
        write_lift_mart(con)
    assert len(_mart(con)) == 5


class _Warehouse(dg.ConfigurableResource):
    database: str
    mart_grantee: str | None = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(self.database)
        try:
            yield con
        finally:
            con.close()


def test_lift_asset_writes_the_mart(tmp_path: Path) -> None:
    database = tmp_path / "lift.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(COUNTS_DDL)
    result = dg.materialize(
        [fct_campaign_lift], resources={"warehouse": _Warehouse(database=str(database))}
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    materialization = event.materialization
    assert materialization.asset_key == LIFT_KEY == dg.AssetKey(["marts", "fct_campaign_lift"])
    assert materialization.metadata["dagster/row_count"].value == 5
    with duckdb.connect(str(database)) as con:
        assert len(_mart(con)) == 5


def test_lift_asset_depends_on_the_dbt_counts_model() -> None:
    # The key dagster-dbt gives the model: its schema from dbt_project.yml, then its name.
    project = yaml.safe_load((REPO / "dbt_project/dbt_project.yml").read_text())
    schema = project["models"]["campaign_report"]["intermediate"]["+schema"]
    props = {
        "resource_type": "model",
        "name": "int_campaign_lift_counts",
        "config": {"schema": schema},
    }
    assert DagsterDbtTranslator().get_asset_key(props) == LIFT_COUNTS_KEY
    assert (REPO / "dbt_project/models/intermediate/int_campaign_lift_counts.sql").is_file()
    assert fct_campaign_lift.asset_deps[LIFT_KEY] == {LIFT_COUNTS_KEY}
