"""The report configuration: one YAML file, validated before anything runs.

The file says which conversion goals to measure and under which window. It is
validated here with pydantic, and every mistake is reported with the key that
holds it (``reports[0].goals[1].where[0].op``) and what is allowed there.
The validated config is then flattened into small tables that the dbt models
join on, so the SQL never has to be regenerated when a team adds a goal.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
WINDOW_PATTERN = re.compile(r"^(\d+)\s*([hd])$")
COMPARISON_OPS = (">", ">=", "<", "<=")
CHANNELS = ("push", "kakao", "sms", "email", "in_app")
# The funnel of a goal is built with one join per step, so the number of
# steps has a ceiling; dbt_project.yml's max_goal_steps var must match it.
MAX_GOAL_STEPS = 5
OPS = ("=", "!=", *COMPARISON_OPS, "in")
# A year and a day. Every daily run re-derives attribution for the largest
# window back, and the warehouse keeps windows as whole hours in 32-bit
# integers, so a window far longer than any campaign's influence is refused.
MAX_WINDOW_HOURS = 366 * 24

Scalar = str | int | float | bool


class ConfigError(ValueError):
    """A report configuration that cannot be used, with a message for a person."""


class _RepeatedKeyError(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"key {key!r} repeated on line {line}")
        self.key = key
        self.line = line


class _ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader, stricter in two ways that matter to a config file.

    A key given twice in one mapping is an error rather than the last one
    winning unseen. A bare date such as 2026-11-01 stays text, for pydantic to
    parse; YAML's own date parsing raised a bare Python error on 2026-13-01.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable; the base loader reports it
            if key in seen:
                raise _RepeatedKeyError(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rule) for tag, rule in rules if tag != "tag:yaml.org,2002:timestamp"]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_window(text: str) -> int:
    """Turn ``72h`` or ``14d`` into a number of hours."""
    match = WINDOW_PATTERN.match(str(text).strip())
    if not match:
        raise ValueError(
            f"expected a whole number of hours or days such as 72h or 14d, got {text!r}"
        )
    amount, unit = int(match.group(1)), match.group(2)
    hours = amount * 24 if unit == "d" else amount
    if hours <= 0:
        raise ValueError(f"a window must be longer than zero, got {text!r}")
    if hours > MAX_WINDOW_HOURS:
        raise ValueError(
            f"a window can be at most {MAX_WINDOW_HOURS // 24}d ({MAX_WINDOW_HOURS}h), got {text!r}"
        )
    return hours


def _check_window(text: str) -> str:
    parse_window(text)
    return text.strip()


# A duration such as 72h or 14d; YAML may hand over a bare number, which is
# then rejected with the same message as any other malformed duration.
Window = Annotated[str, BeforeValidator(str), AfterValidator(_check_window)]
Channel = Annotated[str, BeforeValidator(lambda value: str(value).strip().lower())]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One property test on a goal event; all of a goal's conditions must hold."""

    property: Annotated[str, Field(min_length=1)]
    op: Literal["=", "!=", ">", ">=", "<", "<=", "in"]
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("op 'in' needs a non-empty list as value, e.g. [KRW, USD]")
        elif isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a single value; use op 'in' for a list")
        if self.op in COMPARISON_OPS and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"op {self.op!r} compares numbers, so value must be a number")
        return self


