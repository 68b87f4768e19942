# SPDX-License-Identifier: GPL-2.0-or-later
"""Placeholders in what an agent says: ``{patient.first_name}``, ``{org.crisis_line}``…

A template is author-written text with ``{name}`` slots; ``{{`` and ``}}``
are literal braces. The values come from the patient record, the caller and
the configuration, so they are untrusted: each is made into one line of
plain printable text (control characters and bidi overrides are neutralised
by :func:`console.core.text.safe_text`) and substituted in a single pass, so a
value that itself looks like ``{patient.first_name}`` or ``[bold]`` markup is
shown literally. The UI renders the result as plain text, never as markup.

A slot whose value is missing never shows the raw ``{...}``: it gets the
placeholder's neutral fallback ("the patient"), so the sentence still reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from console.core.records import dataclass
from console.core.text import safe_text

# Longest value substituted, in terminal cells: a name is never a paragraph.
MAX_VALUE_CELLS = 60

ANSWER_PREFIX = "answers."
"""``{answers.<step id>}`` is the answer given at an earlier step of the same script."""


@dataclass(frozen=True)
class Placeholder:
    """One name a template may use."""

    name: str
    """Dotted name, e.g. ``patient.first_name``."""
    description: str
    """What the value is, for the docs and the checker's hints."""
    fallback: str
    """Neutral words used when the value is unknown, so the sentence still reads."""


PLACEHOLDERS: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder("patient.first_name", "the patient's first (given) name", "the patient"),
        Placeholder("patient.last_name", "the patient's last (family) name", "the patient"),
        Placeholder("patient.full_name", "the patient's full name", "the patient"),
        Placeholder(
            "patient.preferred_language",
            "the patient's preferred language",
            "the patient's preferred language",
        ),
        Placeholder(
            "patient.next_appointment",
            "date and time of the patient's next appointment (on a reminder call, of the "
            "appointment the reminder is about); known only once the caller is verified",
            "the upcoming appointment",
        ),
        Placeholder("agent.name", "the agent's name as configured", "a member of our team"),
        Placeholder("org.name", "the organisation's name", "our clinic"),
        Placeholder("org.emergency_number", "the local emergency number (default 911)", "911"),
        Placeholder("org.crisis_line", "the crisis line (default 988)", "988"),
        Placeholder("org.nurse_line", "the nurse advice line", "the nurse advice line"),
        Placeholder("org.hours", "the clinic's opening hours", "our regular opening hours"),
        Placeholder("call.number", "the number the caller is calling from", "this number"),
        Placeholder("call.queue", "the queue the call came in on", "this line"),
    )
}
"""Every placeholder a template may use besides ``{answers.<step id>}``."""

APPOINTMENT_PLACEHOLDERS: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder("appointment.date", "the booked appointment's day", "the appointment day"),
        Placeholder("appointment.time", "the booked appointment's start time", "the time booked"),
        Placeholder(
            "appointment.arrive_by",
            "the start time less the preparation's arrive_minutes_before",
            "a little before the time booked",
        ),
        Placeholder("appointment.service", "the service booked", "the appointment"),
        Placeholder("appointment.clinician", "who the appointment is with", "the clinician"),
        Placeholder("appointment.location", "where the appointment is", "the clinic"),
    )
}
"""What a pre-visit preparation may say of the appointment just booked (and only it)."""

# "{{" and "}}" are escapes; "{name}" is a slot; a brace left over is an error.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Slot:
    """A ``{...}`` occurrence in a template, or a stray brace (``name`` is None)."""

    name: str | None
    """The name between the braces, stripped; None for an unmatched brace."""
    offset: int
    """Character offset in the template."""


def slots(template: str) -> Iterator[Slot]:
    """Every placeholder slot and stray brace in ``template``, in order."""
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            yield Slot(None, match.start())
        else:
            yield Slot(match.group(1).strip(), match.start())


def fallback(name: str) -> str:
    """The neutral words shown for placeholder ``name`` when its value is unknown."""
    if name in PLACEHOLDERS:
        return PLACEHOLDERS[name].fallback
    if name in APPOINTMENT_PLACEHOLDERS:
        return APPOINTMENT_PLACEHOLDERS[name].fallback
    if name.startswith(ANSWER_PREFIX):
        return "(not answered)"
    return ""


def plain_value(value: object) -> str:
    """An untrusted value as one short line of literal text ("" when there is none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return safe_text(value, MAX_VALUE_CELLS)


def render(template: str, values: Mapping[str, object] | None = None) -> str:
    """``template`` with every slot replaced by its plain-text value or fallback.

    ``values`` maps dotted names (``"patient.first_name"``, ``"answers.reason"``)
    to values; missing, None or blank values use the fallback. Unknown names
    and stray braces (the checker reports both) are left out rather than
    shown raw.
    """
    values = values or {}

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if token in ("{", "}"):
            return ""
        name = match.group(1).strip()
        text = plain_value(values.get(name))
        return text or fallback(name)

    return _TOKEN.sub(substitute, template)
