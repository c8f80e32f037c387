"""The published copy of the DuckDB marts as the last asset of the graph."""

from collections.abc import Iterable

import dagster as dg

from orchestration.publish import publish
from orchestration.resources import WarehouseResource

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse"])


def build_publish_asset(mart_keys: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The copy analysts open, downstream of every mart.

    A failed dbt test fails the dbt step, and Dagster then skips everything downstream,
    so the published copy only ever moves on to a warehouse whose build passed.
    """

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=sorted(mart_keys, key=lambda key: key.path),
        group_name="published",
        kinds={"duckdb"},
        description=(
            "A read-only copy of the DuckDB warehouse's marts and report config for "
            "analysts' SQL clients (published/<file name> beside the warehouse file), "
            "swapped in atomically after every successful build; no raw event, "
            "staging or quarantine table is in it."
        ),
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        path = publish(warehouse.path)
        context.log.info(f"{warehouse.path}: published for analysts as {path}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})

    return published_warehouse
