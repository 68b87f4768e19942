# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading patients from FHIR R4 (Bundle JSON, NDJSON) and CSV files.

Each reader yields a :class:`PatientRecord` for every good record and a
:class:`Rejection` (position and reason, no patient data) for every bad one,
so one bad record never stops the rest. A file that cannot be read at all
(missing, not UTF-8, not JSON, no ``mrn`` column) raises
:class:`ImportFileError` before anything from it is imported.

The format comes from the content: a JSON array (of resources) or a Bundle is
a JSON document, other lines starting with ``{`` are NDJSON, the rest CSV.
Files are read within limits (:data:`MAX_FILE_BYTES`, :data:`MAX_DOCUMENT_BYTES`
for a JSON document, :data:`MAX_LINE_CHARS` per line, :data:`MAX_DEPTH`) through
:mod:`console.core.bounded_load`, and only regular files are read.

How a CSV row or a FHIR resource becomes a record is in :mod:`.csv_record`
and :mod:`.fhir_patient` (with the checks both make, :mod:`.record_checks`).
"""

from __future__ import annotations

import codecs
import json
import stat
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from console.core.bounded_load import (
    BoundedLines,
    LimitError,
    LineTooLongError,
    loads_json,
    read_text,
)
from console.core.patients.csv_record import record_from_csv_row
from console.core.patients.fhir_patient import (
    FLAG_SYSTEM,
    INTERPRETER_EXTENSION,
    fhir_id,
    fhir_mrn,
    patient_from_fhir,
    record_from_fhir,
)
from console.core.patients.import_options import FORMATS, Format
from console.core.patients.records import (
    ImportItem,
    RecordError,
    Rejection,
)
from console.core.records import dataclass

__all__ = [
    "FLAG_SYSTEM",
    "INTERPRETER_EXTENSION",
    "FORMATS",
    "Format",
    "ImportFileError",
    "ImportSource",
    "RecordError",
    "Positioned",
    "open_source",
    "patient_from_fhir",
    "read_positioned",
    "read_source",
    "record_from_fhir",
]


MAX_FILE_BYTES = 4 << 30
"""Largest import file. CSV and NDJSON are read a line at a time, so this bounds only
the time an import takes; a JSON document has the lower limit below."""
MAX_DOCUMENT_BYTES = 64 << 20
"""Largest JSON document (a Bundle or an array), which is parsed whole: a larger export
is NDJSON, one resource per line, as FHIR bulk export writes it."""
MAX_LINE_CHARS = 1 << 20
"""Longest CSV or NDJSON line: one record is a few kilobytes."""
MAX_DEPTH = 64
"""Deepest JSON nesting: a FHIR resource nests a dozen levels, a Bundle two more."""

_CHUNK = 1 << 20
_SNIFF_CHARS = 1 << 16


class ImportFileError(Exception):
    """A whole file cannot be imported; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ImportSource:
    """A file checked and ready to read."""

    path: Path
    format: Format
    total: int | None
    """Records expected (lines or Bundle entries), for progress; None if unknown."""


Positioned = tuple[str, ImportItem | Rejection]
"""A record and where it is in its file (``line N``, ``entry N``, ``item N``)."""


def open_source(path: Path, fmt: Format | Literal["auto"] = "auto") -> ImportSource:
    """Check that ``path`` is a readable UTF-8 file within the limits; work out its format and size.

    Raises :class:`ImportFileError` with a message fit for the user.
    """
    size = _check_file(path)
    lines = _check_utf8(path)
    if fmt == "auto":
        fmt = _detect(path)
    total: int | None
    if fmt == "fhir":
        if size > MAX_DOCUMENT_BYTES:
            raise ImportFileError(
                f"{path}: a JSON document larger than the limit of {MAX_DOCUMENT_BYTES:,} bytes "
                "(it is read whole): export NDJSON instead, one resource per line"
            )
        total = None  # known once the Bundle is parsed
    elif fmt == "csv":
        total = max(lines - 1, 0)
    else:
        total = lines
    return ImportSource(path, fmt, total)


def _check_file(path: Path) -> int:
    """The size of ``path``, a regular file within :data:`MAX_FILE_BYTES`."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    # A device or a FIFO has no end to check and cannot be read a second time.
    if not stat.S_ISREG(info.st_mode):
        raise ImportFileError(
            f"{path}: not a regular file (an import reads its file twice: save it to a file first)"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{path}: larger than the limit of {MAX_FILE_BYTES:,} bytes")
    return info.st_size


def _check_utf8(path: Path) -> int:
    """Decode the whole file as UTF-8 once (cheap) and count its lines.

    Checking first means a file with a bad byte near the end is refused
    before any of it is imported, rather than half-imported.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    newlines = 0
    size = 0
    last = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:  # it grew since it was checked
                    raise ImportFileError(
                        f"{path}: larger than the limit of {MAX_FILE_BYTES:,} bytes"
                    )
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    offset = max(exc.start - pending, 0)
                    line = newlines + chunk.count(b"\n", 0, offset) + 1
                    raise ImportFileError(
                        f"{path}: not UTF-8 text (byte 0x{chunk[offset]:02x} on line {line}); "
                        "save or convert the file as UTF-8"
                    ) from None
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text (truncated character at the end)") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return newlines + (1 if last not in (b"", b"\n") else 0)


def _detect(path: Path) -> Format:
    """The format from the content (the name may lie): JSON starts with ``{`` or ``[``."""
    with path.open(encoding="utf-8-sig") as handle:
        start = handle.read(_SNIFF_CHARS).lstrip()[:1]
        if start == "[":
            return "fhir"  # a JSON array of resources
        if start != "{":
            return "csv"
        if path.suffix.lower() in (".ndjson", ".jsonl"):
            return "ndjson"
        handle.seek(0)
        try:
            first = next(BoundedLines(handle, MAX_LINE_CHARS), "")
            resource = loads_json(first, MAX_DEPTH)
        except ValueError:  # not JSON on its own, too deep or too long: one document
            return "fhir"
    # One object on the first line: a one-line Bundle, else the first NDJSON resource
    bundle = isinstance(resource, dict) and resource.get("resourceType") == "Bundle"
    return "fhir" if bundle else "ndjson"


def read_source(
    source: ImportSource, region: str, *, today: date | None = None
) -> Iterator[ImportItem | Rejection]:
    """Every record of ``source``, good or rejected, in file order."""
    positioned = read_positioned(source, region, today=today)
    return (item for _, item in positioned)


def read_positioned(
    source: ImportSource, region: str, *, today: date | None = None
) -> Iterator[Positioned]:
    """Every record of ``source`` with its position, in file order.

    A JSON document is parsed here, so its problems raise
    :class:`ImportFileError` at once; CSV and NDJSON are read as iterated.
    """
    today = today or datetime.now(UTC).date()
    if source.format == "csv":
        return _read_csv(source.path, region, today)
    if source.format == "ndjson":
        return _read_ndjson(source.path, region, today)
    return _read_document(source.path, region, today)


def _read_document(path: Path, region: str, today: date) -> Iterator[Positioned]:
    try:
        text = read_text(path, MAX_DOCUMENT_BYTES).removeprefix("\ufeff")
        document = loads_json(text, MAX_DEPTH)
    except LimitError as exc:
        raise ImportFileError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path}: not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if isinstance(document, list):
        return _array_items(path, document, region, today)
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise ImportFileError(
            f"{path}: not a FHIR Bundle (expected resourceType 'Bundle') "
            "nor a JSON array of resources"
        )
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise ImportFileError(f"{path}: the Bundle's entry is not a list")
    return _bundle_entries(path, entries, region, today)


