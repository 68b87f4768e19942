# SPDX-License-Identifier: GPL-2.0-or-later
"""Loading the configuration: shipped defaults, the user's file, the environment.

A problem becomes a :class:`ConfigError` naming the file, the line and the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from console.core.bounded_load import LimitError, YamlError, read_text
from console.core.config.base import CONFIG_LIMITS, ENV_PREFIX
from console.core.config.errors import ConfigError
from console.core.config.sections import CarelineConfig
from console.core.parsed_yaml import DocumentLines, ParsedYaml
from console.core.paths import default_config_file
from console.core.schema import ValidationError


def user_config_file() -> Path:
    """``careline.yaml`` in the user's config directory (may not exist)."""
    return user_config_path("careline") / "careline.yaml"


class _Source:
    """One YAML document, with the line of every key for error messages."""

    def __init__(self, path: Path, parsed: ParsedYaml) -> None:
        self.path = path
        try:
            text = read_text(path, CONFIG_LIMITS.max_bytes)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except LimitError as exc:
            raise ConfigError(f"{path}: {exc} for a configuration file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        try:
            node, data = parsed.parse(text)
        except LimitError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except YamlError as exc:
            if not exc.syntax:
                raise ConfigError(f"{path}: YAML error: {exc.problem}") from None
            where = f"line {exc.line}, column {exc.column}" if exc.line is not None else "?"
            raise ConfigError(f"{path}: {where}: YAML syntax error: {exc.problem}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: line 1: the top level must be a mapping of sections")
        self.data: dict[str, Any] = data
        self.lines = DocumentLines(text, CONFIG_LIMITS, node)

    def line_of(self, loc: tuple[str, ...]) -> int | None:
        """The line of the deepest key of ``loc`` this file defines."""
        return self.lines.line_of(loc)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str], parsed: ParsedYaml) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, field = name[len(ENV_PREFIX) :].lower().partition("__")
        try:
            # A value that may be a secret (a DSN with its password) is never cached.
            keep = not _may_be_secret(field)
            value = parsed.parse(raw, keep=keep)[1] if raw.strip() else None
        except LimitError as exc:
            raise ConfigError(f"environment variable {name}: {exc}") from None
        except YamlError:
            value = raw
        overrides.setdefault(section, {})[field] = value
    return overrides


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> CarelineConfig:
    """Load and validate the layered configuration.

    ``path`` is the user's file; when None the user config directory's file
    is used if it exists. Raises :class:`ConfigError`.
    """
    environ = os.environ if environ is None else environ
    parsed = ParsedYaml("config", CONFIG_LIMITS)
    sources = [_Source(default_config_file(), parsed)]
    user = path if path is not None else user_config_file()
    if path is not None or user.exists():
        sources.append(_Source(user, parsed))
    merged: dict[str, Any] = {}
    for source in sources:
        merged = _merge(merged, source.data)
    env = _env_overrides(environ, parsed)
    merged = _merge(merged, env)
    try:
        config = CarelineConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources, env)) from None
    # Only a configuration that validated is kept: one refused for a password in its DSN
    # is not copied into the cache.
    parsed.save()
    return config


def _may_be_secret(field: str) -> bool:
    """Whether a setting's value may hold a secret (a DSN with a password in it, a key)."""
    return any(word in field for word in ("dsn", "password", "key", "secret"))


def _describe(exc: ValidationError, sources: list[_Source], env: dict[str, Any]) -> str:
    """One clear message for the first validation error (and a count of the rest)."""
    error = exc.errors()[0]
    loc = tuple(str(part) for part in error["loc"])
    field = ".".join(loc)
    if error["type"] == "extra_forbidden":
        problem = "unknown setting (check the spelling; see config/careline.yaml)"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        # Echo what was given, except where it may hold a secret (a DSN with
        # a password in it, a key): the message ends up in terminals and logs.
        if "input" in error and not isinstance(error["input"], dict) and not _may_be_secret(field):
            problem += f" (got {error['input']!r})"
    if len(loc) >= 2 and loc[0] in env and loc[1] in env[loc[0]]:
        where = f"environment variable {ENV_PREFIX}{loc[0].upper()}__{loc[1].upper()}"
    else:
        where = str(sources[-1].path)
        for source in reversed(sources):
            line = source.line_of(loc)
            if line is not None:
                where = f"{source.path}: line {line}"
                break
    more = len(exc.errors()) - 1
    suffix = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    return f"{where}: {field}: {problem}{suffix}"


def with_audio_mode(config: CarelineConfig, mode: str | None) -> CarelineConfig:
    """``config`` with ``--audio`` applied (checked like the file's audio.mode)."""
    if mode is None:
        return config
    if mode == "station" and not config.audio.station.number.strip():
        raise ConfigError("--audio station needs audio.station.number (your own phone)")
    audio = config.audio.model_copy(update={"mode": mode})
    return config.model_copy(update={"audio": audio})
