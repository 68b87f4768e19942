# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline patients import`` cannot wipe or forge patients, and stops cleanly.

Each case runs the real CLI in a subprocess (under the memory ceiling of
tests.limited_run) against a real SQLite store named by a ``--config`` file,
and reads that store back with sqlite3 or ``careline patients lookup``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.limited_run import LimitedRun, run_limited

HEADER = "mrn,family,given,birth_date,phone,language,interpreter,flags\n"
LEE = "DEMO-0001,Lee,Ann Marie,1980-04-02,(202) 555-0142,en,no,\n"


@dataclass(frozen=True)
class Careline:
    """The CLI with a config whose store is ``store``."""

    tmp_path: Path
    store: Path

    def __call__(self, *args: str, file_size_limit: int | None = None) -> LimitedRun:
        config = self.tmp_path / "careline.yaml"
        config.write_text(f"store:\n  path: {self.store}\n", encoding="utf-8")
        return run_limited(
            "--config", str(config), *args, tmp_path=self.tmp_path, file_size_limit=file_size_limit
        )

    def count(self) -> int:
        # closing(): a connection left open would keep a small disk busy at umount
        with contextlib.closing(sqlite3.connect(self.store)) as db:
            return int(db.execute("SELECT count(*) FROM patients").fetchone()[0])


@pytest.fixture
def careline(tmp_path: Path) -> Careline:
    return Careline(tmp_path, tmp_path / "store" / "careline.sqlite3")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def clean(run: LimitedRun) -> list[str]:
    assert "Traceback" not in run.stderr, run.stderr
    return run.stdout.splitlines()


def test_a_row_that_would_blank_a_patient_is_rejected(careline: Careline, tmp_path: Path) -> None:
    assert (
        careline("patients", "import", str(write(tmp_path / "a.csv", HEADER + LEE))).returncode == 0
    )
    wipe = write(
        tmp_path / "wipe.csv",
        HEADER
        + "DEMO-0001,,,,,,,\n"
        + "DEMO-0001,Lee,Ann Marie,,(202) 555-0142,en,no,\n"
        + "DEMO-0001,Lee,Ann Marie,1980-04-02,,en,no,\n",
    )

    run = careline("patients", "import", str(wipe))

    assert run.returncode == 1
    assert clean(run) == [
        f"{wipe}: 0 imported, 0 updated, 3 rejected",
        f"  rejected: {wipe}: line 2: missing name (family and given are both empty)",
        f"  rejected: {wipe}: line 3: would remove the birth date of an existing patient "
        "(the file has none)",
        f"  rejected: {wipe}: line 4: would remove the phone numbers of an existing patient "
        "(the file has none)",
    ]
    found = careline("patients", "lookup", "202 555 0142")
    assert found.stdout.split("\t")[:3] == ["DEMO-0001", "Lee, Ann Marie", "1980-04-02"]


def test_malformed_values_are_rejected_by_position_and_field_never_echoed(
    careline: Careline, tmp_path: Path
) -> None:
    rows = [
        ["M\x07BELL", "Zebulon", "Quill", "1980-01-01", "", "", "", ""],
        ["M" * 65, "Zebulon", "Quill", "1980-01-01", "", "", "", ""],
        ["M3", "Zeb\x1b[2Julon", "Quill", "1980-01-01", "", "", "", ""],
        ["M4", "Zebulon", "Q" * 101, "1980-01-01", "", "", "", ""],
        ["M5", "Zebulon", "Quill", "2999-01-01", "", "", "", ""],
        ["M6", "Zebulon", "Quill", "1089-01-01", "", "", "", ""],
        ["M7", "Zebulon", "Quill", "1980-02-30", "", "", "", ""],
        ["M8", "Zebulon", "Quill", "1980-01-01", "555 0199 99", "", "", ""],
        ["M9", "Zebulon", "Quill", "1980-01-01", "", "\x00en", "", ""],
        ["M10", "Zebulon", "Quill", "1980-01-01", "+1 202 555 0143", "es", "", ""],
    ]
    text = io.StringIO()
    text.write(HEADER)
    csv.writer(text, lineterminator="\n").writerows(rows)
    path = write(tmp_path / "bad.csv", text.getvalue())

    run = careline("patients", "import", str(path))

    assert run.returncode == 1
    lines = clean(run)
    assert lines[0] == f"{path}: 1 imported, 0 updated, 9 rejected"
    assert [line.removeprefix(f"  rejected: {path}: ") for line in lines[1:]] == [
        "line 2: bad MRN (control or other non-printable characters)",
        "line 3: bad MRN (longer than 64 characters)",
        "line 4: bad family name (control or other non-printable characters)",
        "line 5: bad given name (longer than 100 characters)",
        "line 6: bad birth date (in the future)",
        "line 7: bad birth date (more than 130 years ago)",
        "line 8: bad birth date (no such day)",
        "line 9: unparseable phone number (phone 1)",
        "line 10: bad language (expected a code such as en or es-MX)",
    ]
    for value in ("Zebulon", "Quill", "BELL", "QQQ", "2999", "1089", "0199"):
        assert value not in run.stdout + run.stderr  # rejections carry no patient data
    assert careline.count() == 1


