# SPDX-License-Identifier: GPL-2.0-or-later
"""The unknown-caller search: one line the agent types, turned into criteria and a query.

What the agent may type, in any order and combination (criteria AND together):

- a date of birth in a form :func:`parse_date` takes (``1980-02-03``,
  ``02/03/1980``, ``03.02.1980``);
- a phone number in any common form (at least seven digits), spaces allowed;
- an MRN, typed exactly as the directory holds it (or in upper case);
- name words: every word must start a word of the family name or of the
  given names, and one word of two letters or more must start the family
  name or the given names as a whole (that word picks the index range to
  read), so "smith jo" and "jo smith" both find John Smith, and "smith m"
  finds Joanna Maria Smith. Hyphens split words.

Names compare without case or accents through the search keys of migration
0004 (``family_key``, ``given_key``): generated columns that SQLite computes
with the same folding as :func:`search_key`, so the query can use an index.
``%``, ``_`` and quotes are plain characters here: values are bound
parameters and names are matched with ranges and ``instr``, never ``LIKE``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from console.core.patients.directory import SUMMARY_COLUMNS, summary_from_row
from console.core.patients.phones import normalise
from console.core.patients.records import PatientSummary
from console.core.patients.verification import parse_date
from console.core.records import dataclass
from console.core.store import Store

HINT = "type at least two letters of a name, a date of birth, an MRN or a phone number"
"""What a search needs, shown when a query holds nothing to search by."""

COUNT_CAP = 500
"""Further matches are counted up to this many (``SearchResult.more_count``)."""

FOLDED_CHARS = 24
"""Characters of a name folded for accents; past these, only ASCII case is folded.

The generated column spells out one term per character (SQLite has no
translate function), so the migration grows with this number.
"""

_MAX_QUERY = 200  # characters: longer is a paste accident, not a search
_MAX_NAME_WORDS = 6  # bounds the size of the SQL a query can produce
_MIN_PHONE_DIGITS = 7
_PHONEISH = re.compile(r"^[\d+().\-/]+$")
_URI = re.compile(r"^(?:tel|sips?):", re.IGNORECASE)  # a number pasted from a SIP header
_SPLIT = re.compile(r"[\s,]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Letters NFKD does not take apart, and apostrophes, which names drop ("O'Brien").
_EXTRA_FOLDS = {
    "'": "",
    "\u2019": "",
    "ß": "ss",
    "Æ": "ae",
    "æ": "ae",
    "Ð": "d",
    "ð": "d",
    "Ø": "o",
    "ø": "o",
    "Þ": "th",
    "þ": "th",
    "Đ": "d",
    "đ": "d",
    "Ħ": "h",
    "ħ": "h",
    "ı": "i",
    "ĸ": "k",
    "Ł": "l",
    "ł": "l",
    "Ŋ": "n",
    "ŋ": "n",
    "Œ": "oe",
    "œ": "oe",
    "Ŧ": "t",
    "ŧ": "t",
    "ſ": "s",
}


def _fold_table() -> dict[str, str]:
    """Latin-1 and Latin Extended-A letters to lower-case ASCII (one or two letters)."""
    table = dict(_EXTRA_FOLDS)
    for code in range(0xC0, 0x180):
        ch = chr(code)
        if ch in table or not ch.isalpha():
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii() and base.isalpha() and len(base) <= 2:
            table[ch] = base.lower()
    return table


_FOLD = _fold_table()


class SearchError(Exception):
    """The query cannot be searched as typed (the message is for the agent, no PHI)."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a search found: the first matches, and whether there are more."""

    matches: tuple[PatientSummary, ...]
    """In order of family name, given names, birth date."""
    more: bool
    """More patients matched than ``matches`` holds: the agent should refine."""
    more_count: int
    """How many more matched, counted up to about :data:`COUNT_CAP` (0 when ``more`` is false)."""
    more_capped: bool
    """The count stopped at the cap: there may be many more than ``more_count``."""
    criteria: str
    """What was searched by, for the agent and the audit (``"name, birth date"``): no PHI."""


@dataclass(frozen=True, slots=True, repr=False)
class Criteria:
    """A query taken apart (its ``repr`` hides the values: they may be PHI)."""

    names: tuple[str, ...] = ()
    """Name words as search keys (see :func:`search_key`)."""
    birth_dates: tuple[str, ...] = ()
    """ISO dates."""
    phones: tuple[str, ...] = ()
    """E.164 numbers."""
    mrns: tuple[str, ...] = ()

    def describe(self) -> str:
        """The kinds of criteria, e.g. ``"name, birth date"``."""
        kinds = [
            label
            for label, values in (
                ("name", self.names),
                ("birth date", self.birth_dates),
                ("MRN", self.mrns),
                ("phone", self.phones),
            )
            if values
        ]
        return ", ".join(kinds)

    def __repr__(self) -> str:
        return f"Criteria({self.describe()!r})"


