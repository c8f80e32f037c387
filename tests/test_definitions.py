"""The code location loads, without a warehouse, and its graph runs from landing to marts."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster_dbt import dbt_assets

from orchestration.dbt_assets import (
    CampaignReportTranslator,
    ManifestMissingError,
    build_dbt_assets,
    prune_run_targets,
)
from orchestration.definitions import defs
from orchestration.partitions import FIRST_DAY_ENV, daily_partitions
from orchestration.paths import DEFAULT_CONFIG, DEFAULT_DATABASE, DEFAULT_LANDING, MANIFEST_PATH
from orchestration.publish_assets import PUBLISHED_KEY
from orchestration.quarantine import nothing_lost_checks
from orchestration.resources import warehouse_resource
from orchestration.settings import (
    ANALYST_ROLE_ENV,
    BUSY_TIMEOUT_ENV,
    CONFIG_ENV,
    DATABASE_ENV,
    LANDING_ENV,
    SCHEDULE_TIMEZONE_ENV,
    TARGET_ENV,
    PostgresSettings,
    RunSettings,
    SettingsError,
    schedule_timezone,
)

RAW_TABLES = ("campaigns", "message_events", "product_events", "identities")
CONFIG_TABLES = ("report_definitions", "report_goals", "report_goal_conditions")


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dbt_manifest: Path) -> dg.Definitions:
    monkeypatch.setenv(DATABASE_ENV, str(tmp_path / "never-created.duckdb"))
    monkeypatch.delenv(SCHEDULE_TIMEZONE_ENV, raising=False)
    monkeypatch.delenv(TARGET_ENV, raising=False)
    monkeypatch.delenv(FIRST_DAY_ENV, raising=False)
    return defs()


def test_definitions_load_without_touching_the_warehouse(
    loaded: dg.Definitions, tmp_path: Path
) -> None:
    assert loaded.resolve_job_def("campaign_report_job") is not None
    assert loaded.resources["warehouse"].database == str(tmp_path / "never-created.duckdb")
    assert not (tmp_path / "never-created.duckdb").exists()


def test_daily_schedule_runs_the_job_at_six_in_seoul(loaded: dg.Definitions) -> None:
    schedule = loaded.resolve_schedule_def("campaign_report_daily")
    assert schedule.job_name == "campaign_report_job"
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Asia/Seoul"
    # On as soon as `dagster dev` loads it, with no click in the UI.
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


@pytest.mark.parametrize(
    ("scheduled", "partition"),
    [
        # 06:00 on 3 November in Seoul builds 2 November, the day that ended at midnight.
        (datetime(2026, 11, 3, 6, 0, tzinfo=ZoneInfo("Asia/Seoul")), "2026-11-02"),
        # The same instant written in UTC, where it is still the 2nd: 21:00 on the 2nd.
        (datetime(2026, 11, 2, 21, 0, tzinfo=UTC), "2026-11-02"),
        # The first tick after the first day has ended.
        (datetime(2026, 11, 2, 6, 0, tzinfo=ZoneInfo("Asia/Seoul")), "2026-11-01"),
    ],
)
def test_the_schedule_builds_the_day_just_ended(
    loaded: dg.Definitions, scheduled: datetime, partition: str
) -> None:
    schedule = loaded.resolve_schedule_def("campaign_report_daily")
    with dg.build_schedule_context(scheduled_execution_time=scheduled) as context:
        result = schedule.evaluate_tick(context)
    assert [request.partition_key for request in result.run_requests or []] == [partition]


def test_one_job_holds_the_daily_and_the_whole_assets(loaded: dg.Definitions) -> None:
    graph = loaded.resolve_asset_graph()
    daily = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }
    assert daily == {"raw/message_events", "raw/product_events"} | DAILY_DBT_MODELS
    for key in daily:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.partitions_def == daily_partitions("Asia/Seoul", "2026-11-01")
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    for name in ("campaign_report_job", "campaign_report_full_refresh"):
        job = loaded.resolve_job_def(name)
        assert job.partitions_def == daily_partitions("Asia/Seoul", "2026-11-01")
        # A backfill of the job over any range is one run.
        assert job.backfill_policy == dg.BackfillPolicy.single_run()
        assert (
            job.asset_layer.selected_asset_keys
            == loaded.resolve_job_def("campaign_report_job").asset_layer.selected_asset_keys
        )
    assert loaded.resolve_job_def("campaign_report_full_refresh").tags == {
        "campaign_report/full_refresh": "true"
    }
    assert "campaign_report/full_refresh" not in loaded.resolve_job_def("campaign_report_job").tags


# The eight incremental models, and the views and tables that lie between them: read
# off the lineage by hand (the staged events read the base models, the receipts and the
# report's campaigns read the staged events, the persons whose messages a run derived
# again read the receipts, the pairs and the touches read the goal conversions and
# those persons, the credited conversions read the pairs, the credit reads the touches).
INCREMENTAL_MODELS = {
    "base_message_events",
    "base_product_events",
    "int_message_receipts",
    "int_conversion_message_pairs",
    "int_attributed_conversions",
    "fct_attributed_conversions",
    "int_conversion_touches",
    "fct_conversion_credit",
}
DAILY_DBT_MODELS = {
    "staging/base_message_events",
    "staging/base_product_events",
    "staging/stg_message_events",
    "staging/stg_product_events",
    "intermediate/int_person_product_events",
    "intermediate/int_goal_conversions",
    "intermediate/int_report_campaigns",
    "intermediate/int_message_receipts",
    "intermediate/int_judged_messages",
    "intermediate/int_rederived_persons",
    "intermediate/int_conversion_message_pairs",
    "intermediate/int_attributed_conversions",
    "intermediate/int_conversion_touches",
    "marts/fct_attributed_conversions",
    "marts/fct_conversion_credit",
    "quarantine/message_events",
    "quarantine/product_events",
}


def _partitioned_models() -> set[str]:
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "partitioned" in node["tags"]
    }


def test_the_three_dbt_sets_split_every_dbt_node_between_them(dbt_manifest: Path) -> None:
    partitions = daily_partitions("Asia/Seoul", "2026-11-01")
    upstream, daily, downstream = build_dbt_assets(partitions)

    @dbt_assets(manifest=dbt_manifest, dagster_dbt_translator=CampaignReportTranslator())
    def every_node(): ...

    sets = (upstream, daily, downstream)
    assert sum(len(one.keys) for one in sets) == len(every_node.keys)
    assert upstream.keys | daily.keys | downstream.keys == every_node.keys
    assert {key.to_user_string() for key in daily.keys} == DAILY_DBT_MODELS
    assert _partitioned_models() == INCREMENTAL_MODELS
    # Read off the lineage by hand: the config, the campaigns, the identities, the seed
    # and the small tables' quarantine come before the daily set; the marts after it.
    assert {
        "staging/stg_campaigns",
        "staging/stg_report_channel_windows",
        "intermediate/int_device_users",
        "reference/channel_capabilities",
        "quarantine/campaigns",
        "quarantine/identities",
    } <= {key.to_user_string() for key in upstream.keys}
    assert "marts/fct_campaign_performance" in {key.to_user_string() for key in downstream.keys}
    assert daily.partitions_def == partitions
    assert daily.backfill_policy == dg.BackfillPolicy.single_run()
    assert upstream.partitions_def is None and downstream.partitions_def is None
    # Every dbt test is a check of exactly one of the three sets.
    assert sum(len(one.check_keys) for one in sets) == len(every_node.check_keys)
    assert upstream.check_keys | daily.check_keys | downstream.check_keys == (every_node.check_keys)


def test_a_run_calls_dbt_once_per_set(loaded: dg.Definitions) -> None:
    # Before the daily set, the daily set, after it: no set is cut into several steps.
    graph = loaded.resolve_job_def("campaign_report_job").graph
    dbt_steps = sorted(name for name in graph.node_dict if name.startswith("campaign_report_dbt"))
    assert dbt_steps == [
        "campaign_report_dbt",
        "campaign_report_dbt_daily",
        "campaign_report_dbt_upstream",
    ]


def test_the_nothing_lost_checks_count_assets_that_exist(loaded: dg.Definitions) -> None:
    graph = loaded.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    for check in nothing_lost_checks:
        (spec,) = check.check_specs
        assert spec.asset_key in keys
        assert {dep.asset_key for dep in spec.additional_deps} <= keys


def test_schedule_timezone_comes_from_the_environment() -> None:
    assert schedule_timezone({SCHEDULE_TIMEZONE_ENV: "Europe/Berlin"}) == "Europe/Berlin"
    assert schedule_timezone({}) == "Asia/Seoul"
    with pytest.raises(ValueError, match=f"^{SCHEDULE_TIMEZONE_ENV}: expected an IANA"):
        schedule_timezone({SCHEDULE_TIMEZONE_ENV: "Seoul"})


def test_lineage_runs_from_landing_folders_through_raw_to_the_marts(
    loaded: dg.Definitions,
) -> None:
    graph = loaded.resolve_asset_graph()
    for table in RAW_TABLES:
        raw = graph.get(dg.AssetKey(["raw", table]))
        assert raw.parent_keys == {dg.AssetKey(["landing", table])}
        assert not graph.get(dg.AssetKey(["landing", table])).is_executable
    # The dbt sources resolve to the very keys the raw assets materialise. The base model
    # judges each raw row; staging and quarantine each read its verdicts.
    assert graph.get(dg.AssetKey(["staging", "base_message_events"])).parent_keys == {
        dg.AssetKey(["raw", "message_events"]),
        dg.AssetKey(["staging", "stg_campaigns"]),
    }
    assert graph.get(dg.AssetKey(["staging", "stg_message_events"])).parent_keys == {
        dg.AssetKey(["staging", "base_message_events"])
    }
    assert graph.get(dg.AssetKey(["quarantine", "message_events"])).parent_keys == {
        dg.AssetKey(["raw", "message_events"]),
        dg.AssetKey(["staging", "base_message_events"]),
    }
    assert graph.get(dg.AssetKey(["staging", "stg_report_goals"])).parent_keys == {
        dg.AssetKey(["raw", "report_goals"])
    }
    ancestors = _ancestors(graph, dg.AssetKey(["marts", "fct_campaign_performance"]))
    # Every input reaches the performance mart, the goal steps too: the stitched
    # product events keep only the events of some goal's or goal step's key.
    assert {key.to_user_string() for key in ancestors if key.path[0] in ("landing", "raw")} == {
        "landing/campaigns",
        "landing/identities",
        "landing/message_events",
        "landing/product_events",
        "landing/report_config",
        "raw/campaigns",
        "raw/identities",
        "raw/message_events",
        "raw/product_events",
        "raw/report_definitions",
        "raw/report_channel_windows",
        "raw/report_target_channels",
        "raw/report_goals",
        "raw/report_goal_conditions",
        "raw/report_goal_steps",
    }


def _ancestors(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    found: set[dg.AssetKey] = set()
    pending = [key]
    while pending:
        for parent in graph.get(pending.pop()).parent_keys:
            if parent not in found:
                found.add(parent)
                pending.append(parent)
    return found


def test_job_builds_every_raw_and_dbt_asset_but_not_the_landing_folders(
    loaded: dg.Definitions,
) -> None:
    job = loaded.resolve_job_def("campaign_report_job")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {f"raw/{table}" for table in RAW_TABLES + CONFIG_TABLES} <= selected
    assert {
        "marts/fct_campaign_performance",
        "marts/fct_campaign_funnel",
        "marts/fct_attributed_conversions",
        "marts/dim_campaigns",
    } <= selected
    assert not any(key.startswith("landing/") for key in selected)
    # dbt tests arrive as asset checks on the models.
    checks = loaded.resolve_asset_graph().asset_check_keys
    assert any(
        check.asset_key == dg.AssetKey(["marts", "fct_campaign_performance"]) for check in checks
    )
    # So do the Python checks that every raw row is accounted for, in the job too.
    nothing_lost = {
        check.asset_key.to_user_string() for check in checks if check.name == "nothing_lost"
    }
    assert nothing_lost == {f"staging/stg_{table}" for table in RAW_TABLES}
    assert {
        f"staging__stg_{table}_nothing_lost" for table in RAW_TABLES
    } <= job.graph.node_dict.keys()


def test_dbt_models_are_grouped_by_layer(loaded: dg.Definitions) -> None:
    graph = loaded.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["staging", "stg_campaigns"])).group_name == "staging"
    assert graph.get(dg.AssetKey(["staging", "base_campaigns"])).group_name == "staging"
    assert graph.get(dg.AssetKey(["quarantine", "goal_values"])).group_name == "quarantine"
    assert graph.get(dg.AssetKey(["marts", "fct_campaign_funnel"])).group_name == "marts"
    assert graph.get(dg.AssetKey(["raw", "campaigns"])).group_name == "raw"


def test_a_missing_manifest_says_to_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ManifestMissingError) as raised:
        build_dbt_assets(
            daily_partitions("UTC", "2026-11-01"), tmp_path / "target" / "manifest.json"
        )
    assert str(raised.value) == (
        f"{tmp_path / 'target' / 'manifest.json'}: dbt manifest not found; run `make setup` "
        "to build it (it runs `dbt parse` in dbt_project/)"
    )


def test_settings_default_to_the_repository_and_follow_the_environment(tmp_path: Path) -> None:
    assert RunSettings.from_env({}) == RunSettings(
        database=DEFAULT_DATABASE, landing=DEFAULT_LANDING, config=DEFAULT_CONFIG
    )
    assert DEFAULT_DATABASE.is_absolute()
    from_env = RunSettings.from_env(
        {
            DATABASE_ENV: str(tmp_path / "w.duckdb"),
            LANDING_ENV: str(tmp_path / "in"),
            CONFIG_ENV: str(tmp_path / "r.yml"),
        }
    )
    assert from_env == RunSettings(
        database=tmp_path / "w.duckdb", landing=tmp_path / "in", config=tmp_path / "r.yml"
    )
    # A relative path is fixed to the working directory now, because dbt runs elsewhere.
    assert RunSettings.from_env({DATABASE_ENV: "w.duckdb"}).database == Path.cwd() / "w.duckdb"


def test_settings_read_the_postgres_target_from_the_environment(tmp_path: Path) -> None:
    environment = {
        DATABASE_ENV: str(tmp_path / "w.duckdb"),
        TARGET_ENV: "postgres",
        "PGHOST": "db.example.com",
        "PGPORT": "6543",
        "PGUSER": "builder",
        "PGPASSWORD": "never kept",
        "PGDATABASE": "crm",
        ANALYST_ROLE_ENV: "bi_reader",
        BUSY_TIMEOUT_ENV: "30",
    }
    settings = RunSettings.from_env(environment)
    assert settings == RunSettings(
        database=tmp_path / "w.duckdb",
        landing=DEFAULT_LANDING,
        config=DEFAULT_CONFIG,
        target="postgres",
        postgres=PostgresSettings(host="db.example.com", port=6543, user="builder", dbname="crm"),
        analyst_role="bi_reader",
        busy_timeout=30.0,
    )
    assert settings.warehouse_label() == "PostgreSQL database crm on db.example.com:6543 as builder"
    # What dbt is started with: the password stays in the environment it already has.
    assert warehouse_resource(settings).dbt_variables() == {
        TARGET_ENV: "postgres",
        DATABASE_ENV: str(tmp_path / "w.duckdb"),
        ANALYST_ROLE_ENV: "bi_reader",
        "PGHOST": "db.example.com",
        "PGPORT": "6543",
        "PGUSER": "builder",
        "PGDATABASE": "crm",
        "PGTZ": "UTC",
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (TARGET_ENV, "snowflake", "CAMPAIGN_REPORT_TARGET: expected duckdb or postgres, got "),
        ("PGPORT", "54x2", "PGPORT: expected a TCP port number, got "),
        (
            ANALYST_ROLE_ENV,
            "Analysts",
            "CAMPAIGN_REPORT_ANALYST_ROLE: expected a PostgreSQL role name of lower-case "
            "letters, digits and underscores, got ",
        ),
        (BUSY_TIMEOUT_ENV, "-5", "CAMPAIGN_REPORT_BUSY_TIMEOUT: expected a number of seconds, "),
    ],
)
def test_bad_warehouse_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        RunSettings.from_env({name: value})
    assert str(raised.value).startswith(message)
    assert str(raised.value).endswith(f"got {value!r}")


def test_the_published_copy_comes_after_every_mart_on_duckdb_only(
    loaded: dg.Definitions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = loaded.resolve_asset_graph()
    marts = {key for key in graph.get_all_asset_keys() if key.path[0] == "marts"}
    assert dg.AssetKey(["marts", "fct_campaign_lift"]) in marts
    assert len(marts) == 8
    assert graph.get(PUBLISHED_KEY).parent_keys == marts

    monkeypatch.setenv(TARGET_ENV, "postgres")
    on_postgres = defs().resolve_asset_graph()
    assert PUBLISHED_KEY not in on_postgres.get_all_asset_keys()
    assert on_postgres.get(dg.AssetKey(["marts", "fct_campaign_lift"])) is not None


def test_old_dbt_run_folders_are_pruned(tmp_path: Path) -> None:
    for age in range(7):
        folder = tmp_path / f"campaign_report_dbt-run{age}"
        folder.mkdir()
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))
    (tmp_path / "manifest.json").write_text("{}")
    deleted = prune_run_targets(tmp_path, keep=5)
    # The two oldest go; other files in target/ are not touched.
    assert sorted(path.name for path in deleted) == [
        "campaign_report_dbt-run0",
        "campaign_report_dbt-run1",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        *(f"campaign_report_dbt-run{age}" for age in range(2, 7)),
        "manifest.json",
    ]
