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

CSV columns (a header row is required; names are case-insensitive, unknown
columns are ignored; ``mrn`` and a name are required):

``mrn``
    the medical record number (required; printable, at most 64 characters).
``family``, ``given``
    names; several given names separated by spaces. At least one is required.
``birth_date``
    ``YYYY-MM-DD``, a real date, not in the future nor more than 130 years ago.
``phone``
    one or more numbers separated by ``;``, in any common format; numbers
    without a country code use the configured region (``sip.dial.region``).
``language``
    preferred language code (``en``, ``es``, ``zh`` ...).
``interpreter``
    ``yes`` or ``no`` (also ``true``/``false``, ``1``/``0``; empty: no).
``flags``
    ``;``-separated: ``hearing_impaired``, ``minor``, ``guardian_restriction``,
    ``do_not_disclose``.

FHIR Patient mapping: the MRN is the identifier whose type has the v2-0203
code ``MR``, else the first identifier; the official name (else the first);
``birthDate``; ``telecom`` phones and SMS numbers (``use: old`` is skipped:
an old number may belong to someone else now); the preferred
``communication`` language; the ``patient-interpreterRequired`` extension;
flags as ``meta.tag`` codes in the :data:`FLAG_SYSTEM` code system; the
resource ``id``, which Appointment, MedicationRequest and CareTeam resources
name as ``Patient/<id>`` (those are read by :mod:`fhir_clinical`, in any order
and from any file: a Bundle, NDJSON, or FHIR bulk export's per-type files).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
from console.core.patients.fhir_clinical import CLINICAL_TYPES, clinical_from_fhir
from console.core.patients.phones import normalise
from console.core.patients.records import (
    FLAGS,
    ImportItem,
    PatientRecord,
    RecordError,
    Rejection,
)

__all__ = [
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

FLAG_SYSTEM = "https://careline.invalid/fhir/CodeSystem/patient-flag"
"""``meta.tag`` system of careline's patient flags (codes as in :data:`FLAGS`)."""
INTERPRETER_EXTENSION = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
"""The standard FHIR extension for "needs an interpreter" (``valueBoolean``)."""

Format = Literal["fhir", "ndjson", "csv"]
FORMATS: tuple[Format, ...] = ("fhir", "ndjson", "csv")

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

MAX_MRN_CHARS = 64
MAX_NAME_CHARS = 100
"""Longest family name, and longest given names together."""
MAX_LANGUAGE_CHARS = 35
OLDEST_YEARS = 130
"""A birth date further back than this is a typo (1089 for 1989), not a patient."""

_FHIR_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
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
        fhir_id = _fhir_id(resource)
        try:
            urls[entry["fullUrl"]] = (
                f"id:{fhir_id}" if fhir_id else f"mrn:{_fhir_mrn(resource.get('identifier'))}"
            )
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


def record_from_fhir(
    resource: Mapping[str, Any],
    region: str,
    *,
    today: date | None = None,
    full_url: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> ImportItem:
    """Any resource careline imports as a record; raises :class:`RecordError`."""
    if resource.get("resourceType") in CLINICAL_TYPES:
        return clinical_from_fhir(resource, full_url, urls)
    return patient_from_fhir(resource, region, today=today)


def patient_from_fhir(
    resource: Mapping[str, Any], region: str, *, today: date | None = None
) -> PatientRecord:
    """A FHIR R4 Patient resource as a record; raises :class:`RecordError` if it is bad."""
    today = today or datetime.now(UTC).date()
    kind = resource.get("resourceType")
    if kind != "Patient":
        if not isinstance(kind, str) or not kind:
            raise RecordError("no resourceType")
        raise RecordError(
            f"unsupported resourceType {_short(kind)!r} "
            f"(imported: Patient, {', '.join(CLINICAL_TYPES)})"
        )
    mrn = _check_mrn(_fhir_mrn(resource.get("identifier")))
    family, given = _check_names(*_fhir_name(resource.get("name")))
    birth = resource.get("birthDate")
    if birth is not None:
        birth = _check_date(birth, today, full=False)
    return PatientRecord(
        mrn=mrn,
        family_name=family,
        given_names=given,
        birth_date=birth,
        preferred_language=_check_language(_fhir_language(resource.get("communication"))),
        interpreter_needed=_fhir_interpreter(resource.get("extension")),
        flags=_fhir_flags(resource.get("meta")),
        phones=_fhir_phones(resource.get("telecom"), region),
        source="fhir",
        fhir_id=_fhir_id(resource),
    )


def _fhir_id(resource: Mapping[str, Any]) -> str | None:
    value = resource.get("id")
    if not isinstance(value, str) or not value.strip():
        return None
    if not _FHIR_ID.match(value.strip()):
        raise RecordError("bad resource id (expected 1 to 64 letters, digits, '-' or '.')")
    return value.strip()


def _fhir_mrn(identifiers: Any) -> str:
    if not isinstance(identifiers, list) or not identifiers:
        raise RecordError("missing MRN (no identifier)")
    chosen = identifiers[0]
    for identifier in identifiers:
        if not isinstance(identifier, dict):
            continue
        coding = (identifier.get("type") or {}).get("coding") or []
        if any(isinstance(c, dict) and c.get("code") == "MR" for c in coding):
            chosen = identifier
            break
    value = chosen.get("value") if isinstance(chosen, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise RecordError("missing MRN (the identifier has no value)")
    return value.strip()


def _fhir_name(names: Any) -> tuple[str, str]:
    if not isinstance(names, list) or not names:
        return "", ""
    usable = [n for n in names if isinstance(n, dict)]
    if not usable:
        raise RecordError("name is not a list of HumanName objects")
    chosen = next((n for n in usable if n.get("use") == "official"), usable[0])
    family = chosen.get("family", "")
    given = chosen.get("given", [])
    if not isinstance(family, str) or not isinstance(given, list):
        raise RecordError("name has a family that is not text or a given that is not a list")
    return family.strip(), " ".join(str(g).strip() for g in given if str(g).strip())


def _fhir_language(communication: Any) -> str | None:
    if not isinstance(communication, list):
        return None
    items = [c for c in communication if isinstance(c, dict)]
    chosen = next((c for c in items if c.get("preferred") is True), items[0] if items else None)
    if chosen is None:
        return None
    language = chosen.get("language") or {}
    for coding in language.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"]).strip() or None
    text = language.get("text")
    return text.strip() if isinstance(text, str) and text.strip() else None


def _fhir_interpreter(extensions: Any) -> bool:
    for extension in extensions if isinstance(extensions, list) else []:
        if isinstance(extension, dict) and extension.get("url") == INTERPRETER_EXTENSION:
            return extension.get("valueBoolean") is True
    return False


def _fhir_flags(meta: Any) -> frozenset[str]:
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return frozenset(
        tag["code"]
        for tag in (tags if isinstance(tags, list) else [])
        if isinstance(tag, dict) and tag.get("system") == FLAG_SYSTEM and tag.get("code") in FLAGS
    )


def _fhir_phones(telecom: Any, region: str) -> tuple[tuple[str, str], ...]:
    phones: dict[str, str] = {}
    for index, point in enumerate(telecom if isinstance(telecom, list) else []):
        if not isinstance(point, dict) or point.get("system") not in ("phone", "sms"):
            continue
        use = point.get("use") or ("mobile" if point.get("system") == "sms" else "home")
        if use == "old":
            continue
        value = point.get("value")
        e164 = normalise(value, region) if isinstance(value, str) else None
        if e164 is None:
            raise RecordError(f"unparseable phone number (telecom {index})")
        phones.setdefault(e164, str(use))
    return tuple(phones.items())


def _check_date(value: Any, today: date, *, full: bool) -> str:
    expected = "YYYY-MM-DD" if full else "YYYY, YYYY-MM or YYYY-MM-DD"
    if not isinstance(value, str) or not _FHIR_DATE.match(value) or (full and len(value) != 10):
        raise RecordError(f"bad birth date (expected {expected})")
    year, month, day = (value.split("-") + ["01", "01"])[:3]
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        raise RecordError("bad birth date (no such day)") from None
    if born > today:
        raise RecordError("bad birth date (in the future)")
    if born.year < today.year - OLDEST_YEARS:
        raise RecordError(f"bad birth date (more than {OLDEST_YEARS} years ago)")
    return value


def _check_mrn(value: str) -> str:
    if not value:
        raise RecordError("missing MRN")
    if len(value) > MAX_MRN_CHARS:
        raise RecordError(f"bad MRN (longer than {MAX_MRN_CHARS} characters)")
    if not value.isprintable():
        raise RecordError("bad MRN (control or other non-printable characters)")
    return value


def _check_names(family: str, given: str) -> tuple[str, str]:
    """Both names, checked: at least one of them, printable, of a bounded length."""
    if not family and not given:
        raise RecordError("missing name (family and given are both empty)")
    for field, value in (("family", family), ("given", given)):
        if len(value) > MAX_NAME_CHARS:
            raise RecordError(f"bad {field} name (longer than {MAX_NAME_CHARS} characters)")
        if not value.isprintable():
            raise RecordError(f"bad {field} name (control or other non-printable characters)")
    return family, given


def _check_language(value: str | None) -> str | None:
    if value is not None and (len(value) > MAX_LANGUAGE_CHARS or not value.isprintable()):
        raise RecordError("bad language (expected a code such as en or es-MX)")
    return value


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def _read_csv(path: Path, region: str, today: date) -> Iterator[Positioned]:
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
                item = _from_csv_row(fields, region, today)
            except RecordError as bad:
                item = Rejection(str(path), position, str(bad))
            yield position, item


def _from_csv_row(fields: dict[str, str], region: str, today: date) -> PatientRecord:
    mrn = _check_mrn(fields.get("mrn", ""))
    family, given = _check_names(
        fields.get("family", ""), " ".join(fields.get("given", "").split())
    )
    birth = fields.get("birth_date", "")
    birth_date = _check_date(birth, today, full=True) if birth else None
    phones: dict[str, str] = {}
    for index, text in enumerate(p for p in fields.get("phone", "").split(";") if p.strip()):
        e164 = normalise(text, region)
        if e164 is None:
            raise RecordError(f"unparseable phone number (phone {index + 1})")
        phones.setdefault(e164, "home")
    interpreter = fields.get("interpreter", "").lower()
    if interpreter not in _YES | _NO:
        raise RecordError("bad interpreter value (expected yes or no)")
    flags: set[str] = set()
    for text in fields.get("flags", "").split(";"):
        name = re.sub(r"[\s-]+", "_", text.strip().lower())
        if not name:
            continue
        if name not in FLAGS:
            raise RecordError(f"unknown flag (expected some of: {', '.join(FLAGS)})")
        flags.add(name)
    return PatientRecord(
        mrn=mrn,
        family_name=family,
        given_names=given,
        birth_date=birth_date,
        preferred_language=_check_language(fields.get("language") or None),
        interpreter_needed=interpreter in _YES,
        flags=frozenset(flags),
        phones=tuple(phones.items()),
        source="csv",
    )
