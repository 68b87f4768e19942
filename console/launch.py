# SPDX-License-Identifier: GPL-2.0-or-later
"""Starting the console for real: resolve paths, run the app, clean up.

``run_console`` is ``careline`` / ``careline run``; ``run_demo`` is
``careline demo``, which adds a simulated caller on 127.0.0.1 and keeps its
calls in a separate demo database.

On a terminal the console's first frame comes first: reading and validating the
configuration, checking the store and loading the demo's patients are the
launcher's *preparation*, which the app runs in a thread behind that frame
(:func:`console.app.launching_app`). What stops the launch (a bad setting, store or
PIN) is printed once the terminal is back, with the same line and exit code as
before the frame. Without a terminal there is no frame to hurry: the preparation
runs first. Only the standard library and the light app module load with this
module; the rest loads in the preparation.
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
from typing import TYPE_CHECKING

from console.app import AppWiring, CarelineApp, create_app, launching_app
from console.core.malloc_arenas import share_one_arena
from console.core.paths import data_dir, log_dir, socket_path
from console.core.records import dataclass
from console.startup import Prepare, Ready, Step

if TYPE_CHECKING:
    from console.core.config import CarelineConfig
    from console.core.store import StoreKey


class LaunchRefusedError(Exception):
    """The console cannot start for a reason one line says (no PIN, no engine to attach
    to): printed as ``careline: …``, exit code 1."""


def _no_step(text: str) -> None:
    """Without a terminal nobody sees the steps."""
    del text


def _no_ready(config: CarelineConfig, wiring: AppWiring) -> None:
    """Without a terminal the app is made once the preparation is over."""
    del config, wiring


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
    from console.core.engine_settings import engine_starter

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

    from console.core.store import Store

    async def probe() -> None:
        store = await Store.open(path, key)
        await store.close()

    asyncio.run(probe())


def _load_demo_patients(path: Path, config: CarelineConfig) -> None:
    """Put the demo's invented patients, clinic schedules and reminder worklist in the demo
    store (re-run safe)."""
    import asyncio
    from zoneinfo import ZoneInfo

    from console.core.demo import (
        MARIA_ID,
        demo_care,
        demo_patients,
        seed_demo_orders,
        seed_demo_schedules,
    )
    from console.core.demo_worklist import demo_worklist_patients, seed_demo_worklist
    from console.core.patients.directory import PatientDirectory
    from console.core.scripts.loader import library_dir, load_library
    from console.core.store import Store

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
    load: Callable[[], CarelineConfig],
    *,
    attach_only: bool = False,
    audio_choice: str | None = None,
) -> int:
    """Open the agent console with the configuration ``load`` reads.

    An engine already running on the socket (left by a console that exited or
    lost its terminal) is attached to, calls and all; ``attach_only`` refuses
    to start a new one. When the agent must sign in (``session.sign_in``) and
    has no usable PIN, nothing starts: one line says to run ``careline pin set``.
    """

    def prepare(step: Step, ready: Ready) -> tuple[CarelineConfig, AppWiring]:
        from console.core.config import store_key
        from console.core.pin import PinError, sign_in_pin

        step("Reading the configuration…")
        config = load()
        try:
            sign_in_pin(config.session.sign_in, config.agent.id, config.session.pin_file)
        except PinError as exc:
            raise LaunchRefusedError(str(exc)) from None
        if config.ehr.enabled:
            from console.core.ehr.auth import load_signing_key

            load_signing_key(config.ehr)  # a bad key file: one line (ConfigError)
        step("Opening the store…")
        wiring = _wiring(
            config,
            socket_path=config.engine.socket or socket_path("engine.sock"),
            store_path=config.store.path or data_dir() / "careline.sqlite3",
            key=store_key(config),
            log_name="engine",
        )
        if attach_only and not _engine_answers(wiring.socket_path):
            raise LaunchRefusedError(
                f"no phone engine is running on {wiring.socket_path} "
                "(start one with `careline run`)"
            )
        ready(config, wiring)
        return config, wiring

    return _run_app(prepare, attach_only=attach_only, audio_choice=audio_choice)


def _run_app(
    prepare: Prepare, *, attach_only: bool = False, audio_choice: str | None = None
) -> int:
    """Run the console: on a terminal its first frame at once and ``prepare`` behind it,
    otherwise ``prepare`` first. What stops the launch is raised (a ``ConfigError`` or
    ``StoreError``: the CLI prints it) or printed here (:class:`LaunchRefusedError`)."""
    # Before prepare: off a terminal it runs the store check and the demo's seeding in
    # threads first, and a thread that ends leaves its arena to the next one.
    share_one_arena()
    try:
        if _on_terminal():
            app = launching_app(prepare)
        else:
            app = create_app(*prepare(_no_step, _no_ready))
        app.attach_only = attach_only
        if app.configured:
            app.phone.attach_only = attach_only
        app.audio_choice = audio_choice
        result = app.run()
        if app.launch_error is not None:
            raise app.launch_error
    except LaunchRefusedError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    return _exit_code(app, result)


def _on_terminal() -> bool:
    """Whether the console draws on a terminal (a first frame to show while it starts)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


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


