# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``recording`` command refuses what is wrong with a typed error, and never echoes a key."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support import EngineProcess

SECRET = base64.b64encode(b"k" * 31).decode()  # one byte short


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        ({"action": "key", "key": SECRET}, "bad_request", "32 bytes"),
        ({"action": "key", "key": "not base64!"}, "bad_request", "base64"),
        ({"action": "key", "key": 7}, "bad_request", "base64"),
        ({"action": "record"}, "bad_request", "action must be"),
        ({"action": "pause", "call": "nope"}, "no_such_call", "nope"),
        ({"action": "consent"}, "bad_request", "'call'"),
    ],
)
def test_a_wrong_recording_command_is_refused_without_echoing_a_key(
    engine: EngineProcess, args: dict[str, Any], code: str, words: str
) -> None:
    reply = engine.command("recording", **args)
    assert not reply["ok"]
    assert reply["error"]["code"] == code, reply
    assert words in reply["error"]["message"]
    assert SECRET not in reply["error"]["message"]
    assert SECRET not in engine.log_tail(200)


def test_a_good_key_is_taken_and_not_logged(engine: EngineProcess) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    assert engine.command("recording", action="key", key=key)["result"] == {"key": True}
    assert key not in engine.log_tail(500)