class Goal(_Strict):
    """A conversion goal: a product event, optionally narrowed by its properties."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    event_key: Annotated[str, Field(min_length=1)]
    value: str | None = None
    dedupe: str | None = None
    where: list[Condition] = []
    steps: Annotated[
        list[Annotated[str, Field(min_length=1)]], Field(max_length=MAX_GOAL_STEPS)
    ] = []


class ChannelWindows(_Strict):
    """Window overrides for one channel."""

    direct: Window | None = None
    indirect: Window | None = None


class Windows(_Strict):
    """Window overrides by attribution type and by channel; the most specific wins."""

    direct: Window | None = None
    indirect: Window | None = None
    by_channel: dict[Channel, ChannelWindows] = {}

    @field_validator("by_channel")
    @classmethod
    def _known_channels(cls, value: dict[str, ChannelWindows]) -> dict[str, ChannelWindows]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(
                f"unknown channel {unknown[0]!r}; expected one of {', '.join(CHANNELS)}"
            )
        return value


class CampaignTarget(_Strict):
    """Which campaigns a report covers."""

    channels: Annotated[list[Channel], Field(min_length=1)] | None = None
    sent_between: tuple[date, date] | None = None

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str] | None) -> list[str] | None:
        for channel in value or []:
            if channel not in CHANNELS:
                raise ValueError(
                    f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}"
                )
        return value

    @field_validator("sent_between")
    @classmethod
    def _ordered(cls, value: tuple[date, date] | None) -> tuple[date, date] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(
                f"the first date must not be after the second, got {value[0]} and {value[1]}"
            )
        return value


class Report(_Strict):
    """A set of criteria under which every campaign is measured."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    window: Window
    windows: Windows = Windows()
    credit: Literal["independent", "last_touch"] = "independent"
    lookback: Window | None = None
    """How far before a conversion a received message still counts as one of its touches
    in the shared-credit marts, counted from the receipt. Unset, each message uses the
    indirect window of the channel it was received on."""
    half_life: Window = "24h"
    """Time-decay credit: a touch this long before the conversion weighs half as much as
    one at the conversion itself."""
    campaigns: CampaignTarget = CampaignTarget()
    goals: Annotated[list[Goal], Field(min_length=1)]

    @field_validator("goals")
    @classmethod
    def _goal_names_unique(cls, goals: list[Goal]) -> list[Goal]:
        names = [goal.name for goal in goals]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"goal names must be unique within a report, repeated: {repeated}")
        return goals

    @property
    def window_hours(self) -> int:
        return parse_window(self.window)

    @property
    def lookback_hours(self) -> int | None:
        return parse_window(self.lookback) if self.lookback is not None else None

    @property
    def half_life_hours(self) -> int:
        return parse_window(self.half_life)

    def channel_window_hours(self, channel: str) -> tuple[int, int]:
        """The (direct, indirect) windows of a channel: channel, then type, then window."""
        override = self.windows.by_channel.get(channel, ChannelWindows())
        direct = override.direct or self.windows.direct or self.window
        indirect = override.indirect or self.windows.indirect or self.window
        return parse_window(direct), parse_window(indirect)

    def definition_hash(self, timezone: str) -> str:
        """A short, stable fingerprint of everything that shapes this report's numbers."""
        payload = {"timezone": timezone, **self.model_dump(mode="json")}
        payload["window"] = self.window_hours
        payload["lookback"] = self.lookback_hours
        payload["half_life"] = self.half_life_hours
        payload["windows"] = {channel: self.channel_window_hours(channel) for channel in CHANNELS}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class ReportConfig(_Strict):
    """The whole configuration file."""

    timezone: str = "UTC"
    reports: Annotated[list[Report], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(
                f"expected an IANA time zone name such as Asia/Seoul or UTC, got {value!r}"
            )
        return value

    @field_validator("reports")
    @classmethod
    def _report_names_unique(cls, reports: list[Report]) -> list[Report]:
        names = [report.name for report in reports]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"report names must be unique, repeated: {repeated}")
        return reports


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in {"str", "int", "float", "bool", "list[union[str,int,float,bool]]"}:
            continue  # pydantic names the union branch it tried; the key is enough
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _explain(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key; check its spelling against the README"
    elif error["type"] == "literal_error":
        allowed = str(error.get("ctx", {}).get("expected", ""))
        allowed = allowed.replace("'", "").replace(" or ", ", ")
        message = f"expected one of {allowed}, got {error.get('input')!r}"
    elif error["type"] == "string_pattern_mismatch":
        message = (
            "expected a lowercase name of letters, digits and underscores "
            f"starting with a letter, got {error.get('input')!r}"
        )
    return f"{_location(error['loc'])}: {message}"


def parse_config(data: Any, source: str = "config") -> ReportConfig:
    """Validate already-loaded YAML data, raising ConfigError with every problem found."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'timezone' and 'reports' at the top")
    try:
        return ReportConfig.model_validate(data)
    except ValidationError as exc:
        seen: list[str] = []
        for error in exc.errors():
            line = _explain(error)
            if line not in seen:
                seen.append(line)
        raise ConfigError(f"{source}: " + "; ".join(seen)) from None


def load_config(path: str | Path) -> ReportConfig:
    """Read and validate a report configuration file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); "
            "save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass
    except _RepeatedKeyError as exc:
        raise ConfigError(
            f"{path}: line {exc.line}: key {exc.key!r} is given twice in one mapping, "
            "where the second would silently win; keep one"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    return parse_config(data, source=str(path))


# The warehouse column types of the tables config_tables() returns, in column
# order. dbt_project/models/staging/_sources.yml describes the same tables.
CONFIG_TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "report_definitions": {
        "report": "varchar",
        "timezone": "varchar",
        "window_hours": "integer",
        "lookback_hours": "integer",
        "half_life_hours": "integer",
        "credit_mode": "varchar",
        "sent_from_date": "date",
        "sent_to_date": "date",
        "definition_hash": "varchar",
    },
    "report_channel_windows": {
        "report": "varchar",
        "channel": "varchar",
        "direct_window_hours": "integer",
        "indirect_window_hours": "integer",
    },
    "report_target_channels": {
        "report": "varchar",
        "channel": "varchar",
    },
    "report_goals": {
        "report": "varchar",
        "goal": "varchar",
        "event_key": "varchar",
        "value_property": "varchar",
        "dedupe_property": "varchar",
    },
    "report_goal_conditions": {
        "report": "varchar",
        "goal": "varchar",
        "condition_index": "integer",
        "property": "varchar",
        "op": "varchar",
        "value_text": "varchar",
        "value_number": "double precision",
    },
    "report_goal_steps": {
        "report": "varchar",
        "goal": "varchar",
        "step_number": "integer",
        "event_key": "varchar",
    },
}


