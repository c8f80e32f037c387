"""Holdout lift: how much more a campaign's recipients converted than the persons held back.

The dbt model ``int_campaign_lift_counts`` counts, for each report, campaign with a holdout
and goal, the two groups: treatment (the campaign's recipients) and control (the persons
held back), with their converters and the value of their conversions. This module turns
those counts into the lift figures and writes them to ``marts.fct_campaign_lift``.

With n_t, x_t, v_t the treatment's persons, converters and value, and n_c, x_c, v_c the
control's:

- conversion rates ``p_t = x_t / n_t`` and ``p_c = x_c / n_c``;
- absolute lift ``d = p_t - p_c``;
- relative lift ``d / p_c``, NULL when ``p_c = 0``;
- incremental converters ``d * n_t``: the recipients who converted because they were sent to;
- incremental value ``(v_t / n_t - v_c / n_c) * n_t``, the same reading for value;
- a 95% confidence interval for ``d`` by the normal approximation with unpooled variances:
  ``d -/+ z * sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c)``, where ``z`` = 1.959964 is
  the standard normal quantile at 0.975;
- the two-sided p-value of the pooled two-proportion z-test of ``p_t = p_c``: with the pooled
  rate ``p = (x_t + x_c) / (n_t + n_c)``, ``z = d / sqrt(p (1 - p) (1 / n_t + 1 / n_c))`` and
  ``p-value = 2 * (1 - Phi(|z|))``;
- ``is_small_sample``, true when either group has fewer than 10 converters or fewer than 10
  non-converters, where the normal approximation behind the interval and the p-value is not
  to be trusted.

A figure whose formula divides by zero is NULL: every rate-based figure when a group has no
persons, the p-value when nobody or everybody converted in both groups (the pooled rate is
0 or 1 and the test statistic undefined). When the unpooled variance is 0 (each group's rate
is 0 or 1) the interval has no width; the small-sample flag is then always set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scipy.stats import norm

from orchestration import postgres
from orchestration.warehouse import (
    Connection,
    fetch,
    is_duckdb,
    placeholders,
    quote_literal,
    transaction,
)

CONFIDENCE = 0.95
# The usual rule of thumb for the normal approximation to a binomial proportion.
MIN_OUTCOMES_PER_GROUP = 10
COUNTS_RELATION = "intermediate.int_campaign_lift_counts"
MART_SCHEMA = "marts"
MART_TABLE = "fct_campaign_lift"
# numeric(28, 6), as every value column of the marts.
VALUE_STEP = Decimal("0.000001")


@dataclass(frozen=True)
class Group:
    """One side of the comparison: persons, how many of them converted, and their value."""

    persons: int
    converters: int
    value: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.persons < 0 or not 0 <= self.converters <= self.persons:
            raise ValueError(
                f"converters must lie between 0 and persons ({self.persons}), "
                f"got {self.converters} converters"
            )

    @property
    def rate(self) -> float | None:
        return self.converters / self.persons if self.persons else None

    @property
    def value_per_person(self) -> Decimal | None:
        return Decimal(self.value) / self.persons if self.persons else None


@dataclass(frozen=True)
class Lift:
    """The lift figures of one campaign and goal; see the module docstring for each."""

    treatment_rate: float | None
    control_rate: float | None
    absolute_lift: float | None
    relative_lift: float | None
    incremental_converters: float | None
    treatment_value_per_person: Decimal | None
    control_value_per_person: Decimal | None
    incremental_value: Decimal | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    is_small_sample: bool


def difference_interval(
    treatment: Group, control: Group, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Normal-approximation interval for the difference of rates, unpooled variances."""
    if treatment.rate is None or control.rate is None:
        return None
    p_t, p_c = treatment.rate, control.rate
    standard_error = math.sqrt(
        p_t * (1 - p_t) / treatment.persons + p_c * (1 - p_c) / control.persons
    )
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    difference = p_t - p_c
    return difference - z * standard_error, difference + z * standard_error


def pooled_p_value(treatment: Group, control: Group) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test that both rates are equal."""
    if treatment.rate is None or control.rate is None:
        return None
    persons = treatment.persons + control.persons
    pooled = (treatment.converters + control.converters) / persons
    variance = pooled * (1 - pooled) * (1 / treatment.persons + 1 / control.persons)
    if variance == 0:
        return None
    z = (treatment.rate - control.rate) / math.sqrt(variance)
    # sf(|z|) rather than 1 - cdf(|z|): it keeps its precision far out in the tail.
    return float(2 * norm.sf(abs(z)))


def is_small_sample(
    treatment: Group, control: Group, minimum: int = MIN_OUTCOMES_PER_GROUP
) -> bool:
    """Whether either group has fewer than ``minimum`` converters or non-converters."""
    return any(
        group.converters < minimum or group.persons - group.converters < minimum
        for group in (treatment, control)
    )


def campaign_lift(treatment: Group, control: Group, confidence: float = CONFIDENCE) -> Lift:
    """Every lift figure of one campaign and goal from the two groups' counts."""
    p_t, p_c = treatment.rate, control.rate
    absolute = p_t - p_c if p_t is not None and p_c is not None else None
    relative = absolute / p_c if absolute is not None and p_c else None
    incremental = absolute * treatment.persons if absolute is not None else None
    value_t, value_c = treatment.value_per_person, control.value_per_person
    incremental_value = (
        _to_value_step((value_t - value_c) * treatment.persons)
        if value_t is not None and value_c is not None
        else None
    )
    interval = difference_interval(treatment, control, confidence)
    return Lift(
        treatment_rate=p_t,
        control_rate=p_c,
        absolute_lift=absolute,
        relative_lift=relative,
        incremental_converters=incremental,
        treatment_value_per_person=_to_value_step(value_t),
        control_value_per_person=_to_value_step(value_c),
        incremental_value=incremental_value,
        ci_lower=interval[0] if interval else None,
        ci_upper=interval[1] if interval else None,
        p_value=pooled_p_value(treatment, control),
        is_small_sample=is_small_sample(treatment, control),
    )


