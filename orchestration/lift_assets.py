"""The holdout lift mart as a Dagster asset, downstream of the dbt model that counts the groups.

The statistics need scipy, so this mart is written by Python (orchestration/lift.py) rather
than by dbt; it still lands in the marts schema beside the dbt marts.
"""

from contextlib import AbstractContextManager
from typing import Protocol

import dagster as dg

from orchestration.lift import MART_SCHEMA, MART_TABLE, write_lift_mart
from orchestration.warehouse import Connection

# dagster-dbt's default key for a model is its configured schema, then its name, and
# dbt_project.yml gives every intermediate model the schema `intermediate`. A translator
# that changes model keys must change this one with them.
LIFT_COUNTS_KEY = dg.AssetKey(["intermediate", "int_campaign_lift_counts"])
LIFT_KEY = dg.AssetKey([MART_SCHEMA, MART_TABLE])


class Warehouse(Protocol):
    """What the asset needs of the `warehouse` resource (orchestration/resources.py)."""

    @property
    def mart_grantee(self) -> str | None: ...

    def connect(self) -> AbstractContextManager[Connection]: ...


@dg.asset(
    key=LIFT_KEY,
    deps=[LIFT_COUNTS_KEY],
    group_name=MART_SCHEMA,
    kinds={"python"},
    required_resource_keys={"warehouse"},
    description=(
        "One row per report, campaign with a holdout and goal: conversion rates of "
        "recipients and held-back persons, absolute and relative lift, incremental "
        "converters and value, a 95% interval and the p-value of the difference."
    ),
)
def fct_campaign_lift(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    warehouse: Warehouse = context.resources.warehouse
    with warehouse.connect() as con:
        rows = write_lift_mart(con, grant_to=warehouse.mart_grantee)
    context.log.info(f"{MART_SCHEMA}.{MART_TABLE}: wrote {rows} rows")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})
