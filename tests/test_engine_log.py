# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine log survives a restart: a crashed engine's log is what explains the crash."""

from __future__ import annotations

from pathlib import Path

from sip.server import rotate_log
from tests.support import EngineProcess, free_udp_port


def test_a_restarted_engine_appends_to_its_log_instead_of_erasing_it(tmp_path: Path) -> None:
    port = free_udp_port()
    first = EngineProcess(tmp_path, listen_port=port)
    first.wait_event("engine.ready")
    assert first.stop() == 0
    before = first.log_path.read_text()
    assert "engine listening" in before

    second = EngineProcess(tmp_path, listen_port=port)  # same port: same log file
    assert second.log_path == first.log_path
    second.wait_event("engine.ready")
    assert second.stop() == 0
    after = second.log_path.read_text()
    assert after.startswith(before)
    assert after.count("engine listening") == 2


def test_a_log_past_its_limit_is_kept_as_one_older_generation(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    rotate_log(log, limit=10)  # no log yet: nothing happens
    assert not log.exists()
    log.write_text("short\n")
    rotate_log(log, limit=10)
    assert log.read_text() == "short\n"
    log.write_text("x" * 11)
    (tmp_path / "engine.log.1").write_text("oldest")
    rotate_log(log, limit=10)
    assert not log.exists()
    assert (tmp_path / "engine.log.1").read_text() == "x" * 11
