"""The lift and credit tables as a person sees them in the terminal."""

from __future__ import annotations

import duckdb
from rich.console import Console

from orchestration.lift import write_lift_mart
from orchestration.lift_view import credit_tables, lift_tables

WAREHOUSE = """
create schema marts;
create table marts.dim_campaigns (
    campaign_id varchar, campaign_name varchar, first_sent_at timestamp
);
insert into marts.dim_campaigns values
    ('mens_email', 'Mens E-Mail', '2008-03-03 09:00:00'),
    ('tiny', 'Tiny test', '2008-03-04 09:00:00');
create schema raw;
create table raw.report_goals as
select 'hillstrom' as report, 'purchase' as goal, 'amount' as value_property;
create schema intermediate;
create table intermediate.int_campaign_lift_counts as
select * from (values
    ('hillstrom', 'mens_email', 'purchase', 'h', 336, 21307, 267,
        cast(30311.69 as numeric(28, 6)), 21306, 122,
        cast(13908.33 as numeric(28, 6))),
    ('hillstrom', 'tiny', 'purchase', 'h', 336, 40, 4,
        cast(0 as numeric(28, 6)), 40, 1, cast(0 as numeric(28, 6)))
) as counts (
    report, campaign_id, goal, report_hash, control_window_hours,
    treatment_persons, treatment_converters, treatment_value,
    control_persons, control_converters, control_value
);
create table marts.fct_campaign_credit as
select * from (values
    ('hillstrom', 'purchase', 'mens_email', 'linear', cast(1.5 as numeric(28, 6))),
    ('hillstrom', 'purchase', 'mens_email', 'first_touch', cast(2 as numeric(28, 6)))
) as credit (report, goal, campaign_id, credit_model, credited_conversions);
"""


def _text(tables: list) -> str:
    console = Console(record=True, width=220)
    for table in tables:
        console.print(table)
    return console.export_text()


def test_lift_table_shows_the_hillstrom_figures() -> None:
    con = duckdb.connect()
    con.execute(WAREHOUSE)
    write_lift_mart(con)
    (table,) = lift_tables(con).values()
    text = _text([table])
    assert "Holdout lift: report hillstrom, goal purchase" in text
    # 267 / 21,307 = 1.25% and 122 / 21,306 = 0.57%; lift 0.6805 pp, interval
    # [0.500, 0.861] pp, relative 118.84%, 145.0 incremental buyers and 16,402.71.
    mens = next(line for line in text.splitlines() if "Mens E-Mail" in line)
    for cell in (
        "267 / 21,307 (1.25%)",
        "122 / 21,306 (0.57%)",
        "+0.68",
        "[+0.50, +0.86]",
        "+118.8%",
        "145.0",
        "16,402.71",
        "<0.0001",
    ):
        assert cell in mens, cell
    # 4 and 1 converters are too few for the normal approximation.
    assert "Tiny test *" in text


def test_a_goal_without_value_shows_no_incremental_value() -> None:
    con = duckdb.connect()
    con.execute(WAREHOUSE)
    con.execute("update raw.report_goals set value_property = null")
    write_lift_mart(con)
    (table,) = lift_tables(con).values()
    mens = next(line for line in _text([table]).splitlines() if "Mens E-Mail" in line)
    assert "16,402.71" not in mens
    assert mens.split("│")[-3].strip() == "-"


def test_credit_table_lists_every_model() -> None:
    con = duckdb.connect()
    con.execute(WAREHOUSE)
    text = _text(list(credit_tables(con).values()))
    mens = next(line for line in text.splitlines() if "Mens E-Mail" in line)
    assert mens.split() == [
        "│",
        "Mens",
        "E-Mail",
        "│",
        "2.00",
        "│",
        "-",
        "│",
        "1.50",
        "│",
        "-",
        "│",
        "-",
        "│",
    ]


def test_a_warehouse_without_the_marts_shows_no_tables() -> None:
    con = duckdb.connect()
    assert lift_tables(con) == {} and credit_tables(con) == {}
