"""The DuckDB try_cast to a wide decimal gives exactly what a plain try_cast gives.

macros/try_cast.sql parses a value into decimal(18, s) first, because DuckDB parses text
into a wider decimal about a hundred times slower, and parses it again at the full width
only when the narrow parse gives NULL. These tests compile the macro with dbt, as a model
would, and compare its expression with DuckDB's own try_cast on many texts.
"""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.paths import DBT_PROJECT_DIR, PROFILES_DIR, dbt_executable, ensure_profiles
from orchestration.personal_data import DEMO_PII_SALT, PII_SALT_ENV

WIDE = "numeric(28, 6)"


def _compiled(expression: str, tmp_path: Path) -> str:
    ensure_profiles()
    env = {
        **os.environ,
        "CAMPAIGN_REPORT_DATABASE": str(tmp_path / "compile.duckdb"),
        "CAMPAIGN_REPORT_TARGET": "duckdb",
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        PII_SALT_ENV: DEMO_PII_SALT,
    }
    command = [dbt_executable(), "compile", "--inline", expression, "--output", "json"]
    command += ["--quiet", "--target-path", str(tmp_path / "target")]
    result = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)["compiled"])


@pytest.fixture(scope="module")
def wide_cast(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _compiled(f"{{{{ try_cast('v', '{WIDE}') }}}}", tmp_path_factory.mktemp("cast"))


@pytest.fixture(scope="module")
def connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _both(connection: duckdb.DuckDBPyConnection, cast: str, text: str) -> tuple[object, object]:
    row = connection.execute(
        f"select try_cast(v as {WIDE}), {cast} from (select cast(? as varchar) as v)", [text]
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_the_wide_cast_takes_the_narrow_parse_first(wide_cast: str) -> None:
    # Without this the comparisons below would pass on the plain try_cast as well.
    assert "decimal(18, 6)" in wide_cast
    assert f"try_cast(v as {WIDE})" in wide_cast


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", Decimal("12.500000")),
        (" -3.25 ", Decimal("-3.250000")),
        # Rounded half away from zero at the sixth place, by both parses.
        ("1.2345675", Decimal("1.234568")),
        # 13 integer digits: past decimal(18, 6), so only the wide parse reads it.
        ("1234567890123.5", Decimal("1234567890123.500000")),
        ("1234567890123456789012.5", Decimal("1234567890123456789012.500000")),
        # 23 integer digits fit neither.
        ("12345678901234567890123", None),
        ("1e3", Decimal("1000.000000")),
        ("abc", None),
        ("", None),
    ],
)
def test_values_read_as_worked_out(
    connection: duckdb.DuckDBPyConnection, wide_cast: str, text: str, expected: Decimal | None
) -> None:
    assert _both(connection, wide_cast, text) == (expected, expected)


NUMBER_LIKE = st.from_regex(
    r"\s?[+-]?[0-9]{0,24}(\.[0-9]{0,9})?([eE][+-]?[0-9]{1,2})?\s?", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(NUMBER_LIKE, st.text(max_size=12)))
def test_the_wide_cast_equals_a_plain_try_cast(
    connection: duckdb.DuckDBPyConnection, wide_cast: str, text: str
) -> None:
    plain, ours = _both(connection, wide_cast, text)
    assert ours == plain