def _array_items(path: Path, items: list[Any], region: str, today: date) -> Iterator[Positioned]:
    for index, resource in enumerate(items):
        position = f"item {index}"
        if not isinstance(resource, dict):
            yield position, Rejection(str(path), position, "not a JSON object")
            continue
        yield position, _from_fhir(path, position, resource, region, today)


def _bundle_entries(
    path: Path, entries: list[Any], region: str, today: date
) -> Iterator[Positioned]:
    urls = _bundle_patient_urls(entries)
    for index, entry in enumerate(entries):
        position = f"entry {index}"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            yield position, Rejection(str(path), position, "entry has no resource object")
            continue
        full_url = entry.get("fullUrl")
        yield (
            position,
            _from_fhir(
                path,
                position,
                resource,
                region,
                today,
                full_url=full_url if isinstance(full_url, str) else None,
                urls=urls,
            ),
        )


def _bundle_patient_urls(entries: list[Any]) -> dict[str, str]:
    """``fullUrl`` → patient key for the Bundle's Patient entries, so that
    ``urn:uuid:`` references inside the Bundle resolve to a stored patient."""
    urls: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("fullUrl"), str):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
            continue
        resource_id = fhir_id(resource)
        try:
            mrn = "" if resource_id else fhir_mrn(resource.get("identifier"))
            urls[entry["fullUrl"]] = f"id:{resource_id}" if resource_id else f"mrn:{mrn}"
        except RecordError:
            continue  # the Patient itself is rejected, with its reason, in the main pass
    return urls


