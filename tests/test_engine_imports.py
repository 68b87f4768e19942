# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine process stays lean: pjsua2 and the standard library, not the console's weight.

``careline engine`` validates the YAML configuration (:mod:`console.core.schema`) and
then replaces itself with ``python -m sip``, which reads a plain JSON settings
document. These tests start the engine the ways careline does (the console's
own command line on a socket; ``careline engine --config FILE`` in stdio mode)
with ``PYTHONPROFILEIMPORTTIME`` set, and read back every module the engine
process imported until it is idle (ready, no call): what it printed before
fd 2 was pointed at its log, then what the log got.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.core.config import load_config
from console.core.engine_settings import build_engine_settings
from console.core.phone import engine_command
from sip.settings import SettingsError, read_settings, settings_document
from tests.support import ROOT, EngineProcess, free_udp_port, stop_process

CONSOLE_ONLY = (
    "pydantic",
    "yaml",
    "console",
    "phonenumbers",
    "textual",
    "sounddevice",
    "numpy",
    "cryptography",  # loaded when a call is recorded, not before
)
"""Packages the idle engine must not import (without a headset)."""

IMPORT_HEADER = "import time: self [us] | cumulative | imported package"
"""The first line ``-X importtime`` prints in each new interpreter."""


def imported(stderr: str, log: str) -> set[str]:
    """Top-level packages the engine interpreter imported, from its importtime lines.

    ``stderr`` may start with the lines of ``careline engine`` itself (the
    process before it replaced itself): only those after the last header count.
    """
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == IMPORT_HEADER]
    assert starts, "no import profile on stderr"
    names = set()
    for line in [*lines[starts[-1] + 1 :], *log.splitlines()]:
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def profiled_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}


@pytest.mark.parametrize("audio_mode", ["none", "headset"])
def test_the_console_started_engine_imports_pjsua2_and_nothing_of_the_console(
    tmp_path: Path, audio_mode: str
) -> None:
    sock = tmp_path / "run" / "engine.sock"
    log = tmp_path / "engine.log"
    err = tmp_path / "engine.err"
    argv = engine_command(
        socket_path=sock,
        listen=f"127.0.0.1:{free_udp_port()}",
        log_path=log,
        audio_mode=audio_mode,
    )
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=profiled_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 15
        while not sock.exists():
            assert proc.poll() is None, f"engine died: {err.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no socket"
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(sock))
            client.settimeout(10)
            hello = json.loads(client.makefile("rb").readline())
        assert hello["event"] == "hello"
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        # The same PID became the engine (``-OO`` before ``-m`` once compiled).
        assert cmdline[cmdline.index(b"-m") + 1] == b"sip", cmdline
        names = imported(err.read_text(), log.read_text())
    finally:
        assert stop_process(proc) == 0
    assert "pjsua2" in names  # the profile does cover the running engine
    # In headset mode too: a child looks for the devices first, and there is
    # no device on this machine, so the engine never loads PortAudio.
    assert sorted(set(CONSOLE_ONLY) & names) == []


def test_careline_engine_with_a_yaml_file_imports_nothing_of_the_console(
    tmp_path: Path,
) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text("sip:\n  dial:\n    region: GB\n  log_level: 3\naudio:\n  mode: none\n")
    engine = EngineProcess(tmp_path, "--config", str(config), env=profiled_env())
    try:
        engine.wait_event("engine.ready")
        assert engine.command("status")["ok"] is True
    finally:
        assert engine.stop() == 0
    names = imported(engine.stderr(), engine.log_path.read_text())
    assert "pjsua2" in names
    assert sorted(set(CONSOLE_ONLY) & names) == []


def test_dialling_a_number_loads_the_number_metadata_then(tmp_path: Path) -> None:
    """phonenumbers is loaded by the first number dialled, not at start (a control that the
    profile sees lazy imports too)."""
    config = tmp_path / "careline.yaml"
    config.write_text("sip:\n  dial:\n    domain: 127.0.0.1\n")
    engine = EngineProcess(tmp_path, "--config", str(config), env=profiled_env())
    try:
        engine.wait_event("engine.ready")
        reply = engine.command("dial", number="555 0100 not a number")
        assert reply["ok"] is False, reply
    finally:
        assert engine.stop() == 0
    assert "phonenumbers" in imported(engine.stderr(), engine.log_path.read_text())


def test_the_settings_document_carries_every_setting(tmp_path: Path) -> None:
    secret = tmp_path / "sip-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    config = tmp_path / "careline.yaml"
    config.write_text(
        "sip:\n"
        "  transports: [udp, tcp]\n"
        "  srtp: optional\n"
        "  passthrough_headers: [X-Queue]\n"
        "  account:\n"
        "    registrar: sip:pbx.example.org\n"
        "    user: agent7\n"
        "    domain: example.org\n"
        f"    password_file: {secret}\n"
        "audio:\n"
        "  station:\n"
        "    number: '2001'\n"
    )
    settings = build_engine_settings(
        load_config(config, environ={}), auto_answer=486, log_path=tmp_path / "e.log"
    )
    data = json.dumps(settings_document(settings)).encode()
    assert read_settings(data) == settings
    assert read_settings(data).account is not None


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ({"listen_port": "5070"}, "engine.listen_port: expected int, got str"),
        ({"hold_on_answer": 1}, "engine.hold_on_answer: expected bool, got int"),
        ({"tls": {"min_version": "1.2"}}, "engine.tls: missing setting 'port'"),
        ({"dial": {"regoin": "GB"}}, "engine.dial: unknown setting 'regoin'"),
        ({"codecs": "PCMU"}, "engine.codecs: expected a list"),
    ],
)
def test_a_bad_settings_document_is_refused_by_name(engine: object, message: str) -> None:
    data = json.dumps({"format": 1, "engine": engine}).encode()
    with pytest.raises(SettingsError, match=message.replace("[", r"\[")):
        read_settings(data)


def test_the_engine_refuses_a_bad_document_with_exit_2(tmp_path: Path) -> None:
    document = tmp_path / "settings.json"
    document.write_text(json.dumps({"format": 99, "engine": {}}))
    result = subprocess.run(
        [sys.executable, "-m", "sip", "--settings", str(document)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "careline engine: settings: settings format 99; this engine reads 1"
    )
