# SPDX-License-Identifier: GPL-2.0-or-later
"""The unknown-caller search: query parsing, SQL on the real store, and the pick dialog."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label, OptionList

import console.core.store as store_module
from console.core.patients.directory import PatientDirectory
from console.core.patients.records import PatientRecord, PatientSummary
from console.core.patients.search import (
    _FOLD,
    COUNT_CAP,
    HINT,
    SearchError,
    SearchResult,
    candidates_query,
    key_sql,
    parse_query,
    search_key,
    search_patients,
)
from console.core.store import MIGRATIONS, Store
from console.dialogs.patient_search import PatientSearchDialog
from tests.console_app import screen_text, wait_for
from tests.patients import patient_record

SHARED_PHONE = "+12025550142"


def record(
    mrn: str, given: str, family: str, born: str | None, phone: str = "+13125550188"
) -> PatientRecord:
    return patient_record(mrn, given, family, born, phone=phone)


PATIENTS = [
    record("MRN-1", "John", "Smith", "1980-02-03", SHARED_PHONE),
    record("MRN-2", "Jane", "Smith", "1975-11-30", SHARED_PHONE),
    record("MRN-3", "Joanna Maria", "Smithson", "1980-02-03"),
    record("MRN-4", "Paul", "Johnson", "1980-02-03"),
    record("MRN-5", "María José", "López García", "1961-03-09", "+16175550123"),
    record("MRN-6", "Siobhán", "O'Brien", "1990-07-14"),
    record("MRN-7", "Zoë", "Øster-Łukasz", "2001-12-25"),
    record("MRN-8", "Anna", "Per%cent", "1955-05-05"),
    record("MRN-9", "Bob", "Under_score", "1956-06-06"),
    record("MRN-10", "Carl", "Perez", "1957-07-07"),
    record("MRN-11", "Dora", "Underwood", "1958-08-08"),
    record("mrn-lower", "Eve", "Adams", None),
    record("MRN-12", "[bold]x[/bold]", "[red]Evil[/red]", "1999-09-09"),
]


@pytest.fixture
async def store(store: Store) -> Store:
    """The shared fresh store (tests/conftest.py) with :data:`PATIENTS` imported."""
    await PatientDirectory(store, "US").import_records(PATIENTS)
    return store


async def mrns(store: Store, query: str, limit: int = 20) -> list[str]:
    return [p.mrn for p in (await search_patients(store, "US", query, limit=limit)).matches]


# ------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smith", ["MRN-2", "MRN-1", "MRN-3"]),  # family prefix, in name order
        ("SMITH", ["MRN-2", "MRN-1", "MRN-3"]),
        ("smith jo", ["MRN-1", "MRN-3"]),
        ("jo smith", ["MRN-1", "MRN-3"]),
        ("Smith, John", ["MRN-1"]),
        ("smiths", ["MRN-3"]),
        ("joanna", ["MRN-3"]),  # first given name alone
        ("smithson maria", ["MRN-3"]),  # a later given name
        ("jo", ["MRN-4", "MRN-1", "MRN-3"]),  # family Johnson, given John, Joanna
        ("lopez", ["MRN-5"]),  # accents folded both ways
        ("LÓPEZ garcía", ["MRN-5"]),
        ("maria jose", ["MRN-5"]),
        ("jose lopez", ["MRN-5"]),
        ("obrien", ["MRN-6"]),  # apostrophes dropped
        ("o'brien siobhan", ["MRN-6"]),
        ("oster lukasz", ["MRN-7"]),  # Ø and Ł have no decomposition
        ("øster-łukasz zoe", ["MRN-7"]),
        ("smith xavier", []),
        ("nobody", []),
    ],
)
async def test_name_words_match_family_and_given_name_prefixes(
    store: Store, query: str, expected: list[str]
) -> None:
    assert await mrns(store, query) == expected


async def test_single_letters_narrow_a_search_but_cannot_start_one(store: Store) -> None:
    assert await mrns(store, "smith j") == ["MRN-2", "MRN-1", "MRN-3"]
    assert await mrns(store, "smith m") == ["MRN-3"]
    with pytest.raises(SearchError, match=re.escape(HINT)):
        await search_patients(store, "US", "j")
    with pytest.raises(SearchError, match=re.escape(HINT)):
        await search_patients(store, "US", "j s")


# ---------------------------------------------------------- date, MRN, phone
@pytest.mark.parametrize(
    "typed", ["1980-02-03", "1980-2-3", "02/03/1980", "2/3/1980", "03.02.1980"]
)
async def test_date_of_birth_in_every_typed_form(store: Store, typed: str) -> None:
    result = await search_patients(store, "US", typed)
    assert [p.mrn for p in result.matches] == ["MRN-4", "MRN-1", "MRN-3"]
    assert result.criteria == "birth date"


async def test_an_impossible_date_is_not_a_date(store: Store) -> None:
    with pytest.raises(SearchError, match="full date of birth"):
        await search_patients(store, "US", "1980-02-30")


@pytest.mark.parametrize(("typed", "expected"), [("MRN-5", "MRN-5"), ("mrn-5", "MRN-5")])
async def test_mrn_exactly_or_in_upper_case(store: Store, typed: str, expected: str) -> None:
    result = await search_patients(store, "US", typed)
    assert [p.mrn for p in result.matches] == [expected]
    assert result.criteria == "MRN"


async def test_mrn_in_lower_case_as_stored(store: Store) -> None:
    assert await mrns(store, "mrn-lower") == ["mrn-lower"]


async def test_a_number_that_is_no_mrn_is_refused(store: Store) -> None:
    with pytest.raises(SearchError, match="an MRN") as caught:
        await search_patients(store, "US", "smith MRN-99")
    assert "99" not in str(caught.value)  # nothing typed is echoed


@pytest.mark.parametrize(
    "typed",
    [
        "+12025550142",
        "(202) 555-0142",
        "202 555 0142",
        "202.555.0142",
        "+1 202 555 0142",
        "1-202-555-0142",
        "tel:+1-202-555-0142",
        "sip:+12025550142@pbx.example;user=phone",
    ],
)
async def test_phone_in_several_formats(store: Store, typed: str) -> None:
    result = await search_patients(store, "US", typed)
    assert [p.mrn for p in result.matches] == ["MRN-2", "MRN-1"]
    assert result.criteria == "phone"


async def test_a_short_number_is_not_a_phone(store: Store) -> None:
    with pytest.raises(SearchError, match="phone number"):
        await search_patients(store, "US", "555 01")


# ------------------------------------------------------------- combinations
@pytest.mark.parametrize(
    ("query", "expected", "criteria"),
    [
        ("smith 1980-02-03", ["MRN-1", "MRN-3"], "name, birth date"),
        ("02/03/1980 smiths", ["MRN-3"], "name, birth date"),
        ("jo 02/03/1980", ["MRN-4", "MRN-1", "MRN-3"], "name, birth date"),
        ("smith (202) 555-0142", ["MRN-2", "MRN-1"], "name, phone"),
        ("jane 202 555 0142", ["MRN-2"], "name, phone"),
        ("1980-02-03 202-555-0142", ["MRN-1"], "birth date, phone"),
        ("MRN-1 1980-02-03", ["MRN-1"], "birth date, MRN"),
        ("MRN-1 1975-11-30", [], "birth date, MRN"),
    ],
)
async def test_criteria_combine_with_and(
    store: Store, query: str, expected: list[str], criteria: str
) -> None:
    result = await search_patients(store, "US", query)
    assert [p.mrn for p in result.matches] == expected
    assert result.criteria == criteria


async def test_limit_and_how_many_more(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "many.sqlite3")
    try:
        await PatientDirectory(store, "US").import_records(
            record(f"M{i:04}", f"Given{chr(97 + i % 26)}", "Manyfold", "1970-01-01")
            for i in range(COUNT_CAP + 40)
        )
        page = await search_patients(store, "US", "manyfold", limit=20)
        assert len(page.matches) == 20
        assert page.more
        assert page.more_count == COUNT_CAP
        assert page.more_capped
        assert [p.given_names for p in page.matches] == sorted(p.given_names for p in page.matches)

        # i % 26 == 25 for 20 of the patients
        some = await search_patients(store, "US", "manyfold givenz", limit=5)
        assert (len(some.matches), some.more, some.more_count, some.more_capped) == (
            5,
            True,
            15,
            False,
        )
        exact = await search_patients(store, "US", "manyfold givenz", limit=20)
        assert (len(exact.matches), exact.more, exact.more_count) == (20, False, 0)
    finally:
        await store.close()


# -------------------------------------------------------- hostile input
async def test_percent_and_underscore_are_literal(store: Store) -> None:
    assert await mrns(store, "per%") == ["MRN-8"]  # not Perez
    assert await mrns(store, "per") == ["MRN-8", "MRN-10"]
    assert await mrns(store, "under_") == ["MRN-9"]  # not Underwood
    assert await mrns(store, "%%") == []
    assert await mrns(store, "__") == []
    with pytest.raises(SearchError):
        await search_patients(store, "US", "%")


@pytest.mark.parametrize(
    "query",
    [
        "x' OR 'x'='x",
        "smith' OR ''='",
        'smith"; DROP TABLE patients; --',
        "' OR 1=1 --",
        "smith' --",
    ],
)
async def test_sql_in_the_query_is_just_text(store: Store, query: str) -> None:
    try:
        found = await mrns(store, query)
    except SearchError:
        found = []
    assert len(found) <= 3  # never "everyone"
    rows = await store.fetch_all("SELECT count(*) FROM patients")
    assert rows[0][0] == len(PATIENTS)


async def test_too_long_a_query_is_refused(store: Store) -> None:
    with pytest.raises(SearchError, match="too long"):
        await search_patients(store, "US", "smith " * 50)


@pytest.mark.parametrize("query", ["", "   ", "j", "-", "'", ",,,"])
async def test_nothing_to_search_by(store: Store, query: str) -> None:
    with pytest.raises(SearchError) as caught:
        await search_patients(store, "US", query)
    assert str(caught.value) == HINT


async def test_criteria_repr_shows_no_patient_data(store: Store) -> None:
    criteria = await parse_query(store, "US", "lopez 1961-03-09 MRN-5")
    assert repr(criteria) == "Criteria('name, birth date, MRN')"


# ------------------------------------------------------------ keys, indexes
async def test_generated_keys_agree_with_search_key(tmp_path: Path) -> None:
    folded = "".join(sorted(_FOLD))
    names = [folded[i : i + 20] for i in range(0, len(folded), 20)] + [
        "ÀB'c’D-É f",
        "x" * 23 + "ÉÉ",  # the 24th character is folded, the 25th only lower-cased
        "Plain Ascii Name",
        "tab\tand \x1b escape",
        "中文 العربية Ελληνικά",
        "",
    ]
    store = await Store.open(tmp_path / "keys.sqlite3")
    try:
        # Names the CSV import would refuse (control characters, none) go in as they are.
        await PatientDirectory(store, "US").import_records(
            replace(record(f"K{i}", "-", "-", None), family_name=name, given_names=name)
            for i, name in enumerate(names)
        )
        rows = await store.fetch_all("SELECT family_name, family_key, given_key FROM patients")
    finally:
        await store.close()
    assert len(rows) == len(names)
    for name, family_key, given_key in rows:
        assert family_key == given_key == search_key(name)
    assert search_key("x" * 23 + "ÉÉ") == "x" * 23 + "eÉ"


def test_the_migration_is_what_key_sql_writes() -> None:
    text = (MIGRATIONS / "0004_patient_search.sql").read_text(encoding="utf-8")
    assert key_sql("family_name") in text
    assert key_sql("given_names") in text


def plan_of(rows: list[tuple[object, ...]]) -> list[str]:
    return [str(row[-1]) for row in rows]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("smith", "patients_by_family_key"),
        ("smith jo", "patients_by_family_key"),
        ("jo", "patients_by_given_key"),
        ("1980-02-03", "patients_by_birth_date"),
        ("02/03/1980 smith", "patients_by_"),
        ("202 555 0142", "patient_phones_by_e164"),
    ],
)
async def test_searches_read_an_index_not_every_patient(
    store: Store, query: str, index: str
) -> None:
    criteria = await parse_query(store, "US", query)
    sql, params = candidates_query(criteria, 520)
    plan = plan_of(await store.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params))
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert any(step.startswith("SEARCH") and index in step for step in plan), plan


# ------------------------------------------------------------------ dialog
class SearchApp(App[int]):
    """Pushes the dialog over an empty screen and keeps what it returned."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.queries: list[str] = []
        self.returned: list[list[PatientSummary] | None] = []

    def compose(self) -> ComposeResult:
        yield Label("agent screen")

    async def search(self, query: str) -> SearchResult:
        self.queries.append(query)  # where the agent screen writes the audit row
        return await search_patients(self.store, "US", query, limit=2)

    def on_mount(self) -> None:
        self.push_screen(PatientSearchDialog(self.search), self.returned.append)


