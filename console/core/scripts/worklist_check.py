# SPDX-License-Identifier: GPL-2.0-or-later
"""The checker's rules for worklist documents (``kind: worklist``).

Beyond the schema: the scripts a rule names exist, and the voicemail is short
and names nothing but the first name, the clinic and the callback number.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from console.core.scripts.loader import Library, LoadedDocument, Problem
from console.core.scripts.placeholders import slots
from console.core.scripts.worklist_rules import (
    VOICEMAIL_MAX_CHARS,
    VOICEMAIL_PLACEHOLDERS,
    ListKind,
    WorklistRule,
)


def check_worklist(
    loaded: LoadedDocument, rule: WorklistRule, library: Library
) -> Iterator[Problem]:
    """The scripts exist; the voicemail is short and names nothing clinical."""
    known = {script.id for script in library.scripts}
    for name in ("script", "preparation_script"):
        script_id = getattr(rule, name)
        if script_id is not None and script_id not in known:
            close = difflib.get_close_matches(script_id, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield loaded.problem((name,), f"unknown script {script_id!r}{hint}")
    if rule.preparation_script and not library.preparations:
        yield loaded.problem(("preparation_script",), "the library has no preparations")
    text = rule.voicemail.strip()
    if len(text) > VOICEMAIL_MAX_CHARS:
        yield loaded.problem(
            ("voicemail",),
            f"{len(text)} characters: a voicemail says at most {VOICEMAIL_MAX_CHARS} "
            "(who is calling and a number to call back, nothing clinical)",
        )
    for slot in slots(text):
        if slot.name is None:
            yield loaded.problem(("voicemail",), "unmatched brace (write {{ or }} for a brace)")
        elif slot.name not in VOICEMAIL_PLACEHOLDERS:
            allowed = ", ".join(f"{{{name}}}" for name in VOICEMAIL_PLACEHOLDERS)
            yield loaded.problem(
                ("voicemail",),
                f"{{{slot.name}}} may not be left on a voicemail (anyone may hear it); "
                f"allowed: {allowed}",
            )
    if rule.about is ListKind.APPOINTMENT_REMINDER and rule.preparation_script == rule.script:
        yield loaded.problem(("preparation_script",), "the same script as script: leave it out")
