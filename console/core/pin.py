"""The agent's unlock PIN: a salted scrypt hash in a 0600 file.

The file holds one line, ``AGENT_ID HASH``, where the hash is
``scrypt$n$r$p$salt_b64$hash_b64``. The PIN itself is never stored. A file
that the group or others can read is refused, like the other secret files.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path

from platformdirs import user_config_path

from console.core.config import ConfigError, read_secret_file

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32


class PinError(Exception):
    """A PIN that breaks the rules, or a PIN file that cannot be used."""


def default_pin_file() -> Path:
    """``careline-pin`` in the user's config directory."""
    return user_config_path("careline") / "careline-pin"


def check_rules(pin: str) -> None:
    """Raise :class:`PinError` unless ``pin`` is 6+ digits or a passphrase of 8+ characters."""
    if pin != pin.strip() or not pin:
        raise PinError("the PIN must not be empty or start or end with spaces")
    if pin.isdigit():
        if len(pin) < 6:
            raise PinError("a numeric PIN needs at least 6 digits")
        return
    if len(pin) < 8:
        raise PinError("use at least 6 digits, or a passphrase of at least 8 characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of ``pin``: ``scrypt$n$r$p$salt_b64$hash_b64``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches the ``stored`` hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        digest = hashlib.scrypt(
            pin.encode("utf-8"),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def save_pin_file(path: Path, agent_id: str, pin_hash: str) -> None:
    """Write ``agent_id`` and its hash to ``path`` with mode 0600 (replacing it)."""
    path = path.expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, f"{agent_id} {pin_hash}\n".encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_pin_file(path: Path) -> tuple[str, str] | None:
    """``(agent_id, hash)`` from ``path``; None when there is no file.

    Raises :class:`PinError` when the file is readable by others, not yours or
    malformed.
    """
    path = path.expanduser()
    if not path.exists():
        return None
    try:
        parts = read_secret_file(path, "session.pin_file").split()
    except ConfigError as exc:
        raise PinError(str(exc).removeprefix("session.pin_file: ")) from None
    if len(parts) != 2 or not parts[1].startswith("scrypt$"):
        raise PinError(f"{path} is not a careline PIN file; run: careline pin set")
    return parts[0], parts[1]


def pin_path(configured: Path | None) -> Path:
    """The configured PIN file (``session.pin_file``), else :func:`default_pin_file`."""
    return configured.expanduser() if configured is not None else default_pin_file()


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """Add ``careline pin set`` to the ``pin`` parser."""
    sub = parser.add_subparsers(dest="pin_command", metavar="ACTION", required=True)
    set_ = sub.add_parser(
        "set",
        help="set the PIN that unlocks your console (asked twice, not echoed)",
        description=(
            "Set the PIN or passphrase that unlocks the console for the configured agent.id "
            "(at least 6 digits, or 8+ characters). It is stored as a salted scrypt hash in "
            "session.pin_file (mode 0600)."
        ),
    )
    set_.add_argument(
        "--pin-stdin",
        action="store_true",
        help="read the PIN from the first line of stdin (for scripts; no confirmation)",
    )


def run(args: argparse.Namespace, agent_id: str, configured: Path | None) -> int:
    """Run ``careline pin set``; returns the exit code."""
    path = pin_path(configured)
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        pin = getpass.getpass(f"New PIN for {agent_id}: ")
        if getpass.getpass("Again: ") != pin:
            print("careline: the two PINs differ; nothing changed", file=sys.stderr)
            return 1
    try:
        check_rules(pin)
    except PinError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    save_pin_file(path, agent_id, hash_pin(pin))
    print(f"PIN set for {agent_id} in {path}")
    return 0
