"""Phone numbers and e-mail addresses stay in raw and quarantine; the salt that hides them.

The warehouse tests read the run on tests/bad_input.py, which plants addresses and numbers
in user and device ids and in properties.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st
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
from orchestration.publish import published_path
from orchestration.settings import DATABASE_ENV, RunSettings
from tests.bad_input import KIM_EMAIL, LEE_EMAIL, PLANTED, SMS_PHONE
from tests.conftest import BadInputRun

MISSING_SALT = (
    f"{PII_SALT_ENV} is not set: staging replaces ids that are phone numbers or e-mail "
    "addresses with a salted hash; set it to a random secret of at least 16 characters and "
    "keep it unchanged between runs"
)
ALLOWED_SCHEMAS = {"raw", "quarantine"}
# The rule of looks_like_pii (macros/personal_data.sql) in Python's re, to compare with.
EMAIL_PATTERN = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+([.][a-z0-9-]+)*[.][a-z]{2,}")
PHONE_PATTERN = re.compile(r"[+]?[0-9 ()-]+")


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


def test_the_published_copy_holds_no_phone_number_or_address(
    bad_input_run: BadInputRun,
) -> None:
    copy = published_path(bad_input_run.database)
    with duckdb.connect(str(copy), read_only=True) as con:
        schemas = con.execute(
            "select distinct schema_name from duckdb_tables() order by 1"
        ).fetchall()
    # raw is there for the report config only, and quarantine not at all.
    assert schemas == [("marts",), ("raw",)]
    assert _planted_values_by_relation(copy) == {}
    # Nor anywhere in the file's bytes, freed blocks included. The working file holds
    # them as written, so this check does see a value that is there.
    built, published = bad_input_run.database.read_bytes(), copy.read_bytes()
    for value in PLANTED:
        assert value.encode() in built, value
        assert value.encode() not in published, value


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


# The macros on a table `cases` of ids and JSON objects, compiled by dbt for DuckDB.
MACRO_QUERY = """
select
    case_number,
    {{ looks_like_pii('id') }} as id_looks_like_pii,
    {{ remove_pii_properties('properties') }} as kept,
    {{ parse_and_remove_pii_properties('properties') }} as kept_when_parsed