def _to_value_step(value: Decimal | None) -> Decimal | None:
    return value.quantize(VALUE_STEP) if value is not None else None


# The mart's columns: name, type and description. The first eleven are copied from the
# counts model; the rest are the Lift fields in order.
MART_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("report", "varchar", "Report whose goals and windows were applied."),
    ("campaign_id", "varchar", "The campaign."),
    ("goal", "varchar", "The conversion goal."),
    ("report_hash", "varchar", "Short hash of the report's definition."),
    (
        "control_window_hours",
        "integer",
        "Hours after the holdout in which a control person's conversion counts.",
    ),
    ("treatment_persons", "bigint", "Persons sent the campaign (n_t)."),
    ("treatment_converters", "bigint", "Of them, persons with an indirect conversion (x_t)."),
    ("treatment_value", "numeric(28, 6)", "Value of those conversions (v_t)."),
    ("control_persons", "bigint", "Persons held back from the campaign (n_c)."),
    ("control_converters", "bigint", "Of them, persons converting inside their window (x_c)."),
    ("control_value", "numeric(28, 6)", "Value of those conversions (v_c)."),
    ("treatment_rate", "double precision", "x_t / n_t."),
    ("control_rate", "double precision", "x_c / n_c."),
    ("absolute_lift", "double precision", "treatment_rate - control_rate."),
    ("relative_lift", "double precision", "absolute_lift / control_rate; NULL when it is 0."),
    ("incremental_converters", "double precision", "absolute_lift * treatment_persons."),
    ("treatment_value_per_person", "numeric(28, 6)", "v_t / n_t."),
    ("control_value_per_person", "numeric(28, 6)", "v_c / n_c."),
    (
        "incremental_value",
        "numeric(28, 6)",
        "(v_t / n_t - v_c / n_c) * n_t, before the per-person values are rounded.",
    ),
    (
        "absolute_lift_ci_lower",
        "double precision",
        "Lower end of the 95% interval of absolute_lift (normal approximation, unpooled).",
    ),
    ("absolute_lift_ci_upper", "double precision", "Upper end of that interval."),
    (
        "p_value",
        "double precision",
        "Two-sided p-value of the pooled two-proportion z-test of equal rates.",
    ),
    (
        "is_small_sample",
        "boolean",
        "Either group has fewer than 10 converters or 10 non-converters.",
    ),
)
COUNT_COLUMNS = tuple(name for name, _, _ in MART_COLUMNS[:11])


def lift_row(counts: dict[str, Any]) -> tuple[Any, ...]:
    """One mart row from one row of the counts model."""
    treatment = Group(
        counts["treatment_persons"], counts["treatment_converters"], counts["treatment_value"]
    )
    control = Group(
        counts["control_persons"], counts["control_converters"], counts["control_value"]
    )
    lift = campaign_lift(treatment, control)
    return (
        *(counts[name] for name in COUNT_COLUMNS),
        lift.treatment_rate,
        lift.control_rate,
        lift.absolute_lift,
        lift.relative_lift,
        lift.incremental_converters,
        lift.treatment_value_per_person,
        lift.control_value_per_person,
        lift.incremental_value,
        lift.ci_lower,
        lift.ci_upper,
        lift.p_value,
        lift.is_small_sample,
    )


def write_lift_mart(
    con: Connection, counts_relation: str = COUNTS_RELATION, *, grant_to: str | None = None
) -> int:
    """Replace ``marts.fct_campaign_lift`` with the lift of every row of the counts model.

    The table is dropped, recreated and filled in one transaction, so a reader sees either
    the previous mart or the new one, never a half-written one. On PostgreSQL the new table
    is granted to ``grant_to``, as dbt grants the marts it builds. Returns the rows written.
    """
    names, found = fetch(
        con,
        f"select {', '.join(COUNT_COLUMNS)} from {counts_relation} "
        "order by report, campaign_id, goal",
    )
    rows = []
    for values in found:
        counts = dict(zip(names, values, strict=True))
        try:
            rows.append(lift_row(counts))
        except ValueError as exc:
            where = ", ".join(f"{key} {counts[key]!r}" for key in ("report", "campaign_id", "goal"))
            raise ValueError(f"{counts_relation}, row of {where}: {exc}") from None
    mart = f"{MART_SCHEMA}.{MART_TABLE}"
    with transaction(con) as cursor:
        cursor.execute(f"create schema if not exists {MART_SCHEMA}")
        cursor.execute(f"drop table if exists {mart}")
        cursor.execute(f"create table {mart} ({_column_definitions(MART_COLUMNS)})")
        for name, _, description in MART_COLUMNS:
            cursor.execute(f"comment on column {mart}.{name} is {quote_literal(description)}")
        if rows:
            cursor.executemany(
                f"insert into {mart} values ({placeholders(con, len(MART_COLUMNS))})", rows
            )
        if grant_to is not None and not is_duckdb(con):
            postgres.grant_select(cursor, mart, grant_to)
    return len(rows)


def _column_definitions(columns: Sequence[tuple[str, str, str]]) -> str:
    return ", ".join(f"{name} {data_type}" for name, data_type, _ in columns)
