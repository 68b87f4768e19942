"""``careline doctor``: check what an agent's console needs, and say what to fix.

Every check returns a :class:`Check`; none raises. A check that breaks is
reported as a failure naming only the exception type (no traceback, no
message that could carry a secret). The exit code is 1 when any check
failed, else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes.util
import json
import os
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from console.core.config import CarelineConfig, ConfigError, load_config

Status = Literal["ok", "warn", "fail", "skip"]

SYMBOLS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
HUB_TIMEOUT = 5.0
"""How long the hub may take to accept a connection and answer."""
SOCKET_TIMEOUT = 3.0
"""How long a running engine may take to say hello."""
CLOCK_TOLERANCE = 2.0
"""Seconds the local clock may differ from the hub's."""
ENGINE_START_TIMEOUT = 15.0
"""With ``--engine``: how long a temporary engine may take to open its socket."""
REGISTRATION_WAIT = 10.0
"""With ``--engine``: how long to wait for the first REGISTER outcome."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    """What was checked: ``store``, ``socket``, ``hub``…"""
    status: Status
    """ok, warn, fail, or skip (not applicable here)."""
    detail: str
    """What was found, in words."""
    fix: str = ""
    """What to do about it ('' when nothing)."""


@dataclass
class _Findings:
    """Facts one check leaves for a later one."""

    config: CarelineConfig | None = None
    engine_status: dict[str, Any] | None = None
    hub_now: datetime | None = None
    hub_offset: float | None = None
    secrets: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``careline doctor``."""
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    parser.add_argument(
        "--engine",
        action="store_true",
        help="when no engine is running, start one briefly to test SIP registration",
    )


def run(args: argparse.Namespace) -> int:
    """Run every check, print them, and return the exit code (1 if any failed)."""
    checks = asyncio.run(diagnose(args.config, start_engine=args.engine))
    if args.json:
        print(json.dumps([asdict(check) for check in checks], indent=2))
    else:
        print(render(checks))
    return 1 if any(check.status == "fail" for check in checks) else 0


