# SPDX-License-Identifier: GPL-2.0-or-later
"""Starting the console for real: resolve paths, run the app, clean up.

``run_console`` is ``careline`` / ``careline run``; ``run_demo`` is
``careline demo``, which adds a simulated caller on 127.0.0.1 and keeps its
calls in a separate demo database.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import CarelineConfig, store_key
from console.core.demo import (
    DEMO_CALLERS,
    MARIA_ID,
    demo_care,
    demo_directory,
    demo_patients,
    seed_demo_orders,
    seed_demo_schedules,
)
from console.core.demo_monitoring import DEMO_AGENT_ID, DEMO_STORE, demo_monitoring
from console.core.demo_worklist import demo_answerers_json, demo_worklist_config
from console.core.engine_settings import engine_starter
from console.core.paths import data_dir, log_dir, socket_path
from console.core.patients.directory import PatientDirectory
from console.core.pin import PinError, sign_in_pin
from console.core.recordings.demo import demo_recording
from console.core.store import Store, StoreKey


def _wiring(
    config: CarelineConfig,
    *,
    socket_path: Path,
    store_path: Path,
    key: StoreKey | None = None,
    log_name: str,
    audio_mode: Callable[[], str] | None = None,
    local_scheduling: bool = False,
) -> AppWiring:
    """Where the console finds its engine and store (both checked here: a bad store or
    SIP setting stops the launch with one line)."""
    _check_store(store_path, key)
    logs = log_dir()
    return AppWiring(
        engine_argv=engine_starter(
            config,
            socket_path=socket_path,
            log_path=logs / f"{log_name}.log",
            audio_mode=audio_mode,
        ),
        socket_path=socket_path,
        store_path=store_path,
        store_key=key,
        engine_stderr=logs / f"{log_name}.err",
        local_scheduling=local_scheduling,
    )


def _check_store(path: Path, key: StoreKey | None) -> None:
    """Open the store once before the UI starts, so a bad store is a clear error.

    Raises :class:`StoreError` (the CLI prints it and exits 1).
    """
    import asyncio

    async def probe() -> None:
        store = await Store.open(path, key)
        await store.close()

    asyncio.run(probe())


def _load_demo_patients(path: Path, config: CarelineConfig) -> None:
    """Put the demo's invented patients, clinic schedules and reminder worklist in the demo
    store (re-run safe)."""
    import asyncio

    from console.core.demo_worklist import demo_worklist_patients, seed_demo_worklist
    from console.core.scripts.loader import library_dir, load_library

    async def load() -> None:
        store = await Store.open(path)
        try:
            now = datetime.now(UTC)
            today = now.date()
            zone = config.worklists.default_time_zone
            listed, appointments = demo_worklist_patients(
                now.astimezone(ZoneInfo(zone)).date(), zone
            )
            await PatientDirectory(store, config.sip.dial.region).import_records(
                [*demo_patients(), *demo_care(today), *listed, *appointments]
            )
            # Tomorrow's reminder calls: the worklist the console's preview dialling works.
            # Only the worklist rules and preparations are read here, before the first
            # frame: composing every script's YAML costs the launch about 100 ms.
            root = config.guidance.scripts or library_dir()
            parts = [root / "worklists", root / "preparations"]
            libraries = (
                [load_library(part) for part in parts]
                if all(part.is_dir() for part in parts)
                else [load_library(root)]
            )
            await seed_demo_worklist(
                store,
                tuple(rule for lib in libraries for rule in lib.worklists),
                tuple(prep for lib in libraries for prep in lib.preparations),
                config.worklists,
                now,
            )
            # Free slots to book, and Maria's follow-up to move or cancel (k on her card).
            await seed_demo_schedules(store, today, maria=MARIA_ID)
            # Pending tests on Maria's and Wei's cards; yesterday's refill requests answered.
            await seed_demo_orders(store, datetime.now(UTC))
        finally:
            await store.close()

    asyncio.run(load())


def run_console(
    config: CarelineConfig,
    *,
    attach_only: bool = False,
    audio_choice: str | None = None,
) -> int:
    """Open the agent console with the user's configuration.

    An engine already running on the socket (left by a console that exited or
    lost its terminal) is attached to, calls and all; ``attach_only`` refuses
    to start a new one. When the agent must sign in (``session.sign_in``) and
    has no usable PIN, nothing starts: one line says to run ``careline pin set``.
    """
    try:
        sign_in_pin(config.session.sign_in, config.agent.id, config.session.pin_file)
    except PinError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    if config.ehr.enabled:
        from console.core.ehr.auth import load_signing_key

        load_signing_key(config.ehr)  # a bad key file: one line (ConfigError), nothing starts
    wiring = _wiring(
        config,
        socket_path=config.engine.socket or socket_path("engine.sock"),
        store_path=config.store.path or data_dir() / "careline.sqlite3",
        key=store_key(config),
        log_name="engine",
    )
    if attach_only and not _engine_answers(wiring.socket_path):
        print(
            f"careline: no phone engine is running on {wiring.socket_path} "
            "(start one with `careline run`)",
            file=sys.stderr,
        )
        return 1
    app = create_app(config, wiring)
    app.phone.attach_only = attach_only
    app.audio_choice = audio_choice
    return _exit_code(app, app.run())


def _engine_answers(path: Path) -> bool:
    """Whether something accepts connections on the engine socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def run_demo(config: CarelineConfig, *, interval: float, ring_timeout: float) -> int:
    """The demo: engine, simulated callers, transfer targets and console, all on 127.0.0.1."""
    agent_port = free_udp_port()
    caller_port = free_udp_port()
    targets_port = free_udp_port()
    demo_config = config.model_copy(
        update={
            "agent": config.agent.model_copy(update={"name": "Demo Agent", "id": DEMO_AGENT_ID}),
            # Invented patients and a made-up agent: no PIN of the user's applies.
            "session": config.session.model_copy(update={"sign_in": "off"}),
            "directory": demo_directory(targets_port),
            "guidance": config.guidance.model_copy(
                update={"nurse_target": "Nurse line", "crisis_target": "Crisis line (demo)"}
            ),
            "worklists": demo_worklist_config(config.worklists),
            "recording": demo_recording(data_dir()),  # the appointments line is recorded
            # `careline supervise --demo` (this OS account) may listen in.
            "monitoring": demo_monitoring(data_dir()),
            # Numbers dialled go to the demo's target process, which answers the worklist's.
            "sip": config.sip.model_copy(
                update={
                    "dial": config.sip.dial.model_copy(
                        update={"domain": f"127.0.0.1:{targets_port}"}
                    )
                }
            ),
        }
    )
    sound_probe = _start_sound_probe(demo_config)
    store_path = data_dir() / DEMO_STORE
    _load_demo_patients(store_path, demo_config)  # a bad store: StoreError
    wiring = _wiring(
        demo_config.model_copy(
            update={"sip": demo_config.sip.model_copy(update={"listen": f"127.0.0.1:{agent_port}"})}
        ),
        socket_path=socket_path(f"demo-{os.getpid()}.sock"),
        store_path=store_path,
        log_name="demo-engine",
        audio_mode=functools.partial(_demo_audio_mode, sound_probe),
        local_scheduling=True,  # the demo books in its own schedules: no EHR to set up
    )
    callers = [{"name": c.name, "number": c.number, "queue": c.queue} for c in DEMO_CALLERS]
    # Patients and transfer targets are separate processes: each pjsua2 holds
    # at most 4 calls, and an attended transfer needs 4 at the patients' side.
    # The peers start a moment after the console, so their start-up (three
    # pjsua2 processes on a small machine) does not delay the first paint.
    patients = _demo_process(
        "demo-caller",
        "--start-delay",
        "1.0",
        "--target",
        f"sip:queue@127.0.0.1:{agent_port}",
        "--listen",
        f"127.0.0.1:{caller_port}",
        "--interval",
        str(interval),
        "--ring-timeout",
        str(ring_timeout),
        "--callers",
        json.dumps(callers),
    )
    targets = _demo_process(
        "demo-targets",
        "--start-delay",
        "1.0",
        "--listen",
        f"127.0.0.1:{targets_port}",
        "--lines",
        "0",
        "--answerers",
        json.dumps(demo_answerers_json()),
    )
    try:
        app = create_app(demo_config, wiring)
        result = app.run()
    finally:
        _stop(patients)
        _stop(targets)
        if sound_probe is not None and sound_probe.poll() is None:
            sound_probe.kill()  # the console quit before the engine needed its answer
            sound_probe.wait()
    return _exit_code(app, result)


