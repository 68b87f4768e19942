# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's one dispatch table: every protocol command has a handler, and it runs.

A unit test of the table without starting the library (the call flows in the
other test_engine_* files run every command against real peers).
"""

from __future__ import annotations

from typing import Any

import pytest

from sip.engine import PhoneEngine
from sip.protocol import Command, CommandError, ErrorCode
from sip.settings import EngineSettings

CALL_COMMANDS = (
    Command.ANSWER,
    Command.REJECT,
    Command.HANGUP,
    Command.HOLD,
    Command.RESUME,
    Command.MUTE,
    Command.UNMUTE,
    Command.DTMF,
    Command.TRANSFER,
    Command.CONSULT,
    Command.COMPLETE,
    Command.CANCEL_CONSULT,
    Command.SWAP,
    Command.CAPTURE_STOP,
)


def unstarted_engine() -> PhoneEngine:
    events: list[dict[str, Any]] = []
    return PhoneEngine(EngineSettings(), events.append)


def test_every_protocol_command_has_a_handler() -> None:
    engine = unstarted_engine()
    assert set(engine.handlers) == set(Command)
    assert engine.handlers[Command.PING]({}) == {"pong": True}


@pytest.mark.parametrize("command", CALL_COMMANDS)
def test_a_call_command_names_a_live_call(command: Command) -> None:
    engine = unstarted_engine()
    with pytest.raises(CommandError) as missing:
        engine.handlers[command]({"call": "no-such-call"})
    assert missing.value.code == ErrorCode.NO_SUCH_CALL
    with pytest.raises(CommandError) as unnamed:
        engine.handlers[command]({})
    assert unnamed.value.code == ErrorCode.BAD_REQUEST


def test_availability_is_set_through_the_table_and_told_to_clients() -> None:
    events: list[dict[str, Any]] = []
    engine = PhoneEngine(EngineSettings(), events.append)
    result = engine.handlers[Command.AVAILABILITY]({"state": "not_ready", "reason": "Lunch"})
    assert (result["state"], result["reason"]) == ("not_ready", "Lunch")
    assert [e["event"] for e in events] == ["agent.availability"]
    assert engine.status()["availability"] == result
