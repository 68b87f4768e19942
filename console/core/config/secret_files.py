# SPDX-License-Identifier: GPL-2.0-or-later
"""Secrets the configuration points at: 0600 files or environment variables, never the file."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from console.core.config.errors import ConfigError
from console.core.config.phone import AccountConfig
from console.core.config.sections import CarelineConfig
from console.core.store import StoreKey


def read_secret_file(path: Path, setting: str) -> str:
    """The text of a secret file (surrounding whitespace stripped), named ``setting`` in errors.

    Raises :class:`ConfigError` when the file is readable by others, not
    yours, missing or unreadable.
    """
    path = path.expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc}") from None
    if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.getuid():
        raise ConfigError(
            f"{setting}: {path} must be yours and mode 0600 "
            f"(it is {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc}") from None


def read_secret(account: AccountConfig, environ: Mapping[str, str] | None = None) -> str:
    """The account's digest password from its 0600 file or its environment variable.

    Raises :class:`ConfigError` when the file is readable by others or missing.
    """
    environ = os.environ if environ is None else environ
    if account.password_file is not None:
        return read_secret_file(account.password_file, "sip.account.password_file")
    return environ.get(account.password_env, "")


def hub_password(config: CarelineConfig, environ: Mapping[str, str] | None = None) -> str:
    """The hub password from its 0600 file or its environment variable ('' if none).

    Raises :class:`ConfigError` when the file is readable by others or missing.
    """
    environ = os.environ if environ is None else environ
    if config.hub.password_file is not None:
        return read_secret_file(config.hub.password_file, "hub.password_file")
    return environ.get(config.hub.password_env, "")


def store_key(config: CarelineConfig, environ: Mapping[str, str] | None = None) -> StoreKey | None:
    """The key that opens the local store, or None for a plain SQLite store (the default).

    Every command that opens the store asks this, so they all open it the
    same way. Raises :class:`ConfigError` when encryption is configured but
    the key file is not 0600 or unreadable, or the key is missing or empty.
    """
    environ = os.environ if environ is None else environ
    encryption = config.store.encryption
    if encryption.key_file is not None:
        setting = "store.encryption.key_file"
        path = encryption.key_file.expanduser()
        passphrase = read_secret_file(path, setting)
        source = f"key file {path}"
    elif encryption.key_env is not None:
        setting = "store.encryption.key_env"
        source = f"environment variable {encryption.key_env}"
        if encryption.key_env not in environ:
            raise ConfigError(f"{setting}: {source} is not set (it holds the store's key)")
        passphrase = environ[encryption.key_env]
    else:
        return None
    # Whitespace alone is as good as no key; a NUL would be cut off in C.
    if not passphrase.strip():
        raise ConfigError(f"{setting}: the key in {source} is empty")
    if "\x00" in passphrase:
        raise ConfigError(f"{setting}: the key in {source} holds a NUL character")
    return StoreKey(passphrase, source=source)