from cases
order by case_number
"""


def _dbt_compile(
    work: Path, *args: str, drop: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`dbt compile` on a scratch warehouse under `work`, without the `drop` variables
    and with those of `env`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.startswith("DBT_")
    }
    environment |= {DATABASE_ENV: str(work / "w.duckdb"), "DBT_PROFILES_DIR": str(PROFILES_DIR)}
    environment |= env or {}
    return subprocess.run(
        [dbt_executable(), "compile", "--target-path", str(work / "target"), *args],
        cwd=DBT_PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


class MacroCases:
    """The compiled personal-data macros over a `cases` table, on one in-memory DuckDB.

    Hypothesis runs hundreds of examples, so the connection and the table are made once
    and each example only replaces the rows.
    """

    def __init__(self, query: str) -> None:
        self.query = query
        self.con = duckdb.connect()
        self.con.execute("create table cases (case_number integer, id varchar, properties varchar)")

    def run(self, cases: list[tuple[str | None, str | None]]) -> list[tuple]:
        """For each (id, properties): whether the id looks like PII, the properties kept and
        the properties kept when the object is parsed whatever it holds."""
        self.con.execute("delete from cases")
        self.con.execute(
            "insert into cases select unnest($numbers), unnest($ids), unnest($properties)",
            {
                "numbers": list(range(len(cases))),
                "ids": [case[0] for case in cases],
                "properties": [case[1] for case in cases],
            },
        )
        return [row[1:] for row in self.con.execute(self.query).fetchall()]


@pytest.fixture(scope="module")
def macros(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[MacroCases]:
    scratch = tmp_path_factory.mktemp("personal_data_macros")
    compiled = _dbt_compile(scratch, "--quiet", "--target", "duckdb", "--inline", MACRO_QUERY)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    cases = MacroCases(compiled.stdout)
    yield cases
    cases.con.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kim@example.com", True),
        ("Kim@Example.COM", True),
        ("sent to kim@example.com", True),
        ("@kim@example.com", True),
        ("kim@example", False),  # no top-level domain
        ("u-00122951", False),
        ("010-1234-5678", True),
        ("+82 10 1234 5678", True),
        ("(02) 123-4567", True),  # 9 digits, a separator after one
        ("01012345678", True),
        ("1234567890", False),  # neither + nor 0 first, no separator
        ("010-1234", False),  # 7 digits
        ("0-1-2-3-4-5-6-7-8-9-0-1-2-3-4-5", False),  # 16 digits
        ("555.123.4567", False),  # dots: the known limitation
        ("+", False),
    ],
)
def test_an_id_looks_like_pii_by_the_rule(macros: MacroCases, value: str, expected: bool) -> None:
    [(looks_like_pii, _, _)] = macros.run([(value, None)])
    assert looks_like_pii is expected


# Objects whose personal data only shows once the text is read as JSON, and objects
# that look close to it but hold none; the second value is what staging keeps.
@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        (r'{"n":"kim\u0040example.com","a":1}', '{"a":1}'),  # an escaped @
        (r'{"n":"\u0030\u0031\u0030-1234-5678","a":1}', '{"a":1}'),  # escaped digits
        (r'{"\u0070hone":"x","a":1}', '{"a":1}'),  # an escaped key
        ('{"P-h_o.n e":"x","a":1}', '{"a":1}'),  # normalized: phone
        ('{"T.O":"x","a":1}', '{"a":1}'),  # normalized: to
        ('{"MOB\u0130LE":"x","a":1}', '{"a":1}'),  # İ lowercases to i: mobile
        ('{"n":"02 1 2 3 4 5 6 7","a":1}', '{"a":1}'),  # 9 digits, spaced out
        ('{"x":{"y":"kim@example.com"},"a":1}', '{"a":1}'),  # nested address
        ('{"to do":"x", "token":"t"}', '{"to do":"x", "token":"t"}'),  # todo, token
        ('{"amount": 1e20, "big": -123456789012}', '{"amount": 1e20, "big": -123456789012}'),
        ('{"order": "o-1234-5678"}', '{"order": "o-1234-5678"}'),  # 8 digits
        ('{"note": "call 010-1234-5678"}', '{"note": "call 010-1234-5678"}'),  # not whole
        ('{"x": ["010-1234-5678"]}', '{"x": ["010-1234-5678"]}'),  # nested: a limitation
    ],
)
def test_personal_properties_are_found_however_they_are_written(
    macros: MacroCases, properties: str, expected: str
) -> None:
    assert macros.run([(None, properties)]) == [(False, expected, expected)]


def test_a_key_fragment_a_pattern_could_misread_is_refused(
    tmp_path: Path, dbt_manifest: Path
) -> None:
    compiled = _dbt_compile(
        tmp_path,
        "--target",
        "duckdb",
        "--vars",
        "{pii_property_key_fragments: [phone, e.mail]}",
        "--inline",
        "select {{ is_pii_property('k', 'v') }}",
    )

    assert compiled.returncode != 0
    assert (
        "pii_property_key_fragments, pii_property_key_names: expected lowercase letters and "
        "digits, got e.mail"
    ) in " ".join(compiled.stdout.split())


def _json_text(draw: st.DrawFn, text: str) -> str:
    """A JSON string of text; in one string of two, some characters are \\u escapes."""
    escaped = [draw(st.booleans()) for _ in text] if draw(st.booleans()) else [False] * len(text)
    return (
        '"'
        + "".join(
            f"\\u{ord(character):04x}" if escape else json.dumps(character)[1:-1]
            for character, escape in zip(text, escaped, strict=True)
        )
        + '"'
    )


PIECES = ["phone", "e", "mail", "to", "tel", "x", "id", "0", "@", "kim@example.com", "\u0130"]
SEPARATORS = ["", " ", "-", "(", ")", "+", "_", "."]
digits = st.text(alphabet="0123456789", min_size=1, max_size=4)
# Digits in groups, as phone numbers are written, and around the edges of the rule.
phone_numbers = st.builds(
    lambda start, groups, separator: start + separator.join(groups),
    st.sampled_from(["", "+", "0", "(", "+0"]),
    st.lists(digits, min_size=2, max_size=6),
    st.sampled_from(["", " ", "-", ") ", "."]),
)
texts = st.one_of(
    phone_numbers,
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.sampled_from(SEPARATORS), digits), max_size=6
    ).map("".join),
)


@st.composite
def json_values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["text", "text", "number", "literal", "array", "object"]))
    if kind == "text":
        return _json_text(draw, draw(texts))
    if kind == "number":
        return json.dumps(
            draw(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
        )
    if kind == "literal":
        return draw(st.sampled_from(["true", "false", "null"]))
    items = draw(st.lists(texts, max_size=2))
    if kind == "array":
        return "[" + ",".join(_json_text(draw, text) for text in items) + "]"
    return "{" + ",".join(f'"k{n}":{_json_text(draw, text)}' for n, text in enumerate(items)) + "}"


@st.composite
def json_objects(draw: st.DrawFn) -> str:
    """JSON objects of keys and values made of the pieces the personal-data rules look for."""
    keys = draw(st.lists(texts, max_size=4, unique=True))
    members = [f"{_json_text(draw, key)}:{draw(json_values())}" for key in keys]
    return "{" + ",".join(members) + "}"


@hypothesis.settings(max_examples=300, deadline=None)
@given(objects=st.lists(json_objects(), min_size=1, max_size=20))
def test_the_shortcut_keeps_only_what_parsing_keeps(macros: MacroCases, objects: list[str]) -> None:
    kept = macros.run([(None, text) for text in objects])
    assert [row[1] for row in kept] == [row[2] for row in kept]


@hypothesis.settings(max_examples=300, deadline=None)
@given(ids=st.lists(texts, min_size=1, max_size=20))
def test_the_shortcut_finds_every_id_the_patterns_find(macros: MacroCases, ids: list[str]) -> None:
    """looks_like_pii against its rule written with Python's re, on ASCII ids."""
    ascii_ids = [value.replace("\u0130", "I") for value in ids]
    found = [row[0] for row in macros.run([(value, None) for value in ascii_ids])]

    expected = [
        EMAIL_PATTERN.search(value.lower()) is not None
        or (
            PHONE_PATTERN.fullmatch(value) is not None
            and 9 <= sum(character.isdigit() for character in value) <= 15
            and re.search(r"^[+0]|[0-9][ ()-]", value) is not None
        )
        for value in ascii_ids
    ]
    assert found == expected


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


