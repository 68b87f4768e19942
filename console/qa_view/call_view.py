# SPDX-License-Identifier: GPL-2.0-or-later
"""The call beside the form: its facts, the automatic findings, script answers, wrap-up.

Plain text built from stored values, every one of them untrusted (cleaned by
:func:`console.core.text.safe_text`, shown as text, never markup). The
recording is a line saying what it is and the keys that play it
(:data:`RecordingLookup`, from :mod:`console.core.quality.recordings`); the
player itself, its moments and where it is, is the panel above
(:mod:`console.qa_view.recording_panel`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from console.core.quality.checks import CheckResult
from console.core.quality.facts import CallFacts
from console.core.quality.recordings import RecordingNote
from console.core.scripts.evaluation_forms import AutomaticCheck
from console.core.text import safe_text

RecordingLookup = Callable[[str], Awaitable[RecordingNote | None]]
"""Given a call id, what its recording is and how to play it (None: not recorded)."""

_OUTCOME = {"pass": "ok  ", "fail": "FAIL", "na": "n/a "}


def _clock(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone().strftime("%a %d %b %H:%M:%S")


def _at(text: object) -> str:
    if not isinstance(text, str) or "T" not in text:
        return "        "
    return text.split("T", 1)[1][:8]


def call_lines(
    facts: CallFacts,
    findings: Mapping[AutomaticCheck, CheckResult],
    recording: RecordingNote | None = None,
) -> list[str]:
    """The call, as lines for the panel beside the form."""
    lines = [
        f"Agent {safe_text(facts.agent_id, 32)} · queue {safe_text(facts.queue, 24) or '—'}",
        f"Received {_clock(facts.received_at)} · talked {round(facts.talk_seconds)} s",
        f"Urgency {safe_text(facts.urgency, 12)} · "
        f"disposition {safe_text(facts.disposition, 40) or '—'}",
    ]
    alarm = [r for r in findings.values() if r.alarm]
    if alarm:
        lines.insert(0, f"!!! {alarm[0].detail} — report this call to the privacy officer !!!")
    if recording is None:
        lines.append("Recording: none for this call")
    else:
        lines.append(f"Recording: {safe_text(recording[0], 60)}")
        if recording[1]:
            lines.append(f"  {safe_text(recording[1], 76)}")
    lines += ["", "Automatic checks"]
    for check, result in findings.items():
        lines.append(f"  {_OUTCOME[result.outcome]} {check.value}: {safe_text(result.detail, 60)}")
    lines += ["", "Timeline"]
    events: list[tuple[str, str]] = []
    for entry in facts.timeline:
        fact = safe_text(entry.get("fact", "?"), 20)
        extra = safe_text(
            entry.get("target") or entry.get("status") or entry.get("reason") or "", 40
        )
        events.append((str(entry.get("at", "")), f"{fact} {extra}".rstrip()))
    for flag in facts.red_flags:
        events.append((str(flag.get("at", "")), f"RED FLAG {safe_text(flag.get('rule', '?'), 40)}"))
    # Both are UTC ISO text ending in Z: text order is time order.
    lines += [f"  {_at(at)} {what}" for at, what in sorted(events, key=lambda e: e[0])]
    lines += ["", f"Script {safe_text(facts.script_id or '—', 40)}"]
    for answer in facts.answers:
        question = safe_text(answer.get("question", "?"), 28)
        value = safe_text(answer.get("value"), 40)
        lines.append(f"  {_at(answer.get('at'))} {question}: {value}")
    lines += ["", "Wrap-up"]
    if facts.wrapped_at is None:
        lines.append("  none saved")
    else:
        wrapped = round((facts.wrapped_at - (facts.ended_at or facts.wrapped_at)).total_seconds())
        lines.append(f"  saved {wrapped} s after the call")
        for key, value in sorted(facts.form.items()):
            lines.append(f"  {safe_text(key, 24)}: {safe_text(value, 48)}")
        if facts.notes:
            lines.append(f"  notes: {safe_text(facts.notes, 200)}")
        for change in facts.appointments:
            lines.append(f"  appointment {safe_text(change.get('change', '?'), 12)}")
    return lines
