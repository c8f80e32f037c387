"""The report keys of shared credit: lookback and half_life, validated and flattened."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from orchestration.report_config import ConfigError, config_tables, parse_config

BASE: dict[str, Any] = {
    "timezone": "UTC",
    "reports": [
        {"name": "daily", "window": "72h", "goals": [{"name": "purchase", "event_key": "buy"}]}
    ],
}


def _with(**keys: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["reports"][0].update(keys)
    return data


def test_defaults_are_no_lookback_and_a_day_of_half_life() -> None:
    (row,) = config_tables(parse_config(BASE))["report_definitions"]
    assert (row["lookback_hours"], row["half_life_hours"]) == (None, 24)


def test_lookback_and_half_life_become_hours() -> None:
    (row,) = config_tables(parse_config(_with(lookback="7d", half_life="6h")))["report_definitions"]
    assert (row["lookback_hours"], row["half_life_hours"]) == (168, 6)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"lookback": "0d"}, "reports[0].lookback: a window must be longer than zero"),
        ({"lookback": "a week"}, "reports[0].lookback: expected a whole number of hours"),
        ({"half_life": 12}, "reports[0].half_life: expected a whole number of hours"),
        ({"halflife": "12h"}, "reports[0].halflife: unknown key"),
    ],
)
def test_bad_values_name_their_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(_with(**keys))


def test_the_report_hash_follows_the_credit_settings_in_hours() -> None:
    def report_hash(**keys: Any) -> str:
        return parse_config(_with(**keys)).reports[0].definition_hash("UTC")

    assert report_hash(lookback="48h") == report_hash(lookback="2d")
    assert report_hash(lookback="48h") != report_hash()
    assert report_hash(half_life="24h") == report_hash()
    assert report_hash(half_life="12h") != report_hash()
