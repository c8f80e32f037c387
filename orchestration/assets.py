"""The assets upstream of dbt: landing folders, raw tables and the report config tables.

The raw asset keys are the ones dagster-dbt gives the dbt sources of source
``raw`` (``["raw", "<table>"]``), so the graph runs unbroken from the landing
files to the marts. The event tables are partitioned by day and load only the
day folders of their run; the small tables are reloaded whole by every run.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from orchestration import postgres
from orchestration.landing import (
    CONTRACTS,
    MISNAMED_DAY_FOLDERS,
    RAW_SCHEMA,
    TableContract,
    load_table,
    misnamed_day_folders,
    raw_schema,
)
from orchestration.landing_postgres import load_table_into_postgres
from orchestration.partitions import PARTITIONED_TABLES
from orchestration.report_config import CONFIG_TABLE_COLUMNS, ReportConfig, config_tables
from orchestration.resources import LandingResource, ReportConfigResource, WarehouseResource
from orchestration.run_scope import POSTGRES_FULL_ONLY, describe_days, is_full_refresh, run_days
from orchestration.settings import SettingsError, require_daily_timezone, schedule_timezone
from orchestration.warehouse import Connection, is_duckdb, placeholders, transaction

RAW_GROUP = "raw"
LANDING_GROUP = "landing"


# Column types of the config tables; the dbt models join on them as they are.
def landing_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([LANDING_GROUP, table])


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, table])


landing_specs = [
    dg.AssetSpec(
        key=landing_key(contract.name),
        group_name=LANDING_GROUP,
        kinds={"file"},
        description=(
            f"The {contract.name}/ folder of the landing folder: CSV, Parquet or "
            "JSON-lines files dropped there by an export. "
            + ("Required." if contract.folder_required else "Optional.")
        ),
    )
    for contract in CONTRACTS.values()
]
# The report configuration is an input like the landing files: editing it
# changes every mart, so the lineage shows it upstream of the report tables.
REPORT_CONFIG_KEY = landing_key("report_config")
landing_specs.append(
    dg.AssetSpec(
        key=REPORT_CONFIG_KEY,
        group_name=LANDING_GROUP,
        kinds={"yaml"},
        description=(
            "The report configuration file ($CAMPAIGN_REPORT_CONFIG, by default "
            "config/reports.yml): goals, windows, credit and targets of every report."
        ),
    )
)


def _raw_table_asset(
    contract: TableContract, partitions: dg.DailyPartitionsDefinition | None
) -> dg.AssetsDefinition:
    if partitions is None:
        loads = "replaced wholesale on each run."
    else:
        loads = (
            "partitioned by day: a run loads the day folders of its days "
            f"(landing/{contract.name}/YYYY-MM-DD/) and replaces those days' rows; "
            "a full refresh replaces the table with every file."
        )

    @dg.asset(
        key=raw_key(contract.name),
        deps=[landing_key(contract.name)],
        group_name=RAW_GROUP,
        kinds={"duckdb"},
        partitions_def=partitions,
        # A backfill of many days is one load of all their folders, not one run a day.
        backfill_policy=dg.BackfillPolicy.single_run() if partitions else None,
        description=(
            f"Every row of landing/{contract.name}/, as text, with the file and row it "
            f"came from; {loads}"
        ),
    )
    def _raw_table(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingResource,
    ) -> dg.MaterializeResult:
        days = run_days(context, partitions.timezone) if partitions else None
        if warehouse.is_postgres:
            if days is not None:
                raise dg.Failure(description=POSTGRES_FULL_ONLY)
            with warehouse.connect() as con:
                result = load_table_into_postgres(con, landing.path, contract)
        else:
            with warehouse.connect() as con:
                # Without days the loader keeps its whole-table replace: the full refresh.
                if days is None:
                    result = load_table(con, landing.path, contract)
                else:
                    result = load_table(con, landing.path, contract, days=days)
        for relative_path in result.skipped_files:
            context.log.warning(f"{relative_path}: skipped, not a CSV, Parquet or JSON-lines file")
        misnamed = misnamed_day_folders(landing.path, contract) if partitions else []
        for relative_path in misnamed:
            context.log.warning(
                f"{relative_path}: looks like a day folder but is not named YYYY-MM-DD "
                "(or is not a real date), so no daily run loads it; only full builds do"
            )
        for relative_path, columns in result.ignored_columns.items():
            context.log.info(
                f"{relative_path}: ignored {len(columns)} column(s) not in the "
                f"{contract.name} contract: {', '.join(columns)}"
            )
        replaced = "replaced" if days is None else f"rows of {describe_days(days)} replaced"
        context.log.info(
            f"{contract.qualified_name}: {replaced} with {result.rows} rows "
            f"from {len(result.files)} file(s)"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "files": dg.MetadataValue.json(list(result.files)),
                MISNAMED_DAY_FOLDERS: dg.MetadataValue.json(misnamed),
            }
        )

    return _raw_table


def build_raw_table_assets(partitions: dg.DailyPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """One asset per raw table; the event tables carry the daily partitions."""
    return [
        _raw_table_asset(contract, partitions if contract.name in PARTITIONED_TABLES else None)
        for contract in CONTRACTS.values()
    ]


def write_report_tables(con: Connection, config: ReportConfig) -> dict[str, int]:
    """Replace the raw.report_* tables with the flattened config, in one transaction."""
    tables = config_tables(config)
    counts: dict[str, int] = {}
    if not is_duckdb(con):
        with transaction(con) as cursor:
            for table, columns in CONFIG_TABLE_COLUMNS.items():
                relation = postgres.prepare_table(cursor, RAW_SCHEMA, table, columns)
                rows = [[row[name] for name in columns] for row in tables[table]]
                postgres.insert_rows(cursor, relation, rows)
                counts[table] = len(rows)
        return counts
    schema = raw_schema(con)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {schema}")
        for table, columns in CONFIG_TABLE_COLUMNS.items():
            rows: list[dict[str, Any]] = tables[table]
            column_sql = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
            con.execute(f"create or replace table {schema}.{table} ({column_sql})")
            if rows:
                con.executemany(
                    f"insert into {schema}.{table} values ({placeholders(con, len(columns))})",
                    [[row[name] for name in columns] for row in rows],
                )
            counts[table] = len(rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


@dg.multi_asset(
    name="report_config_tables",
    group_name=RAW_GROUP,
    specs=[
        dg.AssetSpec(
            key=raw_key(table),
            kinds={"duckdb"},
            description=f"The report configuration file flattened into {table}.",
            deps=[REPORT_CONFIG_KEY],
        )
        for table in CONFIG_TABLE_COLUMNS
    ],
)
def report_config_tables(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    report_config: ReportConfigResource,
) -> Iterator[dg.MaterializeResult]:
    """Validate the report config file and write it where the dbt models read it."""
    config = report_config.load()
    if not is_full_refresh(context.run.tags):
        try:
            require_daily_timezone(report_config.file, config.timezone, schedule_timezone())
        except SettingsError as exc:
            raise dg.Failure(description=str(exc)) from None
    with warehouse.connect() as con:
        counts = write_report_tables(con, config)
    for table, count in counts.items():
        context.log.info(
            f"{RAW_SCHEMA}.{table}: replaced with {count} rows from {report_config.file}"
        )
        yield dg.MaterializeResult(asset_key=raw_key(table), metadata={"dagster/row_count": count})