def test_dry_run_reports_and_writes_nothing(careline: Careline, tmp_path: Path) -> None:
    first = HEADER + LEE + "DEMO-0002,Diaz,Rosa,1975-06-30,+1 303 555 0101,es,yes,\n"
    assert careline("patients", "import", str(write(tmp_path / "a.csv", first))).returncode == 0
    second = write(
        tmp_path / "b.csv",
        HEADER
        + LEE
        + "DEMO-0002,Diaz,Rosa,1975-06-30,+1 303 555 0199,es,yes,\n"
        + "DEMO-0003,Okafor,Ada,1961-04-02,,,,\n"
        + "DEMO-0004,,,,,,,\n",
    )

    dry = careline("patients", "import", "--dry-run", str(second))

    assert dry.returncode == 1
    assert clean(dry) == [
        f"{second}: dry run, nothing written: 1 to add, 1 to update, 1 unchanged, 1 rejected",
        f"  rejected: {second}: line 5: missing name (family and given are both empty)",
    ]
    assert careline.count() == 2
    assert "DEMO-0002" in careline("patients", "lookup", "+1 303 555 0101").stdout

    real = careline("patients", "import", str(second))

    assert real.returncode == 1
    assert clean(real)[0] == f"{second}: 1 imported, 2 updated, 1 rejected"
    assert careline.count() == 3
    assert careline("patients", "lookup", "+1 303 555 0101").returncode == 1


def garbage(path: Path, size: int) -> Path:
    """Random printable and control characters, commas and newlines under a valid header."""
    rng = random.Random(1)
    alphabet = [chr(c) for c in range(1, 127)] + [",", "\n"] * 5
    return write(path, HEADER + "".join(rng.choices(alphabet, k=size)))


def test_random_text_under_a_header_is_refused(careline: Careline, tmp_path: Path) -> None:
    path = garbage(tmp_path / "noise.csv", 5_000_000)

    run = careline("patients", "import", str(path))

    assert run.returncode == 3
    lines = clean(run)
    assert lines[0].startswith(f"{path}: 0 imported, 0 updated, ")
    assert lines[-1].startswith("  stopped: ")
    assert lines[-1].endswith(
        "records of batch 1 (line 2 to line 564) are rejected: this does not look like a "
        "patient file; that batch and the rest were not imported"
    )
    assert len(lines) < 120  # the rejections listed are capped
    assert careline.count() == 0