def search_key(text: str) -> str:
    """``text`` folded as the ``family_key`` and ``given_key`` columns fold names.

    Lower case, accents removed and apostrophes dropped in the first
    :data:`FOLDED_CHARS` characters; only ASCII case folded after them.
    Must agree with :func:`key_sql`, which wrote migration 0004.
    """
    head = "".join(_FOLD.get(ch, ch.translate(_ASCII_LOWER)) for ch in text[:FOLDED_CHARS])
    return head + text[FOLDED_CHARS:].translate(_ASCII_LOWER)


def key_sql(column: str) -> str:
    """The SQL expression computing :func:`search_key` of ``column`` (used in migration 0004).

    Names of plain ASCII letters take the short branch (``lower``). Otherwise
    each of the first characters is looked up in a string of the folded
    characters: its position selects a two-letter slot of replacements
    (``*`` pads a slot; ``#``, the slot for "not found", stands for the
    character itself). A character past the end is the empty string, which
    ``instr`` finds at position 1, the apostrophe's slot, which is empty too.
    """
    ordered = ["'"] + sorted(ch for ch in _FOLD if ch != "'")
    source = "".join(ordered).replace("'", "''")
    slots = "".join(_FOLD[ch].ljust(2, "*") for ch in ordered) + "#"

    def one(position: int) -> str:
        char = f"substr({column}, {position}, 1)"
        slot = f"substr('{slots}', 2 * instr('{source}', {char}) - 1, 2)"
        return f"replace(replace({slot}, '*', ''), '#', lower({char}))"

    terms = "\n        || ".join(one(position) for position in range(1, FOLDED_CHARS + 1))
    return (
        f"CASE WHEN {column} GLOB '*[^ -&(-~]*' THEN\n"
        f"        {terms}\n"
        f"        || lower(substr({column}, {FOLDED_CHARS + 1}))\n"
        f"    ELSE lower({column}) END"
    )


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _phone(tokens: list[str], region: str) -> str | None:
    joined = "".join(tokens)
    if _digits(joined) < _MIN_PHONE_DIGITS:
        return None
    return normalise(joined, region)


async def parse_query(store: Store, region: str, query: str) -> Criteria:
    """Take ``query`` apart into criteria; raises :class:`SearchError` if none are usable.

    MRNs are told from name words by looking them up, hence the store.
    """
    # Control, format and unassigned characters (a paste from a SIP header,
    # bidi marks) separate words; none of them belongs in a search.
    text = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch
        for ch in unicodedata.normalize("NFC", query)
    ).strip()
    if len(text) > _MAX_QUERY:
        raise SearchError(f"the search is too long (at most {_MAX_QUERY} characters)")
    tokens = [token for token in _SPLIT.split(text) if token]
    dates: list[str] = []
    phones: list[str] = []
    rest: list[str] = []
    run: list[str] = []  # consecutive phone-like tokens: a number typed with spaces

    def close_run() -> None:
        start = 0
        while start < len(run):
            # The longest stretch from ``start`` that is a number wins.
            for end in range(len(run), start, -1):
                number = _phone(run[start:end], region)
                if number is not None:
                    phones.append(number)
                    start = end
                    break
            else:
                rest.append(run[start])
                start += 1
        run.clear()

    for token in tokens:
        born = parse_date(token)
        if born is not None:
            close_run()
            dates.append(born.isoformat())
        elif _PHONEISH.match(token) and any(ch.isdigit() for ch in token):
            run.append(token)
        else:
            close_run()
            number = _phone([token], region) if _URI.match(token) else None
            (phones if number else rest).append(number or token)
    close_run()

    mrns = await _known_mrns(store, rest)
    names: list[str] = []
    for token in rest:
        if token in mrns:
            continue
        if any(ch.isdigit() for ch in token):
            raise SearchError(
                "a number must be a full date of birth (YYYY-MM-DD, MM/DD/YYYY or "
                "DD.MM.YYYY), a phone number or an MRN"
            )
        names.extend(word for word in (search_key(w) for w in token.split("-")) if word)
    if len(names) > _MAX_NAME_WORDS:
        raise SearchError(f"type at most {_MAX_NAME_WORDS} name words")
    criteria = Criteria(
        names=tuple(dict.fromkeys(names)),
        birth_dates=tuple(dict.fromkeys(dates)),
        phones=tuple(dict.fromkeys(phones)),
        mrns=tuple(dict.fromkeys(mrns[t] for t in rest if t in mrns)),
    )
    anchored = any(len(word) >= 2 for word in criteria.names)
    if not (anchored or criteria.birth_dates or criteria.phones or criteria.mrns):
        raise SearchError(HINT)
    return criteria


async def _known_mrns(store: Store, tokens: list[str]) -> dict[str, str]:
    """The tokens that are MRNs (as typed, or in upper case), mapped to the stored MRN."""
    if not tokens:
        return {}
    candidates = sorted({form for token in tokens for form in (token, token.upper())})
    rows = await store.fetch_all(
        f"SELECT mrn FROM patients WHERE mrn IN ({', '.join('?' * len(candidates))})",
        candidates,
    )
    stored = {str(row[0]) for row in rows}
    found: dict[str, str] = {}
    for token in tokens:
        for form in (token, token.upper()):
            if form in stored:
                found[token] = form
                break
    return found


