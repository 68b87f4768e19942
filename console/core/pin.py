# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's unlock PIN: a salted scrypt hash in a 0600 file.

The file holds one line, ``AGENT_ID HASH``, where the hash is
``scrypt$n$r$p$salt_b64$hash_b64``. The PIN itself is never stored. A file
that the group or others can read is refused, like the other secret files.

The same PIN signs the agent in when the console starts (``session.sign_in``,
:func:`sign_in_pin`) and unlocks the idle lock; wrong PINs in a row earn a
growing pause (:class:`PinAttempts`), shared by both.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Literal

from platformdirs import user_config_path

from console.core.config import ConfigError, read_secret_file
from console.core.records import dataclass

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32

MAX_FAILURES = 5
"""Wrong PINs in a row before the first pause."""
FIRST_PAUSE_SECONDS = 30.0
"""The pause after MAX_FAILURES wrong PINs; each further wrong PIN doubles it."""
LONGEST_PAUSE_SECONDS = 900.0
"""The pause stops growing here (15 minutes)."""

SignInMode = Literal["auto", "required", "off"]
"""``session.sign_in``: when the console asks for the agent id and PIN at start."""


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
    import hashlib  # here: OpenSSL's hashlib is not needed until a PIN is set or checked
    import secrets

    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches the ``stored`` hash (constant-time compare)."""
    import hashlib
    import hmac

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


@dataclass(frozen=True, slots=True)
class AgentPin:
    """The PIN hash of the configured agent, or why there is none."""

    agent_id: str
    """``agent.id``: the agent this console is set up for."""
    pin_hash: str | None
    """The stored hash, when the PIN file is usable and was set for ``agent_id``."""
    problem: str = ""
    """Why there is no hash (no file, unusable, set for another agent); '' with a hash."""
    file_found: bool = False
    """Whether a PIN file exists at all (even one that cannot be used)."""


def agent_pin(agent_id: str, configured: Path | None) -> AgentPin:
    """Look up the PIN of ``agent_id`` in the PIN file (``session.pin_file``)."""
    path = pin_path(configured)
    try:
        stored = load_pin_file(path)
    except PinError as exc:
        return AgentPin(agent_id, None, f"PIN file unusable ({exc})", file_found=True)
    if stored is None:
        return AgentPin(agent_id, None, "No PIN set")
    if stored[0] != agent_id:
        problem = f"The PIN file is for {stored[0]}, not {agent_id}"
        return AgentPin(agent_id, None, problem, file_found=True)
    return AgentPin(agent_id, stored[1], file_found=True)


def sign_in_pin(mode: SignInMode, agent_id: str, configured: Path | None) -> AgentPin | None:
    """The PIN the agent signs in with at start; None: the console starts without sign-in.

    ``off`` never signs in, ``auto`` only when a PIN file exists. Raises
    :class:`PinError` (one line saying what to run) when sign-in is wanted and
    no usable PIN of ``agent_id`` exists: a missing file with ``required``, or a
    file that is unusable or was set for another agent.
    """
    if mode == "off":
        return None
    pin = agent_pin(agent_id, configured)
    if pin.pin_hash is not None:
        return pin
    if mode == "auto" and not pin.file_found:
        return None
    if not pin.file_found:
        raise PinError(
            f"session.sign_in is required and no PIN is set for {agent_id}; run: careline pin set"
        )
    raise PinError(f"cannot sign in: {pin.problem}; run: careline pin set")


@dataclass(slots=True)
class PinAttempts:
    """Wrong PINs in a row and the pause they earned (shared by sign-in and unlock).

    Times are ``time.monotonic()`` seconds.
    """

    failures: int = 0
    """Wrong PINs since the last right one."""
    paused_until: float = 0.0
    """No PIN is taken before this time."""

    def failed(self, now: float) -> float:
        """Count a wrong PIN; returns the pause it starts (0 before MAX_FAILURES)."""
        self.failures += 1
        if self.failures < MAX_FAILURES:
            return 0.0
        doublings = min(self.failures - MAX_FAILURES, 16)
        pause = min(FIRST_PAUSE_SECONDS * float(1 << doublings), LONGEST_PAUSE_SECONDS)
        self.paused_until = now + pause
        return pause

    def carry_over(self, failures: int, seconds_ago: float, now: float) -> None:
        """Go on from ``failures`` wrong PINs in a row made before this console started
        (another terminal), the last one ``seconds_ago``: its pause still holds."""
        if failures > 0:
            self.failures = failures - 1
            self.failed(now - seconds_ago)

    def passed(self) -> None:
        """The right PIN: the count and any pause start over."""
        self.failures = 0
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds left of the current pause (0 when a PIN may be entered)."""
        return max(0.0, self.paused_until - now)