def render(checks: list[Check]) -> str:
    """Aligned lines: symbol, name, detail; the fix indented under it."""
    width = max((len(check.name) for check in checks), default=0)
    lines: list[str] = []
    for check in checks:
        lines.append(f"{SYMBOLS[check.status]} {check.name:<{width}}  {check.detail}")
        if check.fix:
            lines.append(f"  {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)


async def diagnose(config_path: Path | None, *, start_engine: bool = False) -> list[Check]:
    """Every check, in order."""
    found = _Findings()
    checks: list[Check] = []

    async def guarded(name: str, check: Callable[[], Awaitable[Check]]) -> None:
        try:
            result = await check()
        except Exception as exc:  # a check must never take the doctor down
            result = Check(name, "fail", f"the check broke: {type(exc).__name__}", "report this")
        checks.append(_scrub(result, found.secrets))

    await guarded("config", lambda: _check_config(config_path, found))
    if found.config is None:
        for name in ("store", "socket", "registration", "library", "codecs", "hub", "clock", "tls"):
            checks.append(Check(name, "skip", "the configuration does not load"))
        await guarded("audio", _check_audio_libraries)
        return checks
    config = found.config
    await guarded("store", lambda: _check_store(config))
    await guarded("socket", lambda: _check_socket(config, found))
    await guarded(
        "registration", lambda: _check_registration(config, config_path, found, start_engine)
    )
    await guarded("audio mode", lambda: _check_audio_mode(config))
    await guarded("audio", _check_audio_libraries)
    await guarded("library", lambda: _check_library(config, found))
    await guarded("codecs", lambda: _check_codecs(config, found))
    await guarded("hub", lambda: _check_hub(config, found))
    await guarded("clock", lambda: _check_clock(found))
    await guarded("tls", lambda: _check_tls(config))
    return checks


def _scrub(check: Check, secrets: list[str]) -> Check:
    """The check with every known secret blanked out of its text."""
    detail, fix = check.detail, check.fix
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
            fix = fix.replace(secret, "***")
    return Check(check.name, check.status, detail, fix)


# ------------------------------------------------------------------ config
async def _check_config(path: Path | None, found: _Findings) -> Check:
    from console.core.config import user_config_file

    shown = path if path is not None else user_config_file()
    try:
        found.config = load_config(path)
    except ConfigError as exc:
        return Check("config", "fail", str(exc), f"correct {shown} and run careline doctor again")
    if path is None and not shown.exists():
        return Check("config", "ok", f"defaults only ({shown} does not exist)")
    return Check("config", "ok", str(shown))


# ------------------------------------------------------------------- store
async def _check_store(config: CarelineConfig) -> Check:
    from console.core.audit import AuditLog
    from console.core.config import store_key
    from console.core.paths import data_dir
    from console.core.store import Store, StoreError, migrations

    path = (config.store.path or data_dir() / "careline.sqlite3").expanduser()
    try:
        key = store_key(config)
    except ConfigError as exc:
        return Check("store", "fail", str(exc), "correct store.encryption or its key")
    existed = path.exists()
    mode_before = stat.S_IMODE(path.stat().st_mode) if existed else None
    try:
        store = await Store.open(path, key)
    except StoreError as exc:
        return Check(
            "store",
            "fail",
            str(exc),
            "restore the file from a backup, or move it aside to start a new store",
        )
    try:
        journal = (await store.fetch_all("PRAGMA journal_mode"))[0][0]
        version = (await store.fetch_all("PRAGMA user_version"))[0][0]
        quick = [row[0] for row in await store.fetch_all("PRAGMA quick_check")]
        verdict = await AuditLog(store).verify()
    finally:
        await store.close()
    shipped = len(migrations())
    mode_now = stat.S_IMODE(path.stat().st_mode)
    facts = [
        str(journal).upper(),
        f"{mode_now:04o}",
        f"migrations {version}/{shipped}",
        f"audit {verdict.checked} rows",
    ]
    if key is not None:
        facts.insert(0, "encrypted")
    summary = f"{path} ({', '.join(facts)})" + ("" if existed else ", created")
    if quick != ["ok"]:
        return Check(
            "store",
            "fail",
            f"{path}: integrity check failed: {'; '.join(str(q) for q in quick[:3])}",
            "stop careline, copy the file aside, and restore the store from a backup",
        )
    if not verdict.ok:
        return Check(
            "store",
            "fail",
            f"{path}: the audit chain is broken at row {verdict.bad_seq}: {verdict.reason}",
            "keep the file as evidence, tell your security officer, and run "
            "careline audit verify for the details",
        )
    if version != shipped:
        return Check(
            "store",
            "fail",
            f"{path}: schema version {version}, this careline ships {shipped}",
            "install the careline version that wrote this store",
        )
    if str(journal).lower() != "wal":
        return Check(
            "store",
            "warn",
            f"{summary}: journal mode is {journal}, not WAL",
            "close every other program that has the store open, then run careline again",
        )
    if mode_before is not None and mode_before & 0o077:
        return Check(
            "store",
            "warn",
            f"{summary}: was {mode_before:04o}, readable by others (set to 0600 now)",
            f"keep it 0600 (chmod 600 {path}); check whatever copied or restored it",
        )
    return Check("store", "ok", summary)


# ------------------------------------------------------------------ socket
def _socket_path(config: CarelineConfig) -> Path:
    if config.engine.socket is not None:
        return config.engine.socket.expanduser()
    from platformdirs import user_runtime_path

    if os.environ.get("XDG_RUNTIME_DIR"):
        return user_runtime_path("careline") / "engine.sock"
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


async def _check_socket(config: CarelineConfig, found: _Findings) -> Check:
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


async def _check_registration(
    config: CarelineConfig, config_path: Path | None, found: _Findings, start_engine: bool
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


# ------------------------------------------------------------------- audio
async def _check_audio_mode(config: CarelineConfig) -> Check:
    audio = config.audio
    if audio.mode == "none":
        return Check(
            "audio mode",
            "ok",
            f"none: no agent audio (sip.audio_source {config.sip.audio_source} is sent into calls)",
        )
    if audio.mode == "station":
        return _check_station(config)
    return await _check_headset(config)


def _check_station(config: CarelineConfig) -> Check:
    from console.core.engine_settings import build_engine_settings
    from sip.dialplan import DialError, resolve

    number = config.audio.station.number.strip()
    if not number:
        return Check(
            "audio mode",
            "fail",
            "station: no station number",
            "set audio.station.number (your own phone), or use audio.mode: headset",
        )
    try:
        settings = build_engine_settings(config)
    except ConfigError as exc:
        return Check("audio mode", "fail", f"station: {exc}", "fix the sip settings")
    domain = settings.account.domain if settings.account else ""
    try:
        target = resolve(number, settings.dial, domain)
    except DialError as exc:
        return Check(
            "audio mode",
            "fail",
            f"station: {number!r} cannot be dialled: {exc}",
            "fix audio.station.number or the dial plan (sip.dial)",
        )
    return Check(
        "audio mode",
        "ok",
        f"station: the engine calls {target.uri} at sign-in "
        f"(rings up to {config.audio.station.answer_seconds} s)",
    )


async def _check_headset(config: CarelineConfig) -> Check:
    headset = config.audio.headset
    # In a child: PortAudio probes every ALSA device and can abort the
    # process on a broken ALSA configuration.
    done = await asyncio.to_thread(
        lambda: subprocess.run(
            [
                sys.executable,
                "-m",
                "sip.audio_probe",
                "headset",
                headset.output_device or "",
                headset.input_device or "",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    )
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Check(
            "audio mode",
            "fail",
            f"headset: probing the sound devices crashed (exit {done.returncode})",
            "check the ALSA configuration (`careline audio devices`), or use audio.mode: station",
        )
    if not result["ok"]:
        return Check(
            "audio mode",
            "fail",
            f"headset: {result['error']}",
            "install/plug a headset and check it with `careline audio test`, "
            "or use audio.mode: station",
        )
    return Check(
        "audio mode",
        "ok",
        f"headset: output {result['output_device']!r}, microphone {result['input_device']!r} "
        f"open at {result['sample_rate']} Hz (buffer {headset.buffer_ms} ms)",
    )


def _probe(what: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    # In a child (sip/audio_probe.py): only sip/ imports pjsua2, and a broken
    # native library cannot take the doctor down with it.
    return subprocess.run(
        [sys.executable, "-m", "sip.audio_probe", what],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def _check_audio_libraries() -> Check:
    engine = await asyncio.to_thread(_probe, "pjsua2")
    if engine.returncode != 0:
        last = (engine.stderr.strip().splitlines() or ["?"])[-1]
        return Check(
            "audio",
            "fail",
            f"the phone engine cannot load pjsua2: {last}",
            "reinstall careline (pip install --force-reinstall careline) in this environment",
        )
    devices = await asyncio.to_thread(_probe, "count")
    if devices.returncode == 0:
        return Check(
            "audio", "ok", f"pjsua2 loads; PortAudio sees {devices.stdout.strip()} device(s)"
        )
    if ctypes.util.find_library("portaudio"):
        return Check("audio", "ok", "pjsua2 loads; PortAudio is installed (sounddevice is not)")
    return Check(
        "audio",
        "warn",
        "pjsua2 loads; PortAudio not found (needed for a headset on this machine)",
        "sudo apt install libportaudio2",
    )


def _judge_codecs(enabled: list[str], where: str = "") -> Check:
    """ok, or a warning when Speex is among the enabled codecs."""
    detail = ", ".join(enabled) + where
    if any(codec.lower().startswith("speex/") for codec in enabled):
        return Check(
            "codecs", "warn", detail, "Speex drops out on quiet audio: remove it from sip.codecs"
        )
    return Check("codecs", "ok", detail)


async def _ask_library(argv: list[str]) -> dict[str, Any]:
    """Run a ``sip`` module in a child (only the engine side loads pjsua2); its last JSON line.

    When the child gives no answer, ``{"failure": …}`` holds its last line of errors.
    """
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        result = json.loads((done.stdout.strip().splitlines() or ["{}"])[-1])
    except json.JSONDecodeError:
        result = {}
    if isinstance(result, dict) and result:
        return result
    last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return {"failure": last[:200]}


HARDEN_FIX = "make library (builds the hardened pjsua2: OpenSSL 3, TLS 1.3, DTLS-SRTP, 32 calls)"


async def _check_library(config: CarelineConfig, found: _Findings) -> Check:
    """Which pjsua2 the engine runs, and whether the configuration fits it."""
    from sip.library_report import summary

    running = (found.engine_status or {}).get("library")
    where = " (the running engine)" if isinstance(running, dict) and running else ""
    library: dict[str, Any] = (
        running
        if isinstance(running, dict) and where
        else await _ask_library(["-m", "sip.library_report"])
    )
    if "failure" in library:
        return Check(
            "library",
            "fail",
            f"the phone library could not be asked: {library['failure']}",
            HARDEN_FIX,
        )
    detail = summary(library) + where
    slots = int(library.get("call_slots") or 0)
    sip = config.sip
    if "dtls" in sip.srtp_keying and not library.get("dtls"):
        return Check("library", "fail", detail + "; sip.srtp_keying lists dtls", HARDEN_FIX)
    if sip.tls is not None and sip.tls.version == "1.3" and "1.3" not in library.get("tls", []):
        return Check("library", "fail", detail + "; sip.tls.version is 1.3", HARDEN_FIX)
    if slots and sip.queue_capacity >= slots:
        return Check(
            "library",
            "warn",
            f"{detail}; sip.queue_capacity {sip.queue_capacity} leaves none of its {slots} "
            "call slots for a consult call or a dial",
            HARDEN_FIX if not library.get("hardened") else "lower sip.queue_capacity",
        )
    if not library.get("hardened"):
        return Check("library", "warn", detail, HARDEN_FIX)
    return Check("library", "ok", detail)


async def _check_codecs(config: CarelineConfig, found: _Findings) -> Check:
    """The codecs calls may use, in order: from the running engine, else from the library."""
    running = (found.engine_status or {}).get("codecs")
    if isinstance(running, list) and running:
        return _judge_codecs([str(codec) for codec in running], " (the running engine)")
    sip = config.sip
    argv = ["-m", "sip.codec_policy", *sip.codecs]
    if sip.allow_speex_despite_dropouts:
        argv.append("--allow-risky")
    result = await _ask_library(argv)
    if "enabled" in result:
        return _judge_codecs([str(codec) for codec in result["enabled"]])
    if "error" in result:
        return Check("codecs", "fail", str(result["error"]), "correct sip.codecs")
    return Check("codecs", "fail", "the phone library could not be asked", "run careline engine")


# --------------------------------------------------------------------- hub
async def _check_hub(config: CarelineConfig, found: _Findings) -> Check:
    import psycopg

    from console.core.config import hub_password
    from console.hub.schema import current_version, migrations
    from console.hub.sync import hub_connector

    if not config.hub.dsn:
        return Check("hub", "skip", "no hub configured (hub.dsn)")
    try:
        password = hub_password(config)
    except ConfigError as exc:
        return Check("hub", "fail", str(exc), "correct hub.password_file")
    found.secrets.append(password)
    target = _hub_target(config.hub.dsn)
    connect = hub_connector(config.hub.dsn, password or None, connect_timeout=int(HUB_TIMEOUT))
    try:
        async with asyncio.timeout(HUB_TIMEOUT + 1):
            conn = await connect()
    except TimeoutError:
        return Check("hub", "fail", f"cannot connect to {target}: timed out", HUB_CONNECT_FIX)
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "authentication failed" in text or "no password supplied" in text:
            return Check(
                "hub",
                "fail",
                f"{target}: authentication failed",
                "check the hub password (hub.password_file, mode 0600, or the variable named "
                "by hub.password_env); a supervisor can reset it with careline hub add-agent",
            )
        return Check("hub", "fail", f"cannot connect to {target}: {text}", HUB_CONNECT_FIX)
    try:
        async with asyncio.timeout(HUB_TIMEOUT):
            version = await current_version(conn)
            before = time.time()
            cur = await conn.execute("SELECT now(), session_user")
            row = await cur.fetchone()
            after = time.time()
    finally:
        await conn.close()
    if row is not None and isinstance(row[0], datetime):
        found.hub_now = row[0]
        found.hub_offset = (before + after) / 2 - row[0].timestamp()
    shipped = max((m.version for m in migrations()), default=0)
    if version < shipped:
        return Check(
            "hub",
            "fail",
            f"{target}: hub schema version {version}, this careline needs {shipped}",
            "ask your administrator to run careline hub init against the hub",
        )
    login = str(row[1]) if row is not None else config.agent.id
    if login != config.agent.id:
        # The hub stamps every record with the login and refuses a payload
        # naming anyone else: nothing this console sends would be stored.
        return Check(
            "hub",
            "fail",
            f"{target}: logs in as {login!r} but this console's agent.id is "
            f"{config.agent.id!r}: the hub refuses every record it sends",
            f"set agent.id: {login} in the config if this console is {login}'s, else "
            f"user={config.agent.id} in hub.dsn (with that login's password)",
        )
    return Check("hub", "ok", f"{target}: schema version {version}, agent {login}")


HUB_CONNECT_FIX = (
    "check hub.dsn (host, port, dbname), that the hub server is up, "
    "and that this machine may reach it"
)


def _hub_target(dsn: str) -> str:
    """``user@host:port/dbname`` from a DSN, never its password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(dsn)
    except Exception:
        return "the hub"
    user = params.get("user") or ""
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or ""
    return f"{user}{'@' if user else ''}{host}:{port}/{dbname}"


# ------------------------------------------------------------------- clock
async def _check_clock(found: _Findings) -> Check:
    if found.hub_offset is not None:
        offset = found.hub_offset
        text = f"{abs(offset):.2f} s {'ahead of' if offset > 0 else 'behind'} the hub"
        if abs(offset) > CLOCK_TOLERANCE:
            return Check(
                "clock",
                "warn",
                text,
                "turn on time synchronisation (sudo timedatectl set-ntp true) here or on the hub",
            )
        return Check("clock", "ok", text)
    tool = shutil.which("timedatectl")
    if tool is None:
        return Check("clock", "skip", "no hub to compare with and no timedatectl")
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [tool, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("clock", "skip", f"timedatectl did not answer ({type(exc).__name__})")
    answer = done.stdout.strip()
    if done.returncode != 0 or answer not in {"yes", "no"}:
        return Check("clock", "skip", "no hub to compare with; timedatectl has no answer here")
    if answer == "no":
        return Check(
            "clock",
            "warn",
            "the system clock is not synchronised (NTP)",
            "sudo timedatectl set-ntp true",
        )
    return Check("clock", "ok", "synchronised by NTP (timedatectl)")


# --------------------------------------------------------------------- TLS
async def _check_tls(config: CarelineConfig) -> Check:
    tls = config.sip.tls
    if tls is None:
        return Check("tls", "skip", "no TLS transport configured (sip.tls)")
    problems: list[tuple[str, str]] = []
    facts: list[str] = []
    for setting, value in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file)):
        if value is None:
            continue
        path = value.expanduser()
        if not os.access(path, os.R_OK):
            problems.append((f"sip.tls.{setting} {path} is missing or unreadable", f"check {path}"))
    if tls.cert_file is not None and os.access(tls.cert_file.expanduser(), os.R_OK):
        path = tls.cert_file.expanduser()
        expires = _not_after(path)
        if expires is None:
            problems.append((f"cannot read a certificate from {path}", "check it is a PEM file"))
        else:
            left = (expires - datetime.now(UTC)).total_seconds() / 86400
            facts.append(f"certificate expires {expires:%Y-%m-%d}")
            if left < 0:
                problems.append((f"{path} expired on {expires:%Y-%m-%d}", "renew the certificate"))
            elif left < 14:
                facts.append(f"only {int(left)} day(s) left")
    if tls.key_file is not None:
        path = tls.key_file.expanduser()
        try:
            info = path.stat()
        except OSError:
            problems.append((f"sip.tls.key_file {path} is missing", f"check {path}"))
        else:
            if stat.S_IMODE(info.st_mode) & 0o077:
                problems.append(
                    (
                        f"{path} is {stat.S_IMODE(info.st_mode):04o}: others can read the key",
                        f"chmod 600 {path}",
                    )
                )
            elif not os.access(path, os.R_OK):
                problems.append((f"{path} is not readable", f"check the owner of {path}"))
    if problems:
        return Check(
            "tls", "fail", "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems)
        )
    text = f"port {tls.port}" + (f", {', '.join(facts)}" if facts else "")
    if any(fact.startswith("only") for fact in facts):
        return Check("tls", "warn", text, "renew the certificate soon")
    return Check("tls", "ok", text)


def _not_after(path: Path) -> datetime | None:
    """The certificate's expiry, through the ssl module's PEM decoder."""
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is None:
        return None
    try:
        info = decode(str(path))
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(info["notAfter"]), UTC)
    except (OSError, ValueError, KeyError, ssl.SSLError):
        return None
