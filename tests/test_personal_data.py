"""Phone numbers and e-mail addresses stay in raw and quarantine; the salt that hides them.

The warehouse tests read the run on tests/bad_input.py, which plants addresses and numbers
in user and device ids and in properties.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.paths import DBT_PROJECT_DIR, PROFILES_DIR, REPO_ROOT, dbt_executable
from orchestration.personal_data import (
    DEMO_PII_SALT,
    PII_SALT_ENV,
    PiiSaltError,
    require_pii_salt,
)
from orchestration.pipeline import run_pipeline
from orchestration.settings import DATABASE_ENV, RunSettings
from tests.bad_input import KIM_EMAIL, LEE_EMAIL, PLANTED, SMS_PHONE
from tests.conftest import BadInputRun

MISSING_SALT = (
    f"{PII_SALT_ENV} is not set: staging replaces ids that are phone numbers or e-mail "
    "addresses with a salted hash; set it to a random secret of at least 16 characters and "
    "keep it unchanged between runs"
)
ALLOWED_SCHEMAS = {"raw", "quarantine"}


def _hashed(value: str) -> str:
    return "sha256:" + hashlib.sha256((DEMO_PII_SALT + value).encode()).hexdigest()


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _planted_values_by_relation(database: Path) -> dict[str, set[str]]:
    """For every table and view of the warehouse, the planted values found in any column."""
    found: dict[str, set[str]] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        relations = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "union all select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
        for schema, name in relations:
            relation = f'"{schema}"."{name}"'
            columns = [row[0] for row in con.execute(f"describe {relation}").fetchall()]
            # Every column as text, every row as one string: a value anywhere is found.
            row_text = " || ' ' || ".join(
                f"coalesce(cast({_quoted(column)} as varchar), '')" for column in columns
            )
            for value in PLANTED:
                (hits,) = con.execute(
                    f"select count(*) from {relation} where contains(lower({row_text}), ?)",
                    [value.lower()],
                ).fetchone()
                if hits:
                    found.setdefault(f"{schema}.{name}", set()).add(value)
    return found


def test_no_phone_number_or_address_outside_raw_and_quarantine(
    bad_input_run: BadInputRun,
) -> None:
    found = _planted_values_by_relation(bad_input_run.database)

    leaked = {
        relation: values
        for relation, values in found.items()
        if relation.split(".")[0] not in ALLOWED_SCHEMAS
    }
    assert leaked == {}
    # The scan does see them where they belong, so it could see them anywhere.
    assert found == {
        "raw.message_events": set(PLANTED),
        "raw.product_events": {KIM_EMAIL, SMS_PHONE},
        "quarantine.message_events": {LEE_EMAIL},
    }


def test_personal_ids_become_their_salted_hash_and_still_join(bad_input_run: BadInputRun) -> None:
    with duckdb.connect(str(bad_input_run.database), read_only=True) as con:
        message_ids = con.execute(
            "select event_id, user_id, device_id from staging.stg_message_events "
            "where event_id in ('e01', 'e04', 'e10') order by event_id"
        ).fetchall()
        product_ids = con.execute(
            "select event_id, user_id, device_id from staging.stg_product_events "
            "where event_id in ('p01', 'p02', 'p07') order by event_id"
        ).fetchall()
    assert message_ids == [
        ("e01", "u1", None),
        ("e04", _hashed(KIM_EMAIL), None),
        ("e10", None, _hashed(SMS_PHONE)),
    ]
    assert product_ids == [
        ("p01", "u1", None),
        ("p02", _hashed(KIM_EMAIL), None),
        ("p07", None, _hashed(SMS_PHONE)),
    ]


def test_personal_properties_are_dropped_and_the_rest_kept(bad_input_run: BadInputRun) -> None:
    with duckdb.connect(str(bad_input_run.database), read_only=True) as con:
        properties = con.execute(
            "select event_id, properties from staging.stg_message_events "
            "where properties is not null union all "
            "select event_id, properties from staging.stg_product_events "
            "where event_id in ('p01', 'p02') order by event_id"
        ).fetchall()
    assert properties == [
        ("e03", '{"link":"https://shop.example/sale"}'),
        ("e10", '{"segment":"vip"}'),
        # Nothing to drop: kept exactly as written.
        ("p01", '{"order_id": "o1", "amount": 30000}'),
        ("p02", '{"order_id":"o2","amount":20000}'),
    ]


def test_a_run_without_the_salt_stops_before_writing(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PII_SALT_ENV)
    with pytest.raises(PiiSaltError) as raised:
        run_pipeline(settings)
    assert str(raised.value) == MISSING_SALT
    assert not settings.database.exists()


def test_the_cli_names_the_missing_salt(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PII_SALT_ENV)
    args = ["run", "--landing", str(settings.landing), "--database", str(settings.database)]
    result = CliRunner().invoke(app, [*args, "--config", str(settings.config)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"campaign-report: error: {MISSING_SALT}"]


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(PiiSaltError) as raised:
        require_pii_salt({PII_SALT_ENV: "fifteen-chars.."})
    assert str(raised.value) == (
        f"{PII_SALT_ENV}: expected a secret of at least 16 characters, got 15"
    )
    require_pii_salt({PII_SALT_ENV: "sixteen-chars..."})


def test_dbt_run_by_hand_without_the_salt_names_it(tmp_path: Path, dbt_manifest: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != PII_SALT_ENV and not key.startswith("DBT_")
    }
    env |= {DATABASE_ENV: str(tmp_path / "w.duckdb"), "DBT_PROFILES_DIR": str(PROFILES_DIR)}
    compiled = subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--select",
            "base_identities",
            "--target-path",
            str(tmp_path / "target"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert compiled.returncode != 0
    assert (
        f"{PII_SALT_ENV}: expected a secret of at least 16 characters to hash phone numbers "
        "and e-mail addresses with, got 0 characters"
    ) in " ".join(compiled.stdout.split())


def test_the_makefile_gives_the_ui_the_same_demo_salt() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^DEMO_SALT := (.+)$", makefile, re.MULTILINE).group(1) == DEMO_PII_SALT
