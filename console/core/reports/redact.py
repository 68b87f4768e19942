# SPDX-License-Identifier: GPL-2.0-or-later
"""Free-text feedback made safe to hand on: nothing that looks like a name, a
phone or other long number, a record number or a date (of birth) survives,
and what was taken out is said.

Patients write what they like in a comment; a supervisor following it up
needs the gist, not the identifiers. The rules are deliberately greedy (a
capitalised word that is not a common English word is taken for a name):
losing a word of a comment costs little, leaking a name does not. Control
characters, bidi overrides and text that is not valid Unicode are cleaned,
and a long comment is cut, after redaction, so a cut never splits an
identifier into a part the rules no longer see.
"""

from __future__ import annotations

import re
from collections import Counter

from console.core.records import dataclass
from console.core.text import safe_text

MAX_COMMENT_CHARS = 500
"""The longest comment shown or exported (the survey accepts 500)."""

_READ_CHARS = 4000
"""How much of a stored comment is read at all (a tampered one can be huge)."""

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")),
    (
        "date",
        re.compile(
            rf"\b\d{{1,4}}\s*[/.-]\s*\d{{1,2}}\s*[/.-]\s*\d{{1,4}}\b"
            rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{2,4}})?\b"
            rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{2,4}})?\b"
            rf"|\b{_MONTH}\s+\d{{4}}\b|\b(?:19|20)\d\d\b",
            re.IGNORECASE,
        ),
    ),
    (
        "record number",
        re.compile(
            r"\b(?:mrn|mr#|record|chart|id|patient\s+(?:id|number))\s*[:#.\-]?\s*(?:no\.?\s*)?"
            r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*"
            r"|\b(?=[A-Za-z-]*\d)(?=[0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b",
            re.IGNORECASE,
        ),
    ),
    ("number", re.compile(r"\+?\(?\d(?:[\s().\-/]{0,3}\d){4,}")),
    (
        "name",
        re.compile(
            r"\b(?i:mr|mrs|ms|miss|mx|dr|doctor|nurse|prof)\.?\s+[^\W\d_][\w'’-]*"
            r"(?:\s+[A-Z][\w'’-]*)*"
            r"|\b(?i:my name is|name's|my name's)\s+[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*)?"
        ),
    ),
)
_CUE = re.compile(
    r"\b(?i:this is|i am|i'm|called|named|ask for|spoke (?:to|with))\s+"
    r"(?P<first>[^\W\d_][\w'’-]*)(?P<rest>(?:\s+[A-Z][\w'’-]*)*)"
    r"(?:(?P<gap>\s+)(?P<next>[^\W\d_][\w'’-]*))?"
)
"""A phrase that names someone next ("spoke to", "this is", "I am"…), the word after it
(whatever its case: comments are often typed in lower case), the capitalised words that
follow it, then one more word (a lower-case surname)."""

# Words a sentence may start with, or that are capitalised without being names.
_COMMON_WORDS = """
    a about after again all also always an and another any anyone anything are as at be
    because been before being best better both but by call called calls can cannot could
    did didn't do does doesn't don't during each easy either else even ever every
    everyone everything excellent fast few fine first for from friendly gave get give
    good great had has have having he helpful her here hers him his how however i if in
    instead is it it's its just kind last later let like lovely many maybe me more most
    much my need never next nice no nobody none nor not nothing now of off ok okay on
    once one only or other our out over overall perfect please poor quick quickly rather
    really same she should since slow so some someone something sometimes sorry still
    such terrible thank thanks that the their them then there these they this those
    though through to today too took tried twice under unhelpful until up us very was
    wasn't we well were what when where which while who why will with without would
    wouldn't yes yesterday yet you your monday tuesday wednesday thursday friday
    saturday sunday morning afternoon evening night week weekend month year english
    spanish covid er ed icu gp mri ct ekg ecg md rn np pa ok usa us uk
    back early late home happy glad sure grateful unhappy upset angry calling writing
    waited waiting booked booking called answered asked helped listened explained
    needed wanted seemed pleased satisfied disappointed frustrated impressed worried
    confused amazing annoying disappointing frustrating confusing nothing everything
    finally eventually honestly unfortunately fortunately thankfully hopefully
    absolutely definitely certainly seriously totally completely extremely really
    usually recently actually basically clearly obviously only nearly
"""
_COMMON = frozenset(_COMMON_WORDS.split())
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True, slots=True)
class Redacted:
    """A comment with identifiers replaced by ``[kind]``, and what was replaced."""

    text: str
    removed: tuple[tuple[str, int], ...]
    """(kind, how many), most first: name, number, record number, date, email."""
    cut: bool
    """The comment was longer than :data:`MAX_COMMENT_CHARS` and was cut."""

    @property
    def said(self) -> str:
        """What was redacted, for people: "2 names, 1 number; cut" ("" for nothing)."""
        parts = [f"{count} {kind}{'s' if count != 1 else ''}" for kind, count in self.removed]
        if self.cut:
            parts.append("cut")
        return ", ".join(parts)


def _clean(text: str) -> str:
    # Lone surrogates (bytes that were not UTF-8, kept by surrogateescape) become
    # replacement marks instead of failing every writer downstream.
    return text.encode("utf-8", "replace").decode("utf-8", "replace")


def redact(text: str) -> Redacted:
    """``text`` with every identifier it seems to hold replaced by ``[kind]``."""
    found: Counter[str] = Counter()
    work = _clean(text[:_READ_CHARS])
    for kind, pattern in _RULES:

        def hide(_match: re.Match[str], kind: str = kind) -> str:
            found[kind] += 1
            return f"[{kind}]"

        work = pattern.sub(hide, work)

    def cue(match: re.Match[str]) -> str:
        first, after = match["first"], match["next"]
        if first[0].islower() and _common(first):
            return match.group(0)  # "this is a…", "called me back": no name here
        found["name"] += 1
        if after is None or not _common(after):
            return "[name]"
        return f"[name]{match['gap']}{after}"

    work = _CUE.sub(cue, work)

    def name(match: re.Match[str]) -> str:
        word = match.group(0)
        if word[0].isupper() and not _common(word) and not _in_marker(match):
            found["name"] += 1
            return "[name]"
        return word

    work = _WORD.sub(name, work)
    single = safe_text(work, MAX_COMMENT_CHARS)
    cut = len(text) > _READ_CHARS or single.endswith("…") and not work.endswith("…")
    order = ("name", "number", "record number", "date", "email")
    return Redacted(single, tuple((k, found[k]) for k in order if found[k]), cut)


def _common(word: str) -> bool:
    """Whether ``word`` is a common word (of :data:`_COMMON`), so not taken for a name
    where one may stand. None is spared for its shape alone: "Kimberly", "Fleming",
    "Mildred" end as verbs and adverbs do."""
    return word.casefold().rstrip("'’-") in _COMMON


def _in_marker(match: re.Match[str]) -> bool:
    """The word is the kind inside a ``[kind]`` marker this module wrote."""
    before = match.string[match.start() - 1 : match.start()]
    return before == "[" or match.string[match.start() - 8 : match.start()] == "[record "