def _exit_code(app: CarelineApp, result: int | None) -> int:
    """The console's exit code: never 0 after a crash (Textual's ``run`` then returns
    None, which would read as success) or with records left unsaved."""
    return app.return_code or int(result or 0)


def _start_sound_probe(config: CarelineConfig) -> subprocess.Popen[bytes] | None:
    """For the demo's audio: a child that exits 0 when this machine has a sound device.

    In a child because PortAudio probes every ALSA device and can abort the
    process on a broken ALSA configuration; started early so that it runs
    while the demo store loads. None when the headset is not wanted.
    """
    if config.audio.mode != "headset":
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "sip.audio_probe", "has-output"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def _demo_audio_mode(probe: subprocess.Popen[bytes] | None) -> str:
    """The demo's audio: the headset when the probe found a sound device, else none (over
    SSH, in CI: no fault shown that is not one). Never station: the demo's made-up
    agent has no phone of their own."""
    if probe is None:
        return "none"
    try:
        return "headset" if probe.wait(timeout=20) == 0 else "none"
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.wait()
        return "none"


def _demo_process(name: str, *args: str) -> subprocess.Popen[bytes]:
    """Start one ``sip.demo_caller`` process logging to ``<name>.log``."""
    log_path = log_dir() / f"{name}.log"
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "sip.demo_caller", *args, "--log", str(log_path)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
