# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa`` in a real terminal (tmux): a supervisor scores the week's emergency with
the keyboard and quits; the agent acknowledges it with ``--mine`` (issue 21)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.test_qa_app import SCORE_KEYS, seeded
from tests.tmux import TmuxSession


async def test_evaluate_and_acknowledge_in_a_terminal(tmp_path: Path) -> None:
    path, _ = await seeded(tmp_path)
    config = tmp_path / "careline.yaml"
    config.write_text(f"store:\n  path: {path}\n", encoding="utf-8")
    env = {"HOME": os.environ["HOME"], "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    env |= {k: v for k, v in os.environ.items() if k.startswith("XDG_")}
    base = [sys.executable, "-m", "console", "qa", "--config", str(config), "--week", "2026-12-02"]
    supervisor = TmuxSession([*base, "--as", "sam"], env, size=(160, 48))
    try:
        supervisor.wait_for("5 to evaluate")
        supervisor.keys("Enter")
        supervisor.wait_for("6 to answer")
        for key in SCORE_KEYS:
            supervisor.keys(key)
        supervisor.wait_for("0 to answer")
        supervisor.keys("s")
        screen = supervisor.wait_for("PASS (submitted)")
        assert "score 91.9 / pass 80" in screen
        supervisor.keys("Escape")
        supervisor.wait_for("91.9 pass (submitted)")
        supervisor.keys("q")
        supervisor.wait_for("CARELINE-EXIT 0")
    finally:
        supervisor.kill()
    agent = TmuxSession([*base, "--mine", "--as", "alice"], env, size=(160, 48))
    try:
        agent.wait_for("1 to acknowledge")
        agent.keys("k")
        agent.wait_for("a reply for your supervisor")
        agent.keys("Thanks", "Enter")
        agent.wait_for("0 to acknowledge")
        agent.keys("q")
        agent.wait_for("CARELINE-EXIT 0")
    finally:
        agent.kill()
