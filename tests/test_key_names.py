# SPDX-License-Identifier: GPL-2.0-or-later
"""Textual names the console's keys without Unicode's name table (console.key_names):
the answers are unicodedata's, and an agent screen never asks the table."""

from __future__ import annotations

import ast
import string
import unicodedata
from pathlib import Path

import pytest
import textual.keys
from textual.keys import KEY_TO_UNICODE_NAME, Keys
from textual.widgets import TextArea

from console.key_names import KeyNames
from tests.console_app import SIZE, make_app, wait_for


def _answer(function: object, *args: str) -> tuple[str, str]:
    """("ok", result) or (exception type, "") of ``function(*args)``."""
    try:
        return ("ok", function(*args))  # type: ignore[operator]
    except (KeyError, ValueError) as error:
        return (type(error).__name__, "")


def _names_textual_asks() -> set[str]:
    """Every name Textual's key functions pass to ``unicodedata.lookup``, and more."""
    names = set(KEY_TO_UNICODE_NAME.values())
    for key in Keys:
        for spelling in (key.value, key.value.upper(), key.value.replace("_", " ").upper()):
            names.add(spelling)
            names.add(spelling.rpartition("+")[2])
    names.update(chr(code) for code in range(0x20, 0x7F))
    names.update(("é", "€", "snowman", "SNOWMAN", "LATIN SMALL LETTER A", "not a name", ""))
    names.update(("super+c", "alt+x", "ctrl+shift+a", "a_b", "ſpace", "ß", "line feed", "lf"))
    names.update(("CJK UNIFIED IDEOGRAPH-4e00", "keycap number sign", "Byte Order Mark"))
    return names


def test_every_lookup_answers_as_unicodedata_does() -> None:
    names = KeyNames()
    for name in sorted(_names_textual_asks()):
        assert _answer(names.lookup, name) == _answer(unicodedata.lookup, name), name


def test_every_character_name_is_unicodedatas() -> None:
    names = KeyNames()
    for character in [chr(code) for code in range(0x80)] + ["é", "€", "\u2028", "\U0001f600"]:
        assert _answer(names.name, character) == _answer(unicodedata.name, character)
        assert names.name(character, "?") == unicodedata.name(character, "?")


def test_textual_keys_asks_unicodedata_only_what_key_names_answers() -> None:
    """A Textual upgrade that asks the table something else fails here (Textual is pinned)."""
    tree = ast.parse(Path(textual.keys.__file__).read_text())
    asked = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "unicodedata"
    }
    assert asked <= {"lookup", "name"}


def test_textual_names_every_key_as_with_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's own functions, run with Unicode's table and then with KeyNames, give the
    same key for every printable ASCII character, and the same character and footer text
    for every key."""
    characters = string.printable.strip() + " "
    keys = [key.value for key in Keys] + [textual.keys._character_to_key(c) for c in characters]

    def answers() -> list[object]:
        return [
            *(textual.keys._character_to_key(character) for character in characters),
            *(textual.keys.key_to_character.__wrapped__(key) for key in keys),
            *(textual.keys.format_key.__wrapped__(key) for key in keys),
        ]

    monkeypatch.setattr(textual.keys, "unicodedata", unicodedata)
    with_table = answers()
    monkeypatch.setattr(textual.keys, "unicodedata", KeyNames())
    assert answers() == with_table


async def test_an_agent_screen_never_asks_unicodes_name_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footer's keys and the keys a focused box may take are named from the table in
    console.key_names: each lookup in Unicode's name table made about 64 KiB of it resident
    (0.6 MiB for an idle console's eleven keys)."""
    asked: list[str] = []
    lookup, name = unicodedata.lookup, unicodedata.name

    def counted_lookup(text: str) -> str:
        asked.append(text)
        return lookup(text)

    def counted_name(character: str, *default: str) -> str:
        asked.append(character)
        return name(character, *default)

    monkeypatch.setattr(unicodedata, "lookup", counted_lookup)
    monkeypatch.setattr(unicodedata, "name", counted_name)
    textual.keys.format_key.cache_clear()  # another test in this process may have asked
    textual.keys.key_to_character.cache_clear()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        app.screen.query_one("#notes", TextArea).focus()  # a box that takes printable keys
        await pilot.pause(0.2)
        app.screen.query_one("#queue").focus()
        await pilot.pause(0.2)
        for character in string.punctuation:  # as the terminal parser names typed keys
            textual.keys._character_to_key(character)
    assert asked == []