def options(app: SearchApp) -> list[str]:
    results = app.screen.query_one("#results", OptionList)
    return [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]


def label(app: SearchApp, name: str) -> str:
    return str(app.screen.query_one(name, Label).render())


async def test_dialog_searches_then_down_enter_picks(store: Store) -> None:
    app = SearchApp(store)
    async with app.run_test() as pilot:
        await pilot.press(*"jo smith", "enter")
        await wait_for(pilot, lambda: bool(options(app)), what="results")
        assert options(app) == ["Smith, John  born 1980", "Smithson, Joanna Maria  born 1980"]
        assert all("02-03" not in row for row in options(app))  # the year only
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    assert app.queries == ["jo smith"]
    picked = app.returned[0]
    assert picked is not None
    assert [p.mrn for p in picked] == ["MRN-3"]


async def test_dialog_says_how_many_more_and_shows_errors(store: Store) -> None:
    app = SearchApp(store)
    async with app.run_test() as pilot:
        await pilot.press(*"smith", "enter")
        await wait_for(pilot, lambda: "more" in label(app, "#status"), what="count")
        assert label(app, "#status") == "1 more: refine the search."
        app.screen.query_one("#query").clear()  # type: ignore[attr-defined]
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: bool(label(app, "#error")), what="error")
        assert (
            label(app, "#error")
            == "Type at least two letters of a name, a date of birth, an MRN or a phone number."
        )
        await pilot.press("backspace", *"nobody", "enter")
        await wait_for(pilot, lambda: "No patient" in label(app, "#status"), what="none")
        assert options(app) == []
        assert label(app, "#error") == ""
        await pilot.press("down", "enter")  # nothing to pick: stays open
        await pilot.pause()
        assert not app.returned


