# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline doctor`` through the real command line, in an isolated HOME."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from console.core.store import migrations
from tests.alsa import make_no_sound, make_virtual_alsa
from tests.careline_cli import careline
from tests.pg import Hub
from tests.support import ROOT, free_udp_port, stop_process


@pytest.fixture(autouse=True)
def headset_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default audio mode is headset: give every doctor a (virtual) sound device."""
    alsa = make_virtual_alsa(tmp_path / "alsa", mic_seconds=5)
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(alsa.asoundrc))


def doctor(*args: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    done = careline(*args, "doctor", "--json", timeout=90)
    checks = {check["name"]: check for check in json.loads(done.stdout)}
    return done.returncode, checks, done.stdout + done.stderr


def finding(name: str, status: str, detail: str, fix: str = "") -> dict[str, str]:
    """One check as ``doctor --json`` prints it."""
    return {"name": name, "status": status, "detail": detail, "fix": fix}


def runtime() -> Path:
    return Path(os.environ["XDG_RUNTIME_DIR"]) / "careline"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "careline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fresh_environment_is_healthy() -> None:
    code, checks, output = doctor()

    assert code == 0, output
    assert checks["config"]["status"] == "ok"
    store = checks["store"]
    assert store["status"] == "ok"
    shipped = len(migrations())
    for fact in ("WAL", "0600", f"migrations {shipped}/{shipped}", "created"):
        assert fact in store["detail"]
    assert checks["socket"]["status"] == "ok"
    assert "no engine running" in checks["socket"]["detail"]
    assert checks["hub"]["status"] == "skip"
    assert checks["registration"]["status"] == "skip"
    assert checks["tls"]["status"] == "skip"
    assert checks["audio mode"]["status"] == "ok"
    assert (
        "headset: output 'default', microphone 'default' open at 16000 Hz"
        in (checks["audio mode"]["detail"])
    )
    assert all(c["status"] in {"ok", "warn", "skip"} for c in checks.values())
    assert checks["codecs"] == finding("codecs", "ok", "G722/16000, PCMU/8000, PCMA/8000")


def test_codecs_the_engine_lacks_fail_with_the_list_it_has(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sip:\n  codecs: [G729, PCMU]\n")

    code, checks, output = doctor("--config", str(config))

    assert code == 1, output
    assert checks["codecs"]["status"] == "fail"
    assert "this engine has no codec 'G729'; it has: speex/16000" in checks["codecs"]["detail"]
    assert checks["codecs"]["fix"] == "correct sip.codecs"


def test_speex_allowed_on_purpose_is_still_a_warning(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "sip:\n  codecs: [speex/8000, PCMU]\n  allow_speex_despite_dropouts: true\n"
    )

    _code, checks, output = doctor("--config", str(config))

    assert checks["codecs"]["status"] == "warn", output
    assert checks["codecs"]["detail"] == "speex/8000, PCMU/8000"
    assert "drops out" in checks["codecs"]["fix"]


def test_human_output_is_aligned_lines() -> None:
    done = careline("doctor", timeout=90)

    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[:3]
    assert first[0].startswith("✓ config ")
    assert first[1].startswith("✓ store ")
    # One-word names: the detail column starts after the padded name.
    assert len({len(re.match(r"\S \S+\s+", line)[0]) for line in first}) == 1  # type: ignore[index]


def test_store_readable_by_others_is_reported_with_a_fix() -> None:
    assert doctor()[0] == 0
    store = Path(os.environ["XDG_DATA_HOME"]) / "careline" / "careline.sqlite3"
    store.chmod(0o644)

    _, checks, _ = doctor()

    assert checks["store"]["status"] in {"warn", "fail"}
    assert "0644" in checks["store"]["detail"]
    assert f"chmod 600 {store}" in checks["store"]["fix"]


def test_socket_directory_open_to_others_fails_with_a_fix() -> None:
    runtime().mkdir(mode=0o700)
    runtime().chmod(0o755)

    code, checks, _ = doctor()

    assert code == 1
    assert checks["socket"]["status"] == "fail"
    assert "0755" in checks["socket"]["detail"]
    assert checks["socket"]["fix"] == f"run chmod 700 {runtime()}"


def test_bad_config_fails_and_names_the_problem(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sip:\n  listen: nowhere\n")

    code, checks, _ = doctor("--config", str(config))

    assert code == 1
    assert checks["config"]["status"] == "fail"
    assert "sip.listen" in checks["config"]["detail"]
    assert checks["config"]["fix"]
    assert checks["store"]["status"] == "skip"


def test_stale_socket_is_a_warning() -> None:
    import socket

    runtime().mkdir(mode=0o700)
    path = runtime() / "engine.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # bound, never listening: what a killed engine leaves

    code, checks, _ = doctor()

    assert code == 0
    assert checks["socket"]["status"] == "warn"
    assert "stale socket" in checks["socket"]["detail"]
    assert f"rm {path}" in checks["socket"]["fix"]


def test_running_engine_answers_hello(tmp_path: Path) -> None:
    port = free_udp_port()
    path = runtime() / "engine.sock"
    engine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "engine",
            "--no-stdio",
            "--listen",
            f"127.0.0.1:{port}",
            "--socket",
            str(path),
            "--log",
            str(tmp_path / "engine.log"),
            "--orphan-exit",
            "0",
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not path.exists() and time.monotonic() < deadline and engine.poll() is None:
            time.sleep(0.05)
        assert path.exists(), "the engine did not open its socket"

        code, checks, output = doctor()
    finally:
        assert stop_process(engine) == 0

    assert code == 0, output
    socket_check = checks["socket"]
    assert socket_check["status"] == "ok"
    assert f"listen 127.0.0.1:{port}" in socket_check["detail"]
    assert "registration none" in socket_check["detail"]
    assert "0 call(s)" in socket_check["detail"]
    assert checks["registration"]["status"] == "skip"
    assert checks["codecs"]["detail"] == "G722/16000, PCMU/8000, PCMA/8000 (the running engine)"


def hub_config(tmp_path: Path, hub: Hub, password: str) -> Path:
    secret = tmp_path / "hub.password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    dsn = hub.cluster.dsn("alice", None, hub.dbname)
    return write_config(
        tmp_path,
        f"agent:\n  id: alice\nhub:\n  dsn: {json.dumps(dsn)}\n  password_file: {secret}\n",
    )


def test_reachable_hub_is_ok_and_the_clock_compared(tmp_path: Path, hub: Hub) -> None:
    hub.add_agent("alice")
    config = hub_config(tmp_path, hub, hub.passwords["alice"])

    code, checks, output = doctor("--config", str(config))

    assert code == 0, output
    assert checks["hub"]["status"] == "ok", checks["hub"]
    assert "schema version" in checks["hub"]["detail"]
    assert checks["clock"]["status"] == "ok"
    assert "the hub" in checks["clock"]["detail"]
    assert hub.passwords["alice"] not in output


def test_wrong_hub_password_fails_without_showing_it(tmp_path: Path, hub: Hub) -> None:
    hub.add_agent("alice")
    wrong = "not-the-Password-42"
    config = hub_config(tmp_path, hub, wrong)

    code, checks, output = doctor("--config", str(config))

    assert code == 1
    assert checks["hub"]["status"] == "fail"
    assert "authentication failed" in checks["hub"]["detail"]
    assert checks["hub"]["fix"]
    assert wrong not in output
    assert hub.passwords["alice"] not in output


@pytest.mark.parametrize("mode", [0o644])
def test_tls_key_readable_by_others_fails(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "agent.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    key.chmod(mode)
    config = write_config(tmp_path, f"sip:\n  tls:\n    key_file: {key}\n")

    code, checks, _ = doctor("--config", str(config))

    assert code == 1
    assert checks["tls"]["status"] == "fail"
    assert f"chmod 600 {key}" in checks["tls"]["fix"]


def test_headset_with_no_sound_device_fails_with_a_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_no_sound(tmp_path / "none")
    monkeypatch.setenv("ALSA_CONFIG_PATH", env["ALSA_CONFIG_PATH"])

    code, checks, _ = doctor()

    assert code == 1
    audio = checks["audio mode"]
    assert audio["status"] == "fail"
    assert "no sound device" in audio["detail"]
    assert "audio.mode: station" in audio["fix"]


def test_headset_device_not_found_names_the_devices_there(tmp_path: Path) -> None:
    config = write_config(tmp_path, "audio:\n  headset:\n    input_device: usb headset\n")

    code, checks, _ = doctor("--config", str(config))

    assert code == 1
    detail = checks["audio mode"]["detail"]
    assert "no microphone (input) device named like 'usb headset'" in detail
    assert "'default'" in detail
    assert "audio.headset.input_device" in detail


def test_headset_device_chosen_by_name_opens(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "audio:\n  headset:\n    output_device: speaker\n    input_device: mic\n"
    )

    code, checks, output = doctor("--config", str(config))

    assert code == 0, output
    assert "output 'careline_speaker', microphone 'careline_mic'" in checks["audio mode"]["detail"]


@pytest.mark.parametrize(
    ("number", "status", "said"),
    [
        ("sip:agent7@127.0.0.1", "ok", "calls sip:agent7@127.0.0.1 at sign-in"),
        ("2001", "ok", "calls sip:2001@clinic.example at sign-in"),
        ("not a phone", "fail", "'not a phone' cannot be dialled"),
    ],
)
def test_station_number_is_resolved_with_the_dial_plan(
    tmp_path: Path, number: str, status: str, said: str
) -> None:
    config = write_config(
        tmp_path,
        "sip:\n  dial:\n    domain: clinic.example\n"
        f"audio:\n  mode: station\n  station:\n    number: '{number}'\n",
    )

    _, checks, output = doctor("--config", str(config))

    assert checks["audio mode"]["status"] == status, output
    assert said in checks["audio mode"]["detail"]


def test_mode_none_sends_the_audio_source(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sip:\n  audio_source: tone:440\naudio:\n  mode: none\n")

    code, checks, output = doctor("--config", str(config))

    assert code == 0, output
    assert checks["audio mode"] == finding(
        "audio mode", "ok", "none: no agent audio (sip.audio_source tone:440 is sent into calls)"
    )


def test_the_library_check_names_the_hardened_build(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sip:\n  queue_capacity: 30\n  srtp_keying: [dtls, sdes]\n")

    code, checks, output = doctor("--config", str(config))

    library = checks["library"]
    assert library["status"] == "ok", output
    assert library["detail"].startswith("pjsua2 2.15.1 (careline hardened) · OpenSSL 3.")
    assert "TLS 1.2/1.3 · DTLS-SRTP · 32 call slots" in library["detail"]


WHEEL = {
    "pjsua2": "2.15.1",
    "build": "pjsua2-python 2.15.1.post1 (PyPI wheel)",
    "hardened": False,
    "openssl": "OpenSSL 1.0.2k-fips  26 Jan 2017",
    "tls": ["1.2"],
    "dtls": False,
    "call_slots": 4,
    "call_slots_measured": True,
    "sound_devices": [],
}


@pytest.mark.parametrize(
    ("sip", "status", "says"),
    [
        ({}, "warn", "make library"),
        ({"queue_capacity": 4}, "warn", "leaves none of its 4 call slots"),
        ({"srtp_keying": ["dtls"]}, "fail", "sip.srtp_keying lists dtls"),
        ({"tls": {"version": "1.3"}}, "fail", "sip.tls.version is 1.3"),
    ],
)
async def test_the_library_check_on_the_pypi_wheel_says_what_to_do(
    sip: dict[str, Any], status: str, says: str
) -> None:
    from console.core.config import CarelineConfig
    from console.doctor.check import Findings
    from console.doctor.library import check_library

    config = CarelineConfig.model_validate({"sip": sip})
    check = await check_library(config, Findings(engine_status={"library": WHEEL}))
    assert check.status == status
    assert says in check.detail + " " + check.fix
    assert "PyPI wheel" in check.detail
    assert "(the running engine)" in check.detail


def test_hub_login_other_than_the_agent_id_fails(tmp_path: Path, hub: Hub) -> None:
    # Every record would be refused by the hub: the payloads name agent.id.
    hub.add_agent("alice")
    config = hub_config(tmp_path, hub, hub.passwords["alice"])
    config.write_text(config.read_text().replace("id: alice", "id: agent-17"), encoding="utf-8")

    code, checks, output = doctor("--config", str(config))

    assert code == 1, output
    assert checks["hub"]["status"] == "fail", checks["hub"]
    assert checks["hub"]["detail"].endswith(
        "logs in as 'alice' but this console's agent.id is 'agent-17': "
        "the hub refuses every record it sends"
    )
    assert "agent.id: alice" in checks["hub"]["fix"]
    assert "user=agent-17" in checks["hub"]["fix"]
    assert hub.passwords["alice"] not in output


def test_recordings_that_will_never_reach_the_hub_are_counted() -> None:
    """The upload marks one it can never send (its file gone, altered…) and goes on:
    the doctor says how many, without a call id or anything of the call."""
    assert doctor()[0] == 0
    path = Path(os.environ["XDG_DATA_HOME"]) / "careline" / "careline.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO recordings (call_id, agent_id, mode, file, state, started_at, "
            "retention_days, upload_failed) VALUES ('c-1', 'a', 'consent', '/x', 'stopped', "
            "'2026-03-02T09:00:00.000Z', 90, 'its file is gone')"
        )

    _, checks, _ = doctor()

    assert checks["store"]["status"] == "warn"
    assert "1 recording(s) will never go to the hub" in checks["store"]["detail"]
    assert "c-1" not in checks["store"]["detail"]
