# SPDX-License-Identifier: GPL-2.0-or-later
"""The idle engine holds only the Python it uses at idle (issue 17: engine RSS near a bare
pjsua2 endpoint).

A real engine process (``python -m sip`` on a socket, no headset, nothing recorded)
runs in a fresh interpreter; a thread in it waits for the engine's hello (sent
once the library is up) and writes every module then loaded. What is loaded only
on first use must not be there: the recording file and sink (and ``hashlib``,
OpenSSL's digests), the headset bridge, argparse (and shutil and the compression
modules it brings), ``uuid`` and ``datetime``. Nor what the engine does without:
``dataclasses`` (:mod:`sip.plain` makes its value classes; dataclasses loads
``inspect``, ``ast``, ``dis``, ``tokenize``) and ``logging`` (:mod:`sip.engine_log`
writes the engine's log lines; logging loads ``traceback``, ``textwrap``, ``string``)
``pathlib`` (paths are strings; pathlib loads ``urllib.parse`` and ``ipaddress``) and
``typing`` (only type checkers read the annotations: ``TYPE_CHECKING = False`` guards it),
and ``ctypes`` (the hardened build records its call slots; the OpenSSL version is text).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sip.server import _parsed_by_argparse, parse_options
from sip.settings import EngineSettings, settings_document
from tests.support import ROOT, free_udp_port

NOT_AT_IDLE = (
    "sip.recording_file",  # the first recorded call (or the recordings key) loads these
    "sip.recording_sink",
    "hashlib",
    "wave",
    "base64",
    "sip.headset.bridge",  # a headset in use loads these
    "sip.headset.stream",
    "sip.headset.port",
    "sip.headset.devices",
    "sounddevice",
    "numpy",
    "cryptography",
    "argparse",  # only for --help or a mistaken command line
    "shutil",
    "bz2",
    "lzma",
    "uuid",  # the first call's id
    "datetime",
    "dataclasses",  # sip.plain's classes instead: dataclasses loads these
    "inspect",
    "ast",
    "dis",
    "tokenize",
    "logging",  # sip.engine_log writes the engine's lines: logging loads these
    "traceback",
    "textwrap",
    "string",
    "pathlib",  # os.path and plain paths: pathlib loads urllib.parse and ipaddress
    "urllib",
    "ipaddress",
    "typing",  # annotations only: typing is imported under TYPE_CHECKING
    "ctypes",  # the build's own facts give the call slots; OpenSSL's version is read as text
    "_ctypes",
)
"""Modules an idle engine without a headset or recording must not have loaded."""

IDLE_ENGINE = """
import os, signal, socket, sys, threading, time

def dump_at_hello(path, out):
    while not os.path.exists(path):
        time.sleep(0.02)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(path)
        client.makefile("rb").readline()  # the hello: the engine is up
    time.sleep(0.5)  # one more turn of the engine's loop
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
    os.kill(os.getpid(), signal.SIGTERM)

sock, out, settings = sys.argv[1:4]
threading.Thread(target=dump_at_hello, args=(sock, out), daemon=True).start()
from sip.server import main
raise SystemExit(main(["--settings", settings, "--no-stdio", "--socket", sock]))
"""
"""A fresh interpreter running the engine that writes ``sys.modules`` once it is idle."""


def idle_engine_modules(tmp_path: Path) -> set[str]:
    """Every module an idle engine (no headset, nothing recorded) has loaded."""
    settings = tmp_path / "settings.json"
    engine = EngineSettings(listen_port=free_udp_port(), log_path=str(tmp_path / "engine.log"))
    settings.write_text(json.dumps(settings_document(engine)))
    out = tmp_path / "modules.txt"
    sock = tmp_path / "run" / "engine.sock"
    done = subprocess.run(
        [sys.executable, "-c", IDLE_ENGINE, str(sock), str(out), str(settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "engine.log").read_text()[-2000:]
    return set(out.read_text().split())


def test_an_idle_engine_loads_what_only_calls_recording_or_a_headset_need_on_first_use(
    tmp_path: Path,
) -> None:
    loaded = idle_engine_modules(tmp_path)
    assert {"pjsua2", "sip.engine", "sip.recording", "sip.agent_audio"} <= loaded  # it ran
    assert sorted(name for name in NOT_AT_IDLE if name in loaded) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--settings-fd", "6", "--no-stdio", "--socket", "/run/e.sock", "--orphan-exit", "60.0"],
        ["--settings", "engine.json"],
        ["--no-stdio", "--settings", "a b.json", "--socket", "s"],
        ["--orphan-exit", "2", "--settings-fd", "0"],
    ],
)
def test_the_engine_reads_careline_s_command_line_as_argparse_does(argv: list[str]) -> None:
    assert parse_options(argv) == _parsed_by_argparse(argv)
    script = (
        "import sys; from sip.server import parse_options; "
        f"parse_options({argv!r}); print(' '.join(sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "argparse" not in loaded


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--settings", "a", "--settings-fd", "3"],
        ["--settings-fd", "three"],
        ["--socket", "--no-stdio", "--settings", "a"],
        ["--settings", "a", "--verbose"],
        ["--settings"],
    ],
)
def test_a_mistaken_engine_command_line_gets_argparse_s_usage_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_options(argv)
    assert stopped.value.code == 2
    assert "usage: python -m sip" in capsys.readouterr().err


def test_the_engine_s_help_is_argparse_s() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sip", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--settings-fd FD" in done.stdout


def test_every_headset_name_loads_on_first_use() -> None:
    import sip.headset as headset

    assert set(headset._LAZY) == set(headset.__all__)
    for name in headset.__all__:
        assert getattr(headset, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        headset.Nonesuch  # noqa: B018
