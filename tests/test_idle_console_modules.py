# SPDX-License-Identifier: GPL-2.0-or-later
"""The idle console holds only the Python it uses at idle (issue 17: console RSS near a
minimal Textual app).

A real ``careline run`` in a terminal (a fresh interpreter that writes ``sys.modules``
when sent SIGUSR1), phone online, no call. The dialogs an agent opens with a key (or
that a call's end opens) load when they first open: none of them is loaded at idle.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from bench.common import command_line, isolated_home, processes_at_home, tmux_console
from tests.support import free_udp_port

NOT_AT_IDLE = (
    "console.dialogs.availability",  # a
    "console.dialogs.callbacks",  # c
    "console.dialogs.care_message",  # m
    "console.dialogs.choice",  # u, k, l, the worklist's skip…
    "console.dialogs.dtmf_pad",  # #
    "console.dialogs.help",  # ?
    "console.dialogs.patient_search",  # s
    "console.dialogs.script_picker",  # g
    "console.dialogs.slot_picker",  # k
    "console.dialogs.target_picker",  # t
    "console.dialogs.verify",  # v
    "console.dialogs.worklist",  # w
    "console.dialogs.wrap_up",  # the end of a call (wrap-up on)
    "console.widgets.wrap_up_form",
    "rich._emoji_codes",  # Rich's emoji table (0.8 MiB): plain labels are not markup
    "csv",  # the audit's export
    "console.cli.patients",  # the other subcommands: loaded when they run
    "console.cli.hub",
    "console.cli.doctor",
    "console.screens.lock",  # when the console locks
    "console.widgets.pin_entry",
    "console.screens.sign_in",  # when a sign-in is set up
    "console.dialogs.confirm",  # quitting with live calls, the recording's consent
    "console.core.patients.importers",  # an import of patients (CSV, FHIR)
    "wave",  # an announcement's check
    "hashlib",  # OpenSSL's digests: the audit chain, PINs, grants hash when they write
    "hmac",
    "secrets",
    "sip.recording_file",  # the recordings' format: when one is played or its key is made
    "console.controllers.worklist",  # W: the worklist mode, built when first worked
    "console.controllers.worklist_attempt",
    "console.controllers.reminder_change",
    "zoneinfo",  # a worklist's calling hours (and the sysconfig it reads): when one is worked
    "sysconfig",
)
"""Modules an idle console must not have loaded: each dialog loads when it first opens,
and what a plain label or a rare command needs is not loaded for it."""

IDLE_CONSOLE = """
import os, signal, sys

out = sys.argv[1]

def write_modules(*_):
    with open(out + ".part", "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
    os.replace(out + ".part", out)

signal.signal(signal.SIGUSR1, write_modules)
sys.argv[1:] = ["run"]
from console.cli import main
raise SystemExit(main())
"""
"""``careline run`` in a fresh interpreter that writes ``sys.modules`` on SIGUSR1."""


def idle_console_modules(tmp_path: Path) -> set[str]:
    """Every module a real idle console (phone online, no call) has loaded."""
    out = tmp_path / "modules.txt"
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        command = [sys.executable, "-c", IDLE_CONSOLE, str(out)]
        with tmux_console(command, env, 0.5) as session:
            session.wait_for("phone online", 30)
            time.sleep(1)  # what loads behind the first frames has loaded
            [console] = [
                pid for pid in processes_at_home(env["HOME"]) if str(out) in command_line(pid)
            ]
            os.kill(console, signal.SIGUSR1)
            deadline = time.monotonic() + 10
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    return set(out.read_text().split())


def test_an_idle_console_loads_its_dialogs_when_they_first_open(tmp_path: Path) -> None:
    loaded = idle_console_modules(tmp_path)
    assert {"console.screens.agent", "console.controllers.booking"} <= loaded  # it ran
    assert sorted(name for name in NOT_AT_IDLE if name in loaded) == []
