# SPDX-License-Identifier: GPL-2.0-or-later
"""Every command the engine takes and what runs it: the engine's one dispatch table.

The command names are :class:`sip.protocol.Command` (``docs/engine-protocol.md``);
each handler takes the command's message and returns its result, or raises
:class:`sip.protocol.CommandError` for a typed error reply.
"""

from __future__ import annotations

from sip.account_registration import AccountRegistration
from sip.audio_path import AudioPath
from sip.calls import CallControl
from sip.hold import HoldControl
from sip.intake import CallIntake
from sip.monitor import Monitors
from sip.protocol import Command
from sip.recording import CallRecordings
from sip.transfer import Transfers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from sip.callbook import Handler

    class EngineParts(Protocol):
        """The engine and the parts of it whose methods run commands."""

        control: CallControl
        hold: HoldControl
        transfers: Transfers
        intake: CallIntake
        registration: AccountRegistration
        audio_path: AudioPath
        recordings: CallRecordings
        monitors: Monitors

        def status(self) -> dict[str, Any]: ...
        def request_stop(self) -> None: ...


def command_table(engine: EngineParts) -> dict[Command, Handler]:
    """The handler of every command."""
    calls, hold, transfers = engine.control, engine.hold, engine.transfers
    intake, registration, audio_path = engine.intake, engine.registration, engine.audio_path

    def shutdown(_message: dict[str, Any]) -> dict[str, Any]:
        engine.request_stop()
        return {}

    return {
        Command.PING: lambda _message: {"pong": True},
        Command.STATUS: lambda _message: engine.status(),
        Command.ANSWER: calls.cmd_answer,
        Command.REJECT: calls.cmd_reject,
        Command.HANGUP: calls.cmd_hangup,
        Command.HOLD: hold.cmd_hold,
        Command.RESUME: hold.cmd_resume,
        Command.MUTE: hold.cmd_mute,
        Command.UNMUTE: hold.cmd_unmute,
        Command.DTMF: calls.cmd_dtmf,
        Command.DIAL: calls.cmd_dial,
        Command.TRANSFER: transfers.cmd_transfer,
        Command.CONSULT: transfers.cmd_consult,
        Command.COMPLETE: transfers.cmd_complete,
        Command.CANCEL_CONSULT: transfers.cmd_cancel_consult,
        Command.SWAP: transfers.cmd_swap,
        Command.AVAILABILITY: intake.cmd_availability,
        Command.CAPTURE: calls.cmd_capture,
        Command.CAPTURE_STOP: calls.cmd_capture_stop,
        Command.REGISTER: registration.cmd_register,
        Command.AUDIO: audio_path.cmd_audio,
        Command.STATION: audio_path.cmd_station,
        Command.MONITOR: engine.monitors.cmd_monitor,
        Command.MONITOR_ACCEPT: engine.monitors.cmd_monitor_accept,
        Command.MONITOR_REFUSE: engine.monitors.cmd_monitor_refuse,
        Command.RECORDING: engine.recordings.cmd_recording,
        Command.SHUTDOWN: shutdown,
    }