@pytest.mark.parametrize(
    ("salt", "counted"),
    [
        ("fifteen-chars..", 15),
        (" " * 20, 0),
        # 16 characters, one of them a space: 15 count.
        ("fifteen chars...", 15),
    ],
)
def test_a_short_salt_is_refused(salt: str, counted: int) -> None:
    with pytest.raises(PiiSaltError) as raised:
        require_pii_salt({PII_SALT_ENV: salt})
    assert str(raised.value) == (
        f"{PII_SALT_ENV}: expected a secret of at least 16 characters other than blanks, "
        f"got {counted}"
    )


def test_a_salt_of_sixteen_characters_is_taken() -> None:
    require_pii_salt({PII_SALT_ENV: "sixteen-chars..."})
    require_pii_salt({PII_SALT_ENV: " sixteen-chars... "})


def test_dbt_run_by_hand_with_a_blank_salt_names_it(tmp_path: Path, dbt_manifest: Path) -> None:
    compiled = _dbt_compile(tmp_path, "--select", "base_identities", env={PII_SALT_ENV: " " * 20})

    assert compiled.returncode != 0
    assert (
        f"{PII_SALT_ENV}: expected a secret of at least 16 characters other than blanks to "
        "hash phone numbers and e-mail addresses with, got 0 characters"
    ) in " ".join(compiled.stdout.split())


def test_dbt_run_by_hand_without_the_salt_names_it(tmp_path: Path, dbt_manifest: Path) -> None:
    compiled = _dbt_compile(tmp_path, "--select", "base_identities", drop=(PII_SALT_ENV,))

    assert compiled.returncode != 0
    assert (
        f"{PII_SALT_ENV}: expected a secret of at least 16 characters other than blanks to "
        "hash phone numbers and e-mail addresses with, got 0 characters"
    ) in " ".join(compiled.stdout.split())


def test_the_makefile_gives_the_ui_the_same_demo_salt() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^DEMO_SALT := (.+)$", makefile, re.MULTILINE).group(1) == DEMO_PII_SALT