def test_too_many_rejections_stop_before_the_batch_that_has_them(
    careline: Careline, tmp_path: Path
) -> None:
    rows = [f"P{n},Lee,Ann,1980-01-01,,,,\n" for n in range(1200)]
    for n in range(600, 612):
        rows[n] = f"P{n},Lee,Ann,not a date,,,,\n"
    path = write(tmp_path / "p.csv", HEADER + "".join(rows))

    run = careline("patients", "import", "--max-rejected", "10", str(path))

    assert run.returncode == 3
    lines = clean(run)
    assert lines[0] == f"{path}: 500 imported, 0 updated, 12 rejected"
    assert lines[-1] == (
        "  stopped: more than 10 records rejected; batch 2 (line 502 to line 1001) and the "
        "rest of the file were not imported: fix the file and import it again"
    )
    assert careline.count() == 500


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 2 MiB tmpfs for the store (unmounted after), or None where mounting is not allowed."""
    where = tmp_path / "small"
    where.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)]
    mounted = subprocess.run(mount, capture_output=True, check=False).returncode == 0
    yield where if mounted else None
    if mounted and subprocess.run(["umount", str(where)], check=False).returncode != 0:
        subprocess.run(["umount", "--lazy", str(where)], check=False)
        pytest.fail(f"{where} was still busy at unmount (detached lazily)")


@pytest.mark.parametrize("disk", ["tmpfs", "file size limit"])
def test_a_full_disk_stops_with_a_summary_and_the_same_import_resumes(
    tmp_path: Path, small_disk: Path | None, disk: str
) -> None:
    # On a tmpfs, SQLite's writes fail with ENOSPC; under RLIMIT_FSIZE (where the
    # test may not mount, e.g. an unprivileged container) they fail with EFBIG.
    use_tmpfs = disk == "tmpfs" and small_disk is not None
    store_dir = small_disk if use_tmpfs else tmp_path / "store"
    assert store_dir is not None
    careline = Careline(tmp_path, store_dir / "careline.sqlite3")
    limit = None if use_tmpfs else 2 << 20
    patients = tmp_path / "p.ndjson"
    made = careline(
        "patients", "generate", "--count", "5000", "--patients-only", "--out", str(patients)
    )
    assert made.returncode == 0, made.stderr

    full = careline("patients", "import", str(patients), file_size_limit=limit)

    assert full.returncode == 3, full
    lines = clean(full)
    imported = int(lines[0].removeprefix(f"{patients}: ").split()[0])
    batches = imported // 500
    assert 0 < imported < 5000
    assert imported == batches * 500
    assert lines[0] == f"{patients}: {imported} imported, 0 updated, 0 rejected"
    problem = "is full" if use_tmpfs else "reported an I/O error"
    assert lines[1].startswith(
        f"  stopped: batch {batches + 1} (line {imported + 1} to line {imported + 500}): "
        "the disk holding the local store "
    )
    assert problem in lines[1]
    assert lines[1].endswith("; nothing of this batch was written")
    assert lines[2] == (
        f"  the {batches} batches before it were written and are kept; once the store can be "
        "written again, import the same file again: records already imported are updated "
        "in place, not doubled"
    )
    assert careline.count() == imported

    if use_tmpfs:
        subprocess.run(["mount", "-o", "remount,size=64m", str(store_dir)], check=True)
    again = careline("patients", "import", str(patients))

    assert again.returncode == 0, again
    assert clean(again) == [
        f"{patients}: {5000 - imported} imported, {imported} updated, 0 rejected"
    ]
    assert careline.count() == 5000


@pytest.mark.parametrize("name", ["patients.json", "patients.txt", "patients.csv"])
def test_a_json_array_is_recognised_by_its_content(
    careline: Careline, tmp_path: Path, name: str
) -> None:
    resources = [
        {
            "resourceType": "Patient",
            "identifier": [{"value": f"J{n}"}],
            "name": [{"family": "Nguyen", "given": ["Anh"]}],
            "birthDate": "1980-04-02",
        }
        for n in range(2)
    ]
    path = write(tmp_path / name, json.dumps([*resources, "not a resource"], indent=1))

    run = careline("patients", "import", str(path))

    assert run.returncode == 1
    assert clean(run) == [
        f"{path}: 2 imported, 0 updated, 1 rejected",
        f"  rejected: {path}: item 2: not a JSON object",
    ]


def test_an_overlong_ndjson_line_is_one_rejection(careline: Careline, tmp_path: Path) -> None:
    good = {
        "resourceType": "Patient",
        "identifier": [{"value": "L1"}],
        "name": [{"family": "Nguyen"}],
    }
    path = write(
        tmp_path / "p.ndjson",
        json.dumps(good) + "\n" + '{"x": "' + "y" * (2 << 20) + '"}\n' + json.dumps(good) + "\n",
    )

    run = careline("patients", "import", str(path))

    assert run.returncode == 1
    assert clean(run) == [
        f"{path}: 1 imported, 1 updated, 1 rejected",
        f"  rejected: {path}: line 2: longer than the limit of 1,048,576 characters for one record",
    ]


def test_help_documents_dry_run_and_exit_codes(careline: Careline) -> None:
    run = careline("patients", "import", "--help")
    text = " ".join(run.stdout.split())
    assert "--dry-run" in text
    assert "--max-rejected N" in text
    assert "3 the import stopped part-way" in text