def run_demo(load: Callable[[], CarelineConfig], *, interval: float, ring_timeout: float) -> int:
    """The demo: engine, simulated callers, transfer targets and console, all on 127.0.0.1."""
    peers: list[subprocess.Popen[bytes]] = []
    """The sound probe and the demo's callers and targets, once started (stopped at exit)."""

    def prepare(step: Step, ready: Ready) -> tuple[CarelineConfig, AppWiring]:
        from console.core.demo_monitoring import DEMO_STORE

        step("Reading the configuration…")
        demo_config, ports = _demo_config(load())
        sound_probe = _start_sound_probe(demo_config)
        if sound_probe is not None:
            peers.append(sound_probe)
        step("Opening the store…")
        store_path = data_dir() / DEMO_STORE
        wiring = _wiring(
            demo_config.model_copy(
                update={
                    "sip": demo_config.sip.model_copy(update={"listen": f"127.0.0.1:{ports.agent}"})
                }
            ),
            socket_path=socket_path(f"demo-{os.getpid()}.sock"),
            store_path=store_path,
            log_name="demo-engine",
            audio_mode=functools.partial(_demo_audio_mode, sound_probe),
            local_scheduling=True,  # the demo books in its own schedules: no EHR to set up
        )
        ready(demo_config, wiring)  # the engine starts beside the demo's patients loading
        step("Loading the demo's patients…")
        _load_demo_patients(store_path, demo_config)  # a bad store: StoreError
        peers.extend(_start_demo_peers(ports, interval=interval, ring_timeout=ring_timeout))
        return demo_config, wiring

    try:
        return _run_app(prepare)
    finally:
        for peer in peers:
            _stop(peer)


@dataclass(frozen=True, slots=True)
class _DemoPorts:
    """The demo's UDP ports on 127.0.0.1."""

    agent: int
    """The console's engine."""
    callers: int
    """The simulated patients."""
    targets: int
    """The transfer targets and the worklist's answerers."""


def _demo_config(config: CarelineConfig) -> tuple[CarelineConfig, _DemoPorts]:
    """The user's configuration with the demo's agent, directory, worklists, recording,
    monitoring and dialling put in, and the ports they use."""
    from console.core.demo import demo_directory
    from console.core.demo_monitoring import DEMO_AGENT_ID, demo_monitoring
    from console.core.demo_worklist import demo_worklist_config
    from console.core.recordings.demo import demo_recording

    ports = _DemoPorts(agent=free_udp_port(), callers=free_udp_port(), targets=free_udp_port())
    demo_config = config.model_copy(
        update={
            "agent": config.agent.model_copy(update={"name": "Demo Agent", "id": DEMO_AGENT_ID}),
            # Invented patients and a made-up agent: no PIN of the user's applies.
            "session": config.session.model_copy(update={"sign_in": "off"}),
            "directory": demo_directory(ports.targets),
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
                        update={"domain": f"127.0.0.1:{ports.targets}"}
                    )
                }
            ),
        }
    )
    return demo_config, ports


def _start_demo_peers(
    ports: _DemoPorts, *, interval: float, ring_timeout: float
) -> list[subprocess.Popen[bytes]]:
    """Start the simulated patients and the transfer targets."""
    from console.core.demo import DEMO_CALLERS
    from console.core.demo_worklist import demo_answerers_json

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
        f"sip:queue@127.0.0.1:{ports.agent}",
        "--listen",
        f"127.0.0.1:{ports.callers}",
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
        f"127.0.0.1:{ports.targets}",
        "--lines",
        "0",
        "--answerers",
        json.dumps(demo_answerers_json()),
    )
    return [patients, targets]


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
    """Stop a child by its PID: TERM, then KILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
