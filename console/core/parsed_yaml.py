# SPDX-License-Identifier: GPL-2.0-or-later
"""YAML documents careline has parsed before, kept as JSON between runs.

Every start of the console reads the same YAML: the shipped defaults, the agent's
configuration, the call-script library. Composing it was most of what reading them
cost: PyYAML's import (about 1.3 MiB of an idle console's resident memory) and the
heap its composing leaves behind (about 0.6 MiB), and some 100 ms of the launch. So
the data of each document read is kept in a JSON bundle in the user's cache directory,
and a start whose documents are all unchanged does not import PyYAML at all.

What keeps the cache from ever changing what careline reads:

- an entry's key is a digest of the document's text and of the limits it was read
  under: an edited file, or a stricter reader, misses and is composed again;
- a bundle records the loader it was made by (PyYAML's and careline's composing code,
  by their files): after an upgrade of either it is ignored;
- only data that JSON gives back exactly is kept (no dates, no keys that are not
  strings): anything else is composed every time;
- a bundle that cannot be read, is larger or deeper than careline would write, is of
  another format, or is not the user's own (another owner, or writable by others, as
  is its directory) is ignored, and rewritten where the directory is the user's;
- the bundle is the user's own file, like their configuration, and is trusted as it is;
- a bundle keeps only the documents its last reading used, and bundles not written for
  30 days are removed; a bundle is written to a temporary file first and moved into
  place, and a failure to write it (a read-only home, a full disk) costs only the next
  start its parse.

A hit gives the data without the composed node, so the line of a key is found by
:class:`DocumentLines`, which composes the text again only when a message needs one.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformdirs import user_cache_path

from console.core.bounded_load import LimitError, Limits, Loc, YamlError, loads_json, read_text

try:  # hashlib's own BLAKE2, without the 0.6 MiB that hashlib's OpenSSL binding costs
    from _blake2 import blake2b
except ImportError:  # an interpreter without it
    from hashlib import blake2b

if TYPE_CHECKING:
    import yaml


FORMAT = 2
"""The bundle format; raise it when what a document composes to changes (the loader)."""
MAX_BUNDLE_BYTES = 64 << 20
"""Largest bundle read or written: far past any library (the shipped one's is ~50 KB)."""
KEEP_DAYS = 30
"""A bundle not written for this long (a library read once, a test's folder) is removed."""
_MISSING = object()


def digest(text: str, salt: str = "") -> str:
    """A hex digest of ``text`` under ``salt`` (length-prefixed, so that no two pairs of
    text and salt are hashed alike) that names a document or a bundle."""
    hashed = blake2b(f"{len(salt)}:{salt}:".encode("utf-8", "surrogatepass"), digest_size=20)
    hashed.update(text.encode("utf-8", "surrogatepass"))
    return hashed.hexdigest()


@functools.cache
def loader_stamp() -> str:
    """What composed the documents: PyYAML's and careline's composing code, by their files'
    size and time (found without importing them), so that an upgrade starts afresh.
    Looked up once a process: an upgrade under a running console counts at its next start."""
    parts = [str(FORMAT)]
    yaml_spec = find_spec("yaml")
    for origin in (yaml_spec.origin if yaml_spec else None, _COMPOSER):
        try:
            info = os.stat(origin) if origin else None
        except OSError:
            info = None
        parts.append(f"{origin}:{info.st_size}:{info.st_mtime_ns}" if info else f"{origin}:-")
    return digest("|".join(parts))


_COMPOSER = str(Path(__file__).with_name("bounded_yaml.py"))


def _ours(info: os.stat_result) -> bool:
    """Whether a file or directory is the user's own and no one else can write it."""
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def cache_dir() -> Path:
    """Where the bundles are: ``parsed`` in the user's cache directory (not created here)."""
    return user_cache_path("careline") / "parsed"


class ParsedYaml:
    """One bundle of parsed documents: :meth:`parse` each text, then :meth:`save`."""

    def __init__(self, name: str, limits: Limits, directory: Path | None = None) -> None:
        """``name`` is the bundle's file name (without ``.json``); documents are composed
        within ``limits``; ``directory`` defaults to :func:`cache_dir`."""
        self.path = (directory or cache_dir()) / f"{name}.json"
        self.limits = limits
        self._stored: dict[str, str] | None = None  # read at the first parse
        self._used: dict[str, str] = {}  # digest -> the document's data as JSON

    def parse(self, text: str, *, keep: bool = True) -> tuple[yaml.Node | None, Any]:
        """The data of the YAML document ``text``: ``(None, data)`` from the bundle, or
        ``(node, data)`` composed now (the node gives lines; see :meth:`forget`).
        ``keep=False``: composed, and never written to disk (a value that may be a secret).

        Raises :class:`LimitError` past a limit, :class:`YamlError` when it does not parse.
        """
        key = self._key(text) if keep else ""
        data = self._lookup(key) if keep else _MISSING
        if data is not _MISSING:
            return None, data
        from console.core.bounded_yaml import compose_yaml

        node, data = compose_yaml(text, self.limits)
        if keep:
            self._keep(key, data)
        return node, data

    def forget(self, text: str) -> None:
        """Leave ``text`` out of the bundle (a reader refuses it for a reason only its
        composed node shows, such as a key given twice)."""
        self._used.pop(self._key(text), None)

    def save(self) -> None:
        """Write the bundle when this reading changed it: the documents parsed since it was
        opened, no others. Never raises: an unwritten bundle costs the next start its parse."""
        if self._stored is None or self._used == self._stored:
            return
        body = json.dumps({"format": FORMAT, "loader": loader_stamp(), "documents": self._used})
        if len(body) > MAX_BUNDLE_BYTES:
            return
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _ours(folder.stat()):
                return  # another's, or open to others: nothing of ours goes there
            handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
        except OSError:
            return
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(body)
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            return
        self._stored = dict(self._used)
        _prune(folder, keep=self.path)

    def _key(self, text: str) -> str:
        limits = self.limits
        return digest(
            text, f"{limits.max_bytes},{limits.max_depth},{limits.max_values},{limits.max_aliases}"
        )

    def _lookup(self, key: str) -> Any:
        if self._stored is None:
            self._stored = self._read()
        document = self._used.get(key) or self._stored.get(key)
        if document is None:
            return _MISSING
        try:
            data = loads_json(document, self.limits.max_depth)
        except ValueError:  # a forged entry: compose the text instead (and rewrite it)
            return _MISSING
        self._used[key] = document
        return data

    def _keep(self, key: str, data: Any) -> None:
        try:
            document = json.dumps(data, allow_nan=False)
        except (TypeError, ValueError):  # a date, a set, bytes, NaN: not JSON
            return
        if json.loads(document) != data:  # a key that is not a string
            return
        self._used[key] = document

    def _read(self) -> dict[str, str]:
        """The stored documents; none when the bundle is missing, unreadable or not ours."""
        try:
            if not (_ours(self.path.parent.stat()) and _ours(self.path.stat())):
                return {}
            text = read_text(self.path, MAX_BUNDLE_BYTES)
            bundle = loads_json(text, 3)
        except (OSError, ValueError):  # also LimitError, UnicodeDecodeError, JSONDecodeError
            return {}
        if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
            return {}
        if bundle.get("loader") != loader_stamp():
            return {}
        documents = bundle.get("documents")
        if not isinstance(documents, dict):
            return {}
        return {k: v for k, v in documents.items() if isinstance(v, str)}


def _prune(folder: Path, keep: Path) -> None:
    """Remove the bundles (and temporary files a killed write left) in ``folder`` that were
    not written for :data:`KEEP_DAYS`, ``keep`` aside."""
    oldest = time.time() - KEEP_DAYS * 86400
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry == keep or entry.suffix not in (".json", ".tmp"):
            continue
        try:
            if entry.lstat().st_mtime < oldest:
                entry.unlink()
        except OSError:
            continue


class DocumentLines:
    """The line of each key and list item of one YAML document, found when first asked.

    A document from the bundle has no composed node: its text is composed again, once,
    only when a message needs a line (a document that read without a problem never does).
    """

    def __init__(self, text: str, limits: Limits, node: yaml.Node | None = None) -> None:
        """``node``: the document as composed, when it was (else it is composed on demand)."""
        self._text = text
        self._limits = limits
        self._lines: dict[Loc, int] | None = None
        self._duplicates: list[tuple[Loc, int]] = []
        if node is not None:
            self._index(node)

    def _index(self, node: yaml.Node | None) -> dict[Loc, int]:
        from console.core.bounded_yaml import key_lines

        self._lines, self._duplicates = key_lines(node)
        return self._lines

    @property
    def lines(self) -> dict[Loc, int]:
        """Each key's and list item's 1-based line, by its path."""
        if self._lines is not None:
            return self._lines
        from console.core.bounded_yaml import compose_yaml

        try:
            node = compose_yaml(self._text, self._limits)[0]
        except (LimitError, YamlError):  # it composed once; were it to fail, no lines
            node = None
        return self._index(node)

    @property
    def duplicates(self) -> list[tuple[Loc, int]]:
        """Keys given twice in one mapping: their path and the later one's line."""
        _ = self.lines
        return self._duplicates

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest part of ``loc`` present in the document."""
        lines = self.lines
        for depth in range(len(loc), 0, -1):
            if loc[:depth] in lines:
                return lines[loc[:depth]]
        return None

    def visible(self, loc: Loc) -> Loc:
        """``loc`` without the parts validation adds that are not in the document.

        A discriminated union puts the tag (``choice``) into the location; the author
        never wrote that key, so it is left out of the field name.
        """
        lines = self.lines
        kept: list[str | int] = []
        for number, part in enumerate(loc):
            candidate = (*kept, part)
            if candidate in lines or number == len(loc) - 1:
                kept.append(part)
        return tuple(kept)
