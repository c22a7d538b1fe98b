"""What every settings section is made of: ``SettingsError``, the value types fields are declared with, and
the translation of pydantic's errors into ``SettingsError(dotted key, problem)``.

A YAML or environment value is read by a value type (``Int``, ``Flag``, ``Words``...) before the field's own
limits (``Field(ge=..., le=...)``, ``one_of``, ``matches``) apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, TypeAdapter, ValidationError


class SettingsError(ValueError):
    """One invalid setting; ``key`` is the dotted settings key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"invalid setting {key!r}: {problem}")
        self.key = key
        self.problem = problem


# --- value types: how a YAML / environment value is read before a field's own limits apply ----------------

def as_number(value: Any) -> Any:
    """A number, or text that parses as one (environment values are text); never a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {value!r}")
    return value


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


def as_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
        return value.lower() in {"true", "yes", "on", "1"}
    raise ValueError(f"expected true or false, got {value!r}")


def as_words(value: Any) -> tuple[str, ...]:
    """A YAML list, or comma-separated text (an environment value); blank entries dropped."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list, got {value!r}")
    words = []
    for item in value:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise ValueError(f"expected a list of words, got item {item!r}")
        if str(item).strip():
            words.append(str(item).strip())
    return tuple(words)


def one_of(*choices: str) -> AfterValidator:
    """The value, compared case-insensitively, must be one of ``choices`` (it is kept as written)."""
    def check(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return AfterValidator(check)


def matches(pattern: str, problem: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(problem)
        return value
    return AfterValidator(check)


def not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


Int = Annotated[int, BeforeValidator(as_number)]
Float = Annotated[float, BeforeValidator(as_number)]
Text = Annotated[str, BeforeValidator(as_text)]
#: Text compared in lower case (choices, logins, command words).
Lower = Annotated[str, BeforeValidator(lambda value: as_text(value).lower())]
Flag = Annotated[bool, PlainValidator(as_flag)]
Words = Annotated[tuple[str, ...], BeforeValidator(as_words)]
LowerWords = Annotated[tuple[str, ...], BeforeValidator(lambda value: tuple(w.lower() for w in as_words(value)))]
#: Seconds in a cooldown-like setting.
Seconds = Annotated[Float, Field(ge=0, le=3600)]
DaySeconds = Annotated[Float, Field(ge=0, le=86_400)]


def lower_keys(value: Any) -> Any:
    """Keys are case-insensitive (dynaconf upper-cases environment overrides)."""
    return {str(k).lower(): v for k, v in value.items()} if isinstance(value, Mapping) else value


def _characters(count: int) -> str:
    return f"{count} character" + "s" * (count != 1)


#: pydantic's error types said the way the rest of the settings errors are.
_PROBLEMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "greater_than_equal": lambda e: f"must be at least {e['ctx']['ge']}, got {e['input']}",
    "less_than_equal": lambda e: f"must be at most {e['ctx']['le']}, got {e['input']}",
    "string_too_short": lambda e: f"must be at least {_characters(e['ctx']['min_length'])}",
    "string_too_long": lambda e: f"must be at most {e['ctx']['max_length']} characters",
    "too_short": lambda e: f"must be at least {_characters(e['ctx']['min_length'])}",
    "too_long": lambda e: f"must be at most {e['ctx']['max_length']} characters",
    "int_parsing": lambda e: f"expected a number, got {e['input']!r}",
    "float_parsing": lambda e: f"expected a number, got {e['input']!r}",
    "int_from_float": lambda e: f"expected a whole number, got {e['input']!r}",
    "enum": lambda e: f"must be {e['ctx']['expected']}",
    "dataclass_type": lambda e: f"expected a mapping, got {e['input']!r}",
    "unexpected_keyword_argument": lambda e: "unknown key",
}


def settings_error(exc: ValidationError, section: str = "") -> SettingsError:
    """The first problem pydantic found, as ``SettingsError(dotted key, problem)``; ``section``: the key of
    what was validated (a section validated on its own)."""
    error: dict[str, Any] = dict(exc.errors()[0])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, SettingsError):  # a validator that names a key below its field (``voices.robot2``)
        return cause
    path = [section] * bool(section) + [str(part) for part in error["loc"] if not isinstance(part, int)]
    key = ".".join(path) or "settings"
    if isinstance(cause, ValueError):
        problem = str(cause)
    elif error["type"] in _PROBLEMS:
        problem = _PROBLEMS[error["type"]](error)
    else:
        problem = error["msg"]
    if error["type"] == "unexpected_keyword_argument" and len(path) == 1:
        problem += " (check the spelling against settings.yaml)"
    return SettingsError(key, problem)


T = TypeVar("T")


def validate_section(adapter: TypeAdapter[T], raw: Any, section: str) -> T:
    """One section validated on its own; an error names its key below ``section``."""
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        raise settings_error(exc, section) from None
