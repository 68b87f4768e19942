# SPDX-License-Identifier: GPL-2.0-or-later
"""careline doctor on call recording: skipped when nothing is recorded, a warning when the
recordings' key sits beside them (a plain store), failures for an unusable directory or QA key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from console.core.recordings.sealing import new_key_pair
from tests.careline_cli import careline

QUEUE = "recording:\n  queues:\n    '*':\n      mode: consent\n"


def recording_check(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    config = tmp_path / "careline.yaml"
    config.write_text(text)
    done = careline("--config", str(config), "doctor", "--json", env=env, timeout=90)
    checks = {check["name"]: check for check in json.loads(done.stdout)}
    return dict(checks["recording"])


def test_nothing_recorded_is_skipped(tmp_path: Path) -> None:
    assert recording_check(tmp_path, "ui:\n  bell: false\n")["status"] == "skip"


def test_a_plain_store_is_a_warning_and_an_encrypted_one_is_ok(tmp_path: Path) -> None:
    plain = recording_check(tmp_path, QUEUE)
    assert plain["status"] == "warn"
    assert "recordings.key beside them" in plain["detail"]
    assert "store.encryption" in plain["fix"]
    text = f"store:\n  path: {tmp_path / 'enc.sqlite3'}\n  encryption:\n    key_env: K\n" + QUEUE
    encrypted = recording_check(tmp_path, text, env={"K": "correct horse battery staple"})
    assert encrypted["status"] == "ok", encrypted
    assert "derived from the store's key" in encrypted["detail"]


def test_an_unusable_directory_or_qa_key_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    bad_dir = recording_check(tmp_path, QUEUE + f"  directory: {blocker / 'recordings'}\n")
    assert bad_dir["status"] == "fail"
    assert "recording.directory" in bad_dir["fix"]
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    wrong = recording_check(tmp_path, QUEUE + f"  qa_public_key: {tmp_path / 'qa.pem'}\n")
    assert wrong["status"] == "fail"  # the private key given where the public one goes
    assert "X25519 public key" in wrong["fix"]
    right = recording_check(tmp_path, QUEUE + f"  qa_public_key: {tmp_path / 'qa.pub'}\n")
    assert "no hub: kept here" in right["detail"]