def _prefix_range(column: str, prefix: str) -> tuple[str, list[str]]:
    """``column`` starts with ``prefix``, as a range an index on ``column`` can serve."""
    # The keys compare as BINARY (UTF-8 bytes, so code point order): every
    # string starting with the prefix sorts between it and the prefix with its
    # last character bumped by one.
    bumped = ord(prefix[-1]) + 1
    if 0xD800 <= bumped < 0xE000:  # surrogates cannot be encoded: skip past them
        bumped = 0xE000
    if bumped > 0x10FFFF:
        return f"({column} >= ?)", [prefix]  # nothing sorts after the last code point
    upper = prefix[:-1] + chr(bumped)
    return f"({column} >= ? AND {column} < ?)", [prefix, upper]


_WORD = "instr(' ' || replace(p.family_key || ' ' || p.given_key, '-', ' '), ' ' || ?) > 0"
"""A name word starts some word of the name (hyphens split words too)."""


def candidates_query(criteria: Criteria, cap: int) -> tuple[str, list[Any]]:
    """The SELECT (and its parameters) of up to ``cap`` patients matching ``criteria``.

    Rows are ``(family_key, given_key, *SUMMARY_COLUMNS)`` in no promised
    order, and a patient may come twice (found by two name words): sorting
    every match of a broad query ("jo" finds a tenth of a large directory)
    would cost seconds, so the search stops at ``cap`` and sorts what it has.

    A date of birth, an MRN or a phone number picks a handful of rows through
    its index, and the name words only filter those. Names alone read one
    index range per word and column (``UNION ALL`` rather than ``OR``: with
    ``OR`` SQLite fetches every candidate's row and recomputes its keys,
    which for an accented name costs far more than reading them from the
    index, and both indexes hold both keys).
    """
    words = [_WORD] * len(criteria.names)
    names = list(criteria.names)
    exact: list[str] = []
    params: list[Any] = []
    for born in criteria.birth_dates:
        exact.append("p.birth_date = ?")
        params.append(born)
    for mrn in criteria.mrns:
        exact.append("p.mrn = ?")
        params.append(mrn)
    for e164 in criteria.phones:
        exact.append("p.id IN (SELECT patient_id FROM patient_phones WHERE e164 = ?)")
        params.append(e164)
    if exact:
        return (
            f"SELECT p.family_key, p.given_key, {SUMMARY_COLUMNS} FROM patients p "
            f"WHERE {' AND '.join(exact + words)} LIMIT ?",
            [*params, *names, cap],
        )
    branches: list[str] = []
    for word in (word for word in criteria.names if len(word) >= 2):
        for column in ("p.family_key", "p.given_key"):
            term, bounds = _prefix_range(column, word)
            branches.append(
                "SELECT p.rowid AS row_id, p.family_key AS family_key, p.given_key AS given_key "
                f"FROM patients p WHERE {' AND '.join([term, *words])}"
            )
            params.extend([*bounds, *names])
    if not branches:  # parse_query refuses such criteria; this is a programming error
        raise SearchError(HINT)
    return (
        f"SELECT m.family_key, m.given_key, {SUMMARY_COLUMNS} "
        f"FROM ({' UNION ALL '.join(branches)}) m JOIN patients p ON p.rowid = m.row_id "
        "LIMIT ?",
        [*params, cap],
    )


async def search_patients(
    store: Store, region: str, query: str, *, limit: int = 20
) -> SearchResult:
    """Search the directory for what the agent typed; the first ``limit`` matches.

    Matches are in order of family name, given names, date of birth. When
    more than ``limit`` + :data:`COUNT_CAP` patients match, they are the
    first ``limit`` of those the index gave first (the agent must refine
    anyway). ``region`` applies to phone numbers typed without a country
    code (config ``sip.dial.region``). Raises :class:`SearchError` when the
    query holds nothing to search by. Auditing is the caller's job.
    """
    criteria = await parse_query(store, region, query)
    rows = await store.fetch_all(*candidates_query(criteria, limit + COUNT_CAP))
    unique = list({row[2]: row for row in rows}.values())
    unique.sort(key=_name_order)
    more_count = max(0, len(unique) - limit)
    return SearchResult(
        matches=tuple(summary_from_row(row[2:]) for row in unique[:limit]),
        more=more_count > 0,
        more_count=more_count,
        more_capped=len(rows) >= limit + COUNT_CAP,
        criteria=criteria.describe(),
    )


def _name_order(row: tuple[Any, ...]) -> tuple[str, str, str, str]:
    """Family key, given key, birth date, id (rows of :func:`candidates_query`)."""
    family_key, given_key, patient_id, _mrn, _family, _given, born = row[:7]
    return (family_key, given_key, born or "", patient_id)


def birth_year(patient: PatientSummary) -> str:
    """The year of birth alone, or ``"?"``: what a pick list may show before verification."""
    born = patient.birth_date or ""
    return born[:4] if len(born) >= 4 and born[:4].isdigit() else "?"


__all__ = [
    "COUNT_CAP",
    "HINT",
    "Criteria",
    "SearchError",
    "SearchResult",
    "birth_year",
    "key_sql",
    "candidates_query",
    "parse_query",
    "search_key",
    "search_patients",
]