def config_tables(config: ReportConfig) -> dict[str, list[dict[str, Any]]]:
    """Flatten the config into the rows of the report_* tables the dbt models read."""
    definitions: list[dict[str, Any]] = []
    channel_windows: list[dict[str, Any]] = []
    target_channels: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for report in config.reports:
        sent_between = report.campaigns.sent_between
        definitions.append(
            {
                "report": report.name,
                "timezone": config.timezone,
                "window_hours": report.window_hours,
                "credit_mode": report.credit,
                "lookback_hours": report.lookback_hours,
                "half_life_hours": report.half_life_hours,
                "sent_from_date": sent_between[0] if sent_between else None,
                "sent_to_date": sent_between[1] if sent_between else None,
                "definition_hash": report.definition_hash(config.timezone),
            }
        )
        for channel in CHANNELS:
            direct_hours, indirect_hours = report.channel_window_hours(channel)
            channel_windows.append(
                {
                    "report": report.name,
                    "channel": channel,
                    "direct_window_hours": direct_hours,
                    "indirect_window_hours": indirect_hours,
                }
            )
        for channel in report.campaigns.channels or []:
            target_channels.append({"report": report.name, "channel": channel})
        for goal in report.goals:
            goals.append(
                {
                    "report": report.name,
                    "goal": goal.name,
                    "event_key": goal.event_key,
                    "value_property": goal.value,
                    "dedupe_property": goal.dedupe,
                }
            )
            for index, event_key in enumerate(goal.steps, start=1):
                steps.append(
                    {
                        "report": report.name,
                        "goal": goal.name,
                        "step_number": index,
                        "event_key": event_key,
                    }
                )
            for index, condition in enumerate(goal.where):
                values = condition.value if isinstance(condition.value, list) else [condition.value]
                op = "=" if condition.op == "in" else condition.op
                for value in values:
                    conditions.append(
                        {
                            "report": report.name,
                            "goal": goal.name,
                            "condition_index": index,
                            "property": condition.property,
                            "op": op,
                            "value_text": _as_text(value),
                            "value_number": _as_number(value),
                        }
                    )
    return {
        "report_definitions": definitions,
        "report_channel_windows": channel_windows,
        "report_target_channels": target_channels,
        "report_goals": goals,
        "report_goal_conditions": conditions,
        "report_goal_steps": steps,
    }


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_number(value: Scalar) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None