async def test_escape_cancels(store: Store) -> None:
    app = SearchApp(store)
    async with app.run_test() as pilot:
        await pilot.press(*"smith", "enter")
        await wait_for(pilot, lambda: bool(options(app)), what="results")
        await pilot.press("down", "escape")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    assert app.returned == [None]


async def test_markup_in_names_is_shown_literally(store: Store) -> None:
    app = SearchApp(store)
    async with app.run_test() as pilot:
        await pilot.press(*"1999-09-09", "enter")
        await wait_for(pilot, lambda: bool(options(app)), what="results")
        assert options(app) == ["[red]Evil[/red], [bold]x[/bold]  born 1999"]
        screen = screen_text(app)
        assert "[red]Evil[/red], [bold]x[/bold]" in screen


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smith\x00", ["MRN-2", "MRN-1", "MRN-3"]),
        ("smith\u202e", ["MRN-2", "MRN-1", "MRN-3"]),
        ("\x1bsmith", ["MRN-2", "MRN-1", "MRN-3"]),  # an escape separates words
        ("\ud7fb\ud7fb", []),  # bumping the last character must skip the surrogates
        ("zz\U0010fffd", []),  # private use: dropped
    ],
)
async def test_odd_characters_do_not_break_the_query(
    store: Store, query: str, expected: list[str]
) -> None:
    assert await mrns(store, query) == expected


async def test_upgrading_a_store_that_holds_patients_indexes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = tmp_path / "migrations"
    older.mkdir()
    for script in sorted(MIGRATIONS.glob("000[123]_*.sql")):
        (older / script.name).write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(store_module, "MIGRATIONS", older)
    path = tmp_path / "old.sqlite3"
    old = await Store.open(path)
    async with old.transaction() as db:
        await db.execute(
            "INSERT INTO patients (id, mrn, family_name, given_names, birth_date, source, "
            "updated_at) VALUES ('p1', 'OLD-1', 'Núñez', 'Ángel', '1950-01-02', 'csv', 'now')"
        )
    await old.close()
    monkeypatch.undo()

    upgraded = await Store.open(path)
    try:
        assert await mrns(upgraded, "nunez angel") == ["OLD-1"]
        assert await mrns(upgraded, "01/02/1950") == ["OLD-1"]
    finally:
        await upgraded.close()
