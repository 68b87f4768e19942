# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's socket and the SIP registration (from a running engine, or a brief one)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from console.core.config import CarelineConfig, ConfigError
from console.doctor.check import Check, Findings

SOCKET_TIMEOUT = 3.0
"""How long a running engine may take to say hello."""
ENGINE_START_TIMEOUT = 15.0
"""With ``--engine``: how long a temporary engine may take to open its socket."""
REGISTRATION_WAIT = 10.0
"""With ``--engine``: how long to wait for the first REGISTER outcome."""


def _socket_path(config: CarelineConfig) -> Path:
    if config.engine.socket is not None:
        return config.engine.socket.expanduser()
    from platformdirs import user_runtime_path

    from console.core.paths import short_socket

    if os.environ.get("XDG_RUNTIME_DIR"):
        return short_socket(user_runtime_path("careline") / "engine.sock")
    return Path("/tmp") / f"careline-{os.getuid()}" / "engine.sock"


async def _hello(path: Path) -> dict[str, Any]:
    """The status in the engine's hello on ``path``; raises OSError or TimeoutError."""
    async with asyncio.timeout(SOCKET_TIMEOUT):
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 17)
        try:
            line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    if not line:
        raise ConnectionResetError("the engine closed the connection without a hello")
    message = json.loads(line)
    if not isinstance(message, dict) or message.get("event") != "hello":
        raise ConnectionResetError("the socket did not answer with a hello")
    status = message.get("status")
    return status if isinstance(status, dict) else {}


def _describe_engine(status: dict[str, Any]) -> str:
    registration = status.get("registration") or {}
    calls = status.get("calls") or []
    return (
        f"engine answering: listen {status.get('listen', '?')}, "
        f"registration {registration.get('state', '?')}, {len(calls)} call(s)"
    )


async def check_socket(config: CarelineConfig, found: Findings) -> Check:
    path = _socket_path(config)
    folder = path.parent
    created = False
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = True
    info = folder.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid():
        return Check(
            "socket",
            "fail",
            f"{folder} belongs to uid {info.st_uid}, not you (uid {os.getuid()})",
            "set engine.socket to a path in a directory of yours",
        )
    if mode != 0o700:
        return Check(
            "socket",
            "fail",
            f"{folder} is {mode:04o}: other users could reach the phone engine",
            f"run chmod 700 {folder}",
        )
    where = f"{folder} (0700, yours{', created' if created else ''})"
    if not path.exists() and not path.is_symlink():
        return Check("socket", "ok", f"{where}; no engine running")
    if not stat.S_ISSOCK(path.lstat().st_mode):
        return Check(
            "socket", "fail", f"{path} is not a socket", f"remove it (rm {path}) and start careline"
        )
    try:
        status = await _hello(path)
    except (OSError, TimeoutError, ValueError) as exc:
        return Check(
            "socket",
            "warn",
            f"stale socket {path}: no engine answers ({type(exc).__name__})",
            f"if no careline is running, remove it: rm {path}",
        )
    found.engine_status = status
    return Check("socket", "ok", f"{path}: {_describe_engine(status)}")


# ------------------------------------------------------------ registration
ACCOUNT_FIX = (
    "check sip.account (registrar, user, domain, auth_user, transport) and the password "
    "(sip.account.password_file, mode 0600, or the variable named by sip.account.password_env)"
)


async def check_registration(
    config: CarelineConfig, config_path: Path | None, found: Findings, start_engine: bool
) -> Check:
    from console.core.config import read_secret

    account = config.sip.account
    if account is None:
        return Check("registration", "skip", "no SIP account configured (sip.account)")
    try:
        password = read_secret(account)
    except ConfigError as exc:
        return Check("registration", "fail", str(exc), ACCOUNT_FIX)
    found.secrets.append(password)
    if not password:
        return Check(
            "registration",
            "warn",
            f"no password for {account.user}@{account.domain}: "
            f"{account.password_env} is empty and no password_file is set",
            ACCOUNT_FIX,
        )
    status = found.engine_status
    if status is None and start_engine:
        status = await _registration_from_new_engine(config, config_path)
        if status is None:
            return Check(
                "registration",
                "fail",
                "a temporary engine did not start (see the engine log)",
                "run careline engine to see why",
            )
    if status is None:
        return Check(
            "registration",
            "skip",
            f"{account.user}@{account.domain}: no engine running",
            "run careline doctor --engine to try registering",
        )
    return _judge_registration(status.get("registration") or {})


def _judge_registration(fact: dict[str, Any]) -> Check:
    state = str(fact.get("state", "?"))
    detail = str(fact.get("detail") or "")
    where = str(fact.get("aor") or fact.get("registrar") or "")
    text = ", ".join(part for part in (state, where, detail) if part)
    if state == "registered":
        return Check("registration", "ok", text)
    if state == "none":
        return Check("registration", "skip", "the engine has no SIP account")
    if state == "failed":
        return Check("registration", "fail", text, ACCOUNT_FIX)
    if state == "registering":
        text = f"no answer yet from the registrar {where}".rstrip()
    return Check(
        "registration",
        "warn",
        text,
        "check sip.account.registrar is reachable, then run careline doctor again",
    )


async def _registration_from_new_engine(
    config: CarelineConfig, config_path: Path | None
) -> dict[str, Any] | None:
    """Start ``careline engine`` on a private socket, wait for REGISTER, stop it by PID."""
    from console.core.paths import log_dir
    from console.core.phone import engine_command

    with tempfile.TemporaryDirectory(prefix="careline-doctor-") as folder:
        os.chmod(folder, 0o700)
        socket_path = Path(folder) / "engine.sock"
        argv = engine_command(
            socket_path=socket_path,
            listen=config.sip.listen,
            log_path=log_dir() / "doctor-engine.log",
            config_path=config_path,
        )
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + ENGINE_START_TIMEOUT
            status: dict[str, Any] | None = None
            while status is None and time.monotonic() < deadline and process.returncode is None:
                try:
                    status = await _hello(socket_path)
                except (OSError, TimeoutError, ValueError):
                    await asyncio.sleep(0.1)
            deadline = time.monotonic() + REGISTRATION_WAIT
            while (
                status is not None
                and (status.get("registration") or {}).get("state") == "registering"
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.25)
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    status = await _hello(socket_path)
            return status
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
