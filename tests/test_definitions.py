"""The code location loads, without a warehouse, and its graph runs from landing to marts."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dbt_assets import ManifestMissingError, build_dbt_assets, prune_run_targets
from orchestration.definitions import defs
from orchestration.paths import DEFAULT_CONFIG, DEFAULT_DATABASE, DEFAULT_LANDING
from orchestration.partitions import daily_partitions
from orchestration.publish_assets import PUBLISHED_KEY
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
    # Goal steps feed only the funnel; every other input reaches the performance mart.
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
        build_dbt_assets(daily_partitions("UTC", "2026-11-01"), tmp_path / "target" / "manifest.json")
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