def _read_ndjson(path: Path, region: str, today: date) -> Iterator[Positioned]:
    with path.open(encoding="utf-8-sig") as handle:
        lines = BoundedLines(handle, MAX_LINE_CHARS)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except LineTooLongError as exc:
                position = f"line {exc.number}"
                yield position, Rejection(str(path), position, _TOO_LONG)
                continue
            if not line.strip():
                continue
            position = f"line {lines.number}"
            try:
                resource = loads_json(line, MAX_DEPTH)
            except LimitError as exc:
                yield position, Rejection(str(path), position, exc.reason)
                continue
            except json.JSONDecodeError as exc:
                reason = f"not JSON ({exc.msg} at column {exc.colno})"
                yield position, Rejection(str(path), position, reason)
                continue
            if not isinstance(resource, dict):
                yield position, Rejection(str(path), position, "not a JSON object")
                continue
            yield position, _from_fhir(path, position, resource, region, today)


_TOO_LONG = f"longer than the limit of {MAX_LINE_CHARS:,} characters for one record"


def _from_fhir(
    path: Path,
    position: str,
    resource: dict[str, Any],
    region: str,
    today: date,
    *,
    full_url: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> ImportItem | Rejection:
    try:
        return record_from_fhir(resource, region, today=today, full_url=full_url, urls=urls)
    except RecordError as bad:
        return Rejection(str(path), position, str(bad))


def _read_csv(path: Path, region: str, today: date) -> Iterator[Positioned]:
    import csv  # an import is rare: an idle console does not hold the csv module

    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = BoundedLines(handle, MAX_LINE_CHARS)
        reader = csv.reader(lines)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFileError(f"{path}: line 1: not CSV ({exc})") from None
        except LineTooLongError:
            raise ImportFileError(f"{path}: line 1: {_TOO_LONG}: not a CSV header") from None
        columns = [name.strip().lower() for name in header or []]
        if "mrn" not in columns:
            raise ImportFileError(
                f"{path}: the first line must be a header with an 'mrn' column "
                "(columns: mrn, family, given, birth_date, phone, language, interpreter, flags)"
            )
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                position = f"line {lines.number}"
                yield position, Rejection(str(path), position, f"not CSV ({exc})")
                continue
            except LineTooLongError as exc:
                position = f"line {exc.number}"
                yield position, Rejection(str(path), position, _TOO_LONG)
                continue
            if not any(cell.strip() for cell in row):
                continue
            position = f"line {lines.number}"
            fields = {name: cell.strip() for name, cell in zip(columns, row, strict=False)}
            item: ImportItem | Rejection
            try:
                item = record_from_csv_row(fields, region, today)
            except RecordError as bad:
                item = Rejection(str(path), position, str(bad))
            yield position, item
