# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent screen's keys: every binding with its id (the keymap's handle) and tooltip.

Kept apart from the screen so that the keys read as one list; the screen's
``check_action`` decides which of them apply at a given moment (and so which
the footer shows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType

from console.widgets.key_help import KeyHelp

AGENT_BINDINGS: list[BindingType] = [
    Binding(
        "a",
        "answer",
        "Answer",
        id="call.answer",
        tooltip="Answer the selected ringing call (or the longest waiting)",
    ),
    Binding("h", "hangup", "Hang up", id="call.hangup", tooltip="End the call in progress"),
    Binding(
        "d",
        "decline",
        "Decline",
        id="call.decline",
        tooltip="Refuse the selected ringing call (486 Busy Here)",
    ),
    Binding(
        "o",
        "hold",
        "Hold",
        id="call.hold",
        tooltip="Put the call on hold, or take the selected held call back",
    ),
    Binding("m", "mute", "Mute", id="call.mute", tooltip="Mute or unmute your side"),
    Binding(
        "t",
        "transfer",
        "Transfer",
        id="call.transfer",
        tooltip="Blind transfer: pick a target, the caller is handed over",
    ),
    Binding(
        "c",
        "consult",
        "Consult",
        id="call.consult",
        tooltip="Hold the caller and call a target first (attended transfer)",
    ),
    Binding(
        "f",
        "complete",
        "Complete",
        id="call.complete",
        tooltip="Finish the attended transfer: connect caller and target",
    ),
    Binding(
        "x",
        "cancel_consult",
        "Cancel consult",
        id="call.cancel_consult",
        tooltip="End the consult call and go back to the caller",
    ),
    Binding(
        "s",
        "swap",
        "Swap",
        id="call.swap",
        tooltip="Switch between the caller and the consult call",
    ),
    Binding("p", "dial", "Dial", id="call.dial", tooltip="Call a number or a directory entry"),
    Binding(
        "number_sign",
        "dtmf",
        "Keypad",
        id="call.dtmf",
        key_display="#",
        tooltip="Send DTMF tones (IVR menus, extensions)",
    ),
    Binding(
        "tab",
        "next_call",
        "Next call",
        id="queue.next",
        show=False,
        tooltip="Select the next call in the queue",
    ),
    Binding(
        "v",
        "verify",
        "Verify",
        id="patient.verify",
        tooltip="Check the caller's date of birth and name or MRN before details",
    ),
    Binding(
        "k",
        "book",
        "Book",
        id="patient.book",
        tooltip="The verified caller's appointments: book a new one, move or cancel one",
    ),
    Binding(
        "l",
        "refill",
        "Refill",
        id="patient.refill",
        tooltip="Send a refill request to the prescriber, or a message to the care team",
    ),
    Binding(
        "g",
        "guidance",
        "Script",
        id="guidance.focus",
        tooltip="Work through the call script (digits answer, Enter next, ← back)",
    ),
    Binding(
        "e",
        "escalate",
        "ESCALATE",
        id="guidance.escalate",
        tooltip="Red flag: transfer the caller to the emergency, nurse or crisis target",
    ),
    Binding(
        "b",
        "callbacks",
        "Callbacks",
        id="callbacks.list",
        tooltip="Due and overdue callbacks: Enter dials, x marks done",
    ),
    Binding(
        "W",
        "worklist",
        "Worklist",
        id="worklist.toggle",
        show=False,  # for agents on outbound lists; the help screen and the README name it
        tooltip="Work the outbound worklist: preview, Enter dials, s skips; W again stops",
    ),
    Binding(
        "r",
        "agent_state",
        "State",
        id="agent.state",
        tooltip="Ready, Not ready (with a reason) or Offline",
    ),
    Binding(
        "w",
        "why",
        "Why no calls?",
        id="agent.why",
        tooltip="Explain why calls are (not) reaching you right now",
    ),
    Binding(
        "R",
        "recording",
        "Rec pause",
        id="call.recording",
        tooltip="Pause or resume the call's recording (while consent is awaited: record it)",
    ),
    Binding(
        "u",
        "audio",
        "Audio",
        id="agent.audio",
        show=False,  # rarely needed; the status bar and its alerts name the key
        tooltip="Headset, your own phone (station) or no audio; call your phone again",
    ),
    # The words typed with n (one read over SSH) go into the notes box, not to the call
    # keys ("hold on" hung up and held): AgentScreen.action_notes. Not a priority key: one
    # would overtake keys typed before it (c, then "nurse", opened the notes).
    Binding("n", "notes", "Notes", id="notes.focus", tooltip="Type notes for this call"),
    Binding(
        "escape",
        "leave_notes",
        "Done typing",
        id="notes.leave",
        show=False,
        tooltip="Back to the call queue",
    ),
    Binding(
        "question_mark",
        "help",
        "Help",
        id="app.help",
        key_display="?",
        tooltip="Every key and what it does",
    ),
]
"""The agent screen's bindings, in footer order."""


def key_rows(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> list[KeyHelp]:
    """Every binding with an id, with the keys in force (``keymap`` applied), for help."""
    rows = []
    for binding in bindings:
        if not isinstance(binding, Binding) or binding.id is None:
            continue
        keys = keymap.get(binding.id, binding.key_display or binding.key)
        rows.append(KeyHelp(keys, binding.description, binding.id, binding.tooltip))
    return rows


def palette_entries(bindings: Iterable[BindingType]) -> list[tuple[str, str, str]]:
    """(label, action, help) for the command palette: every action but leaving the notes."""
    return [
        (b.description, b.action, b.tooltip)
        for b in bindings
        if isinstance(b, Binding) and b.id not in ("notes.leave",)
    ]
