# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading YAML and JSON files within limits, so that a hostile file ends in one clear error.

Every place careline reads a YAML or JSON file it did not write (the
configuration, call scripts and forms, patient imports) reads it through
here. A file is read in bounded chunks, so ``/dev/zero``, a FIFO that never
ends or a file of many gigabytes stops at the size limit instead of filling
memory. YAML is composed within :class:`Limits` by :mod:`console.core.bounded_yaml`
(the one module that imports PyYAML, which an idle console does without); JSON
nesting is measured by a scan of its brackets outside strings before
:func:`json.loads` sees the text.

A limit that is hit raises :class:`LimitError`, whose message says which
limit and, where it can, the line; callers add the file name.
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from pathlib import Path
from typing import IO, Any

from console.core.records import dataclass

_CHUNK = 1 << 16


class LimitError(ValueError):
    """A file goes past one of the limits; ``str()`` names the limit (not the content)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        """Which limit, e.g. "nested more than 64 levels deep"."""
        self.line = line
        """1-based line where it was hit, when known."""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line is not None else self.reason


Loc = tuple[str | int, ...]
"""A position in a YAML document: keys and list indexes."""


class YamlError(ValueError):
    """A YAML document that does not parse (PyYAML's error, in terms that need no PyYAML)."""

    def __init__(
        self, problem: str, *, syntax: bool, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        """What is wrong, as PyYAML words it."""
        self.syntax = syntax
        """A syntax error (PyYAML marked where, when it could); False: another YAML error."""
        self.line = line
        """1-based line of the problem, when known."""
        self.column = column
        """1-based column of the problem, when known."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of a file careline is willing to read and build."""

    max_bytes: int
    """Largest file read (bytes)."""
    max_depth: int = 64
    """Deepest nesting of lists and mappings (aliases counted as expanded)."""
    max_values: int = 100_000
    """Most YAML values (scalars, lists, mappings) once every alias is expanded."""
    max_aliases: int = 100
    """Most YAML alias uses (``*name``) in one document."""


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of ``path``, read in chunks and refused past ``max_bytes``.

    Works the same on a regular file, a FIFO or a device: nothing beyond
    ``max_bytes + 1`` bytes is ever read. Raises :class:`LimitError`, and
    ``OSError`` / ``UnicodeDecodeError`` as reading a file does.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    parts: list[str] = []
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(min(_CHUNK, max_bytes + 1 - size)):
            size += len(chunk)
            if size > max_bytes:
                raise LimitError(f"larger than the limit of {max_bytes:,} bytes")
            parts.append(decoder.decode(chunk))
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


class LineTooLongError(ValueError):
    """One line of a line-oriented file is longer than the limit; it was skipped."""

    def __init__(self, number: int, max_chars: int) -> None:
        super().__init__(f"line {number}: longer than the limit of {max_chars:,} characters")
        self.number = number
        """1-based number of the line."""


class BoundedLines:
    """The lines of an open text file, none longer than ``max_chars``.

    A longer line is skipped (read past in bounded pieces) and reported by
    raising :class:`LineTooLongError` from ``next()``; iteration can go on after
    it, so a reader such as :func:`csv.reader` can keep the rest of the file.
    ``number`` is the physical line last read, for positions in messages.
    """

    def __init__(self, handle: IO[str], max_chars: int) -> None:
        self._handle = handle
        self._max = max_chars
        self.number = 0
        """1-based number of the line last returned (or skipped)."""

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._handle.readline(self._max + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) > self._max and not line.endswith(("\n", "\r")):
            while (rest := self._handle.readline(self._max)) and not rest.endswith(("\n", "\r")):
                pass
            raise LineTooLongError(self.number, self._max)
        return line


_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
_JSON_TOKEN = re.compile(rf"{_JSON_STRING.pattern}|[\[\]{{}}]", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_json_depth(text: str, max_depth: int) -> None:
    """Raise :class:`LimitError` when ``text`` nests lists or objects past ``max_depth``.

    Brackets inside strings do not count. The scan runs in C over a copy of
    the brackets alone; only a refused text is walked again for the line.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets or max(itertools.accumulate(map(_STEP.__getitem__, brackets))) <= max_depth:
        return
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        step = _STEP.get(text[match.start()], 0)
        depth += step
        if depth > max_depth:
            line = text.count("\n", 0, match.start()) + 1
            raise LimitError(f"nested more than {max_depth} levels deep", line)
    raise LimitError(f"nested more than {max_depth} levels deep")


def loads_json(text: str, max_depth: int) -> Any:
    """``json.loads(text)`` after checking its depth; raises :class:`LimitError`,
    ``json.JSONDecodeError``."""
    check_json_depth(text, max_depth)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of more digits than Python converts
        raise LimitError(f"a value cannot be read ({exc})") from None
