# SPDX-License-Identifier: GPL-2.0-or-later
"""The recordings key: 32 bytes the console hands the engine, never written in a log.

With an encrypted store the key is derived from the store's passphrase
(PBKDF2-HMAC-SHA256, 600 000 rounds, with a random salt kept beside the
recordings), so the recordings open with what opens the store and nothing
else. With a plain store there is no secret to derive from: a random key is
kept in a 0600 file beside the recordings instead -- encrypted recordings, but
as exposed as the store itself (the doctor's advice: encrypt the store).
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path

from console.core.records import dataclass
from console.core.store import StoreKey

ROUNDS = 600_000
"""PBKDF2 rounds (OWASP's 2023 advice for HMAC-SHA256); about a third of a second here."""
SALT_FILE = "key-salt"
"""The salt of the derivation, beside the recordings (not secret; losing it loses them)."""
KEY_FILE = "recordings.key"
"""The random key of a console whose store is not encrypted."""


@dataclass(frozen=True, slots=True)
class RecordingsKey:
    """The key, left out of ``repr`` so that no log line or traceback shows it."""

    key: bytes = field(repr=False)
    source: str
    """Where it came from, for messages: "the store's key" or the key file."""


class RecordingsKeyError(OSError):
    """The key cannot be read or made (the message says where; never the key)."""


def _private_file(path: Path, make: int, create: bool = True) -> bytes:
    """The bytes of ``path``, made of ``make`` random bytes (0600) when it does not exist
    (unless not ``create``: then a missing file is an error)."""
    if not create and not path.exists():
        raise RecordingsKeyError(f"no recordings key here ({path}): they cannot be opened")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(make))
                out.flush()
                os.fsync(out.fileno())
        info = path.stat()
        if info.st_mode & 0o077 or info.st_uid != os.getuid():
            raise RecordingsKeyError(f"{path} must be yours and mode 0600")
        data = path.read_bytes()
    except RecordingsKeyError:
        raise
    except OSError as exc:
        raise RecordingsKeyError(f"cannot read or make {path}: {exc.strerror}") from None
    if len(data) != make:
        raise RecordingsKeyError(f"{path} is damaged ({len(data)} bytes, not {make})")
    return data


def recordings_key(
    directory: Path, store_key: StoreKey | None, *, create: bool = True
) -> RecordingsKey:
    """The key of the recordings in ``directory`` (slow with a store key: run it in a thread);
    made when it does not exist yet, unless not ``create`` (to play: nothing to open then)."""
    # Here: the recording file's module (and OpenSSL's hashlib) is not needed to paint.
    from sip.recording_file import KEY_BYTES

    if store_key is None:
        return RecordingsKey(
            _private_file(directory / KEY_FILE, KEY_BYTES, create), str(directory / KEY_FILE)
        )
    import hashlib

    salt = _private_file(directory / SALT_FILE, 16, create)
    key = hashlib.pbkdf2_hmac(
        "sha256", store_key.passphrase.encode(), b"careline recordings\0" + salt, ROUNDS, KEY_BYTES
    )
    return RecordingsKey(key, "the store's key")
