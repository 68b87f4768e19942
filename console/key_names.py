# SPDX-License-Identifier: GPL-2.0-or-later
"""Key names for Textual without Unicode's name table.

Textual names keys through Unicode's character names: ``?`` is the key
``question_mark`` because ``unicodedata.name("?")`` is ``QUESTION MARK``, and the
footer shows ``question_mark`` as ``?`` (and asks a focused text box whether it takes
that key) through ``unicodedata.lookup``. It looks every key up so, letters and
``escape`` too, where the answer can only be "no such name". A lookup probes a hash table
spread over the whole 1.2 MiB name database, and each probe maps a piece of it into the
process: an idle console's eleven keys kept 0.6 MiB of it resident (``bench.idle_memory``:
48.6 → 47.9 MiB).

Nearly every name Textual asks about a key is a printable ASCII character's, one of its
own key names (``escape``, ``f5``, ``pageup``), a single character, or holds a character
no Unicode name has (``super+c``, ``<any>``: names are letters, digits, spaces and
hyphens). :class:`KeyNames` answers those from :data:`ASCII_NAMES` and
:data:`CONTROL_NAMES` and hands anything else to :mod:`unicodedata`;
:func:`name_keys_without_the_table` puts it where Textual looks.
Textual is pinned (pyproject.toml), and ``tests/test_key_names.py`` checks every answer
against :mod:`unicodedata`: an upgrade that asks differently fails there.
"""

from __future__ import annotations

import string
import unicodedata

import textual.keys

ASCII_NAMES = {
    " ": "SPACE",
    "!": "EXCLAMATION MARK",
    '"': "QUOTATION MARK",
    "#": "NUMBER SIGN",
    "$": "DOLLAR SIGN",
    "%": "PERCENT SIGN",
    "&": "AMPERSAND",
    "'": "APOSTROPHE",
    "(": "LEFT PARENTHESIS",
    ")": "RIGHT PARENTHESIS",
    "*": "ASTERISK",
    "+": "PLUS SIGN",
    ",": "COMMA",
    "-": "HYPHEN-MINUS",
    ".": "FULL STOP",
    "/": "SOLIDUS",
    ":": "COLON",
    ";": "SEMICOLON",
    "<": "LESS-THAN SIGN",
    "=": "EQUALS SIGN",
    ">": "GREATER-THAN SIGN",
    "?": "QUESTION MARK",
    "@": "COMMERCIAL AT",
    "[": "LEFT SQUARE BRACKET",
    "\\": "REVERSE SOLIDUS",
    "]": "RIGHT SQUARE BRACKET",
    "^": "CIRCUMFLEX ACCENT",
    "_": "LOW LINE",
    "`": "GRAVE ACCENT",
    "{": "LEFT CURLY BRACKET",
    "|": "VERTICAL LINE",
    "}": "RIGHT CURLY BRACKET",
    "~": "TILDE",
}
"""The Unicode name of every printable ASCII character that is not a letter or digit."""

CONTROL_NAMES = {
    "BACKSPACE": "\b",
    "DELETE": "\x7f",
    "ESCAPE": "\x1b",
    "TAB": "\t",
}
"""Textual's key names that are also Unicode names (or aliases) of control characters."""

NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + " -")
"""What Unicode's character names, aliases and named sequences are written with (in any
case: :mod:`unicodedata` ignores it)."""


class KeyNames:
    """What :mod:`textual.keys` asks of :mod:`unicodedata`, answered without its name table
    for the names keys have; the same answers (the module says why)."""

    def __init__(self) -> None:
        self._characters = {name: ch for ch, name in ASCII_NAMES.items()} | CONTROL_NAMES
        # Textual's own key names that name no character: "F5", "PAGEUP", "<ANY>"…
        spellings = {
            spelling
            for key in textual.keys.Keys
            for spelling in (key.value.upper(), key.value.replace("_", " ").upper())
        }
        self._not_names = frozenset(spellings - self._characters.keys())

    def lookup(self, name: str) -> str:
        """The character named ``name`` (in any case); KeyError if none is."""
        # No character has a one-letter name or alias, or one written with "+" or "_".
        if len(name) <= 1 or not NAME_CHARACTERS.issuperset(name):
            raise KeyError(f"undefined character name '{name}'")
        upper = name.upper()  # unicodedata ignores case (ASCII's: all a name may hold)
        found = self._characters.get(upper)
        if found is not None:
            return found
        if upper in self._not_names:
            raise KeyError(f"undefined character name '{name}'")
        return unicodedata.lookup(name)

    def name(self, character: str, *default: str) -> str:
        """``character``'s Unicode name; ``default`` (or ValueError) if it has none."""
        found = ASCII_NAMES.get(character)
        if found is not None:
            return found
        return unicodedata.name(character, *default)


def name_keys_without_the_table() -> None:
    """Have Textual's key functions ask :class:`KeyNames` (once a process is enough)."""
    # textual.keys imports unicodedata and asks it by that name, as a module global.
    if not isinstance(textual.keys.unicodedata, KeyNames):  # type: ignore[attr-defined]
        textual.keys.unicodedata = KeyNames()  # type: ignore[attr-defined,assignment]
