"""The config file: where it is, reading it, and saying its problems by key path and source."""

from __future__ import annotations

import itertools
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from highlightd.config.settings import Settings

DEFAULT_CONFIG = Path("highlightd.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key path of each problem."""


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (then it must exist)."""
    if explicit:
        return Path(explicit), True
    env = os.environ.get("HIGHLIGHTD_CONFIG")
    if env:
        return Path(env), True
    return DEFAULT_CONFIG, False


def find_config(explicit: str | None = None) -> Path | None:
    """The config file load_settings reads, or None when it runs on defaults alone."""
    path, _named = config_path(explicit)
    return path if path.is_file() else None


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "(top level)"


def _env_names(loc: tuple[int | str, ...]) -> list[str]:
    """The HIGHLIGHTD_* variables set now that feed this key path, the most precise first."""
    keys = [str(part) for part in itertools.takewhile(lambda part: isinstance(part, str), loc)]
    env = {name.upper(): name for name in os.environ}
    wanted = ("HIGHLIGHTD_" + "__".join(keys[:n]).upper() for n in range(len(keys), 0, -1))
    return [env[name] for name in wanted if name in env]


_PATTERNS = {  # what a pattern means, for the fields that have one
    "account_sid": "an Account SID is AC and 32 hex digits, as the Twilio console shows it",
    "name": "a network name is 1 to 32 letters, digits, '_', '.' or '-'",
}
_JSON_HINT = (
    "list and table values in the environment must be JSON, "
    """like HIGHLIGHTD_POLICY__IGNORE_NICKS='["somebot"]'"""
)


def _wording(err: Any) -> str:
    """pydantic's message, said for a person who edits a config file."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    field = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    value = str(err.get("input", ""))[:60]
    if err["type"].startswith("url_"):  # url_parsing, url_scheme, ...
        return f"not a URL: {value!r}; write it in full, like https://sms.example.org"
    if err["type"] == "string_pattern_mismatch" and field in _PATTERNS:
        return f"{_PATTERNS[field]}, not {value!r}"
    # pydantic prefixes "Value error, " to our own ValueError messages.
    return str(err["msg"]).removeprefix("Value error, ")


def _describe(exc: ValidationError, source: str) -> list[str]:
    """One line per problem: where it comes from (the file, or a variable), key path, why."""
    lines = []
    for err in exc.errors(include_url=False):
        loc, msg = tuple(err["loc"]), _wording(err)
        env = _env_names(loc)
        if env and err["type"] in ("list_type", "dict_type", "model_type"):
            msg += "; " + _JSON_HINT
        lines.append(f"{'environment ' + env[0] if env else source}: {_key_path(loc)}: {msg}")
    return lines


def _env_error(exc: SettingsError) -> str:
    """pydantic-settings could not read a HIGHLIGHTD_* variable: name the unreadable one."""
    match = re.search(r'field "(\w+)"', str(exc))
    field = match[1] if match else ""
    prefix = f"HIGHLIGHTD_{field.upper()}"
    names = [n for n in os.environ if n.upper() == prefix or n.upper().startswith(prefix + "__")]
    unreadable = [n for n in names if not _is_json(os.environ[n])] or names or [prefix]
    return f"environment {unreadable[0]}: {field}: cannot read it: {_JSON_HINT}"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def load_settings(explicit: str | None = None) -> Settings:
    """Read the config file (if any) and the environment; raise ConfigError when unusable."""
    path, named = config_path(explicit)
    data: dict[str, Any] = {}
    source = str(path) if path.is_file() else "config"
    if path.is_file():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    elif named:
        raise ConfigError(f"{path}: no such config file")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(exc, source))) from exc
    except SettingsError as exc:
        raise ConfigError(_env_error(exc)) from exc
