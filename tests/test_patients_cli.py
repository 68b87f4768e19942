# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline patients`` through the real command line: output and exit codes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.careline_cli import careline


def test_generate_import_reimport_and_lookup(tmp_path: Path) -> None:
    out = tmp_path / "p.ndjson"
    assert (
        careline(
            "patients",
            "generate",
            "--count",
            "1200",
            "--seed",
            "5",
            "--patients-only",
            "--out",
            str(out),
        ).returncode
        == 0
    )

    first = careline("patients", "import", str(out))
    again = careline("patients", "import", str(out))

    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert first.stdout == f"{out}: 1200 imported, 0 updated, 0 rejected\n"
    assert again.stdout == f"{out}: 0 imported, 1200 updated, 0 rejected\n"
    number = out.read_text(encoding="utf-8").split('"value":"+1', 2)[2][:10]
    found = careline("patients", "lookup", f"({number[:3]}) {number[3:6]}-{number[6:]}")
    assert found.returncode == 0
    assert "SYN5-00000001" in found.stdout
    missing = careline("patients", "lookup", "+1 202 555 0100")
    assert (missing.returncode, missing.stdout) == (1, "no patient with +12025550100\n")
    assert careline("patients", "lookup", "anonymous").returncode == 2


def test_generated_clinical_context_is_imported_and_counted(tmp_path: Path) -> None:
    out = tmp_path / "care.ndjson"
    assert careline("patients", "generate", "--count", "300", "--out", str(out)).returncode == 0
    kinds = Counter(json.loads(line)["resourceType"] for line in out.read_text().splitlines())
    assert kinds["Patient"] == 300
    assert kinds["PractitionerRole"] == 200
    assert kinds["Appointment"] > 0
    assert kinds["MedicationRequest"] > 0
    assert kinds["CareTeam"] > 0

    first = careline("patients", "import", str(out))
    again = careline("patients", "import", str(out))

    assert (first.returncode, again.returncode) == (0, 0), first.stderr
    written = (
        f"  also written: {kinds['Appointment']} appointments, "
        f"{kinds['MedicationRequest']} medications, {kinds['CareTeam']} care teams, "
        "200 practitioner roles\n"
    )
    assert first.stdout == f"{out}: 300 imported, 0 updated, 0 rejected\n" + written
    assert again.stdout == f"{out}: 0 imported, 300 updated, 0 rejected\n" + written


def test_rejections_and_unreadable_files_set_the_exit_code(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("mrn,family,phone\nA1,Lee,202 555 0142\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("mrn,family,phone\nB1,Lee,202 555\n,NoMrn,\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("mrn,family\nC1,Müller\n".encode("latin-1"))

    assert careline("patients", "import", str(good)).returncode == 0
    rejected = careline("patients", "import", str(good), str(bad))
    unreadable = careline("patients", "import", str(latin), str(good))

    assert rejected.returncode == 1
    assert rejected.stdout.splitlines() == [
        f"{good}: 0 imported, 1 updated, 0 rejected",
        f"{bad}: 0 imported, 0 updated, 2 rejected",
        f"  rejected: {bad}: line 2: unparseable phone number (phone 1)",
        f"  rejected: {bad}: line 3: missing MRN",
        "total: 0 imported, 1 updated, 2 rejected",
    ]
    assert unreadable.returncode == 2
    assert "not UTF-8 text (byte 0xfc on line 2)" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
    assert f"{good}: 0 imported, 1 updated, 0 rejected" in unreadable.stdout


def test_generate_with_import_fills_the_directory() -> None:
    result = careline("patients", "generate", "--count", "300", "--seed", "9", "--import")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("generated patients: 300 imported, 0 updated, 0 rejected\n")
    assert "200 practitioner roles" in result.stdout
