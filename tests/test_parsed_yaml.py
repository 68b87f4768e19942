# SPDX-License-Identifier: GPL-2.0-or-later
"""The parsed-documents cache: a start with unchanged YAML imports no PyYAML, and nothing
in the cache (stale, forged, unwritable) ever changes what careline reads.

The checker's and the configuration's error messages are checked cold and warm in
tests/test_scripts_checker.py and tests/test_config.py (every case reads twice).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.core import parsed_yaml
from console.core.bounded_load import LimitError, Limits, YamlError
from console.core.config import ConfigError, load_config
from console.core.parsed_yaml import ParsedYaml, cache_dir
from console.core.scripts.loader import library_dir, load_library

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(max_bytes=10_000)
SCRIPT = "kind: script\nid: demo\ntitle: Demo\nversion: 1\nsteps:\n  - id: hi\n    say: {text}\n"


def bundle_files() -> list[Path]:
    return sorted(cache_dir().glob("*.json"))


def test_a_second_start_reads_config_and_scripts_without_pyyaml() -> None:
    """What the console reads at its start, twice in fresh interpreters (this one has
    PyYAML loaded already): the first composes, the second imports no PyYAML, and both
    read the same configuration and library."""
    probe = (
        "import sys\n"
        "from console.core.config import load_config\n"
        "from console.controllers.guidance import load_scripts\n"
        "config = load_config(environ={'CARELINE_SIP__LISTEN': '127.0.0.1:5999'})\n"
        "library = load_scripts(None)\n"
        "print(repr((config, library)) if 'yaml' not in sys.modules else 'PYYAML', end='')\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == "PYYAML"
    assert "5999" in runs[1]
    assert "Script(" in runs[1]
    cold = load_scripts_here()
    assert repr(cold) in runs[1]


def load_scripts_here() -> object:
    from console.controllers.guidance import load_scripts

    return load_scripts(None)


def test_the_shipped_library_reads_the_same_cold_and_warm() -> None:
    cold = load_library()
    assert bundle_files(), "the first read writes a bundle"
    warm = load_library()
    assert [d.document for d in warm.documents] == [d.document for d in cold.documents]
    assert warm.problems == cold.problems == ()
    assert len(warm.documents) == len(list(library_dir().rglob("*.yaml")))


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    script = tmp_path / "demo.yaml"
    script.write_text(SCRIPT.format(text="Hello"))
    assert load_library(tmp_path).scripts[0].steps[0].say == "Hello"
    script.write_text(SCRIPT.format(text="Goodbye"))  # same size, same second
    assert load_library(tmp_path).scripts[0].steps[0].say == "Goodbye"


def test_a_bundle_keeps_only_what_its_last_reading_used(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(SCRIPT.replace("demo", name).format(text=name))
    load_library(tmp_path)
    [bundle] = bundle_files()
    assert len(json.loads(bundle.read_text())["documents"]) == 2
    (tmp_path / "b.yaml").unlink()
    load_library(tmp_path)
    assert len(json.loads(bundle.read_text())["documents"]) == 1


def test_a_key_given_twice_is_reported_at_every_reading(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(SCRIPT.format(text="Hi") + "title: Again\n")
    for _ in range(2):
        [problem] = load_library(tmp_path).problems
        assert str(problem).endswith("8: title: duplicate key (the later one would win silently)")


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(b"\xff\xfe not utf-8", id="invalid UTF-8"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b"[" * 100_000, id="deep"),
        pytest.param(b'{"format": 99, "documents": {}}', id="another format"),
        pytest.param(b'{"format": 1, "documents": []}', id="documents not a mapping"),
        pytest.param(b'{"format": 1, "documents": {"k": 5}}', id="entry not text"),
        pytest.param(b"null", id="not a mapping"),
    ],
)
def test_a_forged_or_broken_bundle_is_ignored_and_rewritten(tmp_path: Path, forged: bytes) -> None:
    (tmp_path / "demo.yaml").write_text(SCRIPT.format(text="Hello"))
    load_library(tmp_path)
    [bundle] = bundle_files()
    bundle.write_bytes(forged)
    assert load_library(tmp_path).scripts[0].steps[0].say == "Hello"
    assert json.loads(bundle.read_text())["format"] == parsed_yaml.FORMAT


def test_a_forged_entry_is_composed_again(tmp_path: Path) -> None:
    """An entry too deep to load (a hostile edit of the bundle) is not trusted."""
    cache = ParsedYaml("t", LIMITS, tmp_path)
    cache.parse("a: 1\n")
    cache.save()
    bundle = json.loads(cache.path.read_text())
    [key] = bundle["documents"]
    bundle["documents"][key] = "[" * 10_000
    cache.path.write_text(json.dumps(bundle))
    node, data = ParsedYaml("t", LIMITS, tmp_path).parse("a: 1\n")
    assert node is not None
    assert data == {"a": 1}


def test_a_bundle_larger_than_the_limit_is_neither_read_nor_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsed_yaml, "MAX_BUNDLE_BYTES", 100)
    cache = ParsedYaml("t", LIMITS, tmp_path)
    cache.parse("a: " + "x" * 200 + "\n")
    cache.save()
    assert not cache.path.exists()
    cache.path.write_text(" " * 200)
    assert ParsedYaml("t", LIMITS, tmp_path).parse("a: 1\n")[1] == {"a": 1}


@pytest.mark.parametrize(
    ("text", "data"),
    [
        pytest.param("day: 2026-12-04\n", {"day": datetime.date(2026, 12, 4)}, id="a date"),
        pytest.param("1: one\n", {1: "one"}, id="a key that is not a string"),
        pytest.param("x: .nan\n", None, id="not a number"),
    ],
)
def test_what_json_cannot_give_back_is_composed_every_time(
    tmp_path: Path, text: str, data: object
) -> None:
    for _ in range(2):
        cache = ParsedYaml("t", LIMITS, tmp_path)
        node, got = cache.parse(text)
        cache.save()
        assert node is not None, "composed, not from the bundle"
        if data is not None:
            assert repr(got) == repr(data)


def test_an_entry_is_only_for_the_limits_it_was_read_under(tmp_path: Path) -> None:
    text = "a: [1, 2, 3, 4, 5]\n"
    loose = ParsedYaml("t", LIMITS, tmp_path)
    loose.parse(text)
    loose.save()
    strict = ParsedYaml("t", Limits(max_bytes=10_000, max_values=3), tmp_path)
    with pytest.raises(LimitError, match="more than 3 values"):
        strict.parse(text)


def test_a_yaml_error_is_not_kept(tmp_path: Path) -> None:
    for _ in range(2):
        cache = ParsedYaml("t", LIMITS, tmp_path)
        with pytest.raises(YamlError, match="expected the node content") as info:
            cache.parse("a: [\n")
        assert info.value.syntax
        assert info.value.line == 2
        cache.save()


def test_an_unwritable_cache_costs_nothing_but_the_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache directory that is a file, or a disk that fills at the move: the reading is
    the same, nothing is raised, no temporary file is left."""
    (tmp_path / "demo.yaml").write_text(SCRIPT.format(text="Hello"))
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert load_library(tmp_path).scripts[0].steps[0].say == "Hello"

    full = tmp_path / "full"
    monkeypatch.setenv("XDG_CACHE_HOME", str(full))

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    assert load_library(tmp_path).scripts[0].steps[0].say == "Hello"
    assert list((full / "careline" / "parsed").iterdir()) == []


def test_a_setting_that_may_be_secret_never_reaches_the_cache(tmp_path: Path) -> None:
    """From the environment, a setting named like a secret (dsn, password, key) is never
    written; a configuration refused (a password in its DSN) is not written at all."""
    dsn = "host=127.0.0.1 dbname=careline user=alice"
    config = load_config(environ={"CARELINE_HUB__DSN": dsn, "CARELINE_UI__BELL": "false"})
    assert config.hub.dsn == dsn
    [bundle] = bundle_files()
    assert "alice" not in bundle.read_text()
    assert "false" in json.loads(bundle.read_text())["documents"].values()
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    assert oct(bundle.parent.stat().st_mode & 0o777) == "0o700"

    bundle.unlink()
    refused = tmp_path / "careline.yaml"
    refused.write_text("hub:\n  dsn: host=127.0.0.1 user=alice password=hunter2\n")
    with pytest.raises(ConfigError, match="put the password in hub.password_file"):
        load_config(refused, environ={})
    assert bundle_files() == []


def test_text_and_limits_never_share_a_key() -> None:
    assert parsed_yaml.digest("a: 1", "12000,64,1,1") != parsed_yaml.digest("a: 11", "2000,64,1,1")


def test_a_bundle_another_loader_made_is_ignored(tmp_path: Path) -> None:
    """After an upgrade of PyYAML or of careline's composing code, documents are composed
    again (a newer YAML reads ``yes`` otherwise, say)."""
    cache = ParsedYaml("t", LIMITS, tmp_path)
    cache.parse("a: yes\n")
    cache.save()
    bundle = json.loads(cache.path.read_text())
    bundle["loader"] = "another"
    cache.path.write_text(json.dumps(bundle))
    node, data = ParsedYaml("t", LIMITS, tmp_path).parse("a: yes\n")
    assert node is not None
    assert data == {"a": True}


@pytest.mark.parametrize("whose", ["bundle", "directory"])
def test_a_bundle_others_can_write_is_ignored(tmp_path: Path, whose: str) -> None:
    folder = tmp_path / "parsed"
    cache = ParsedYaml("t", LIMITS, folder)
    cache.parse("a: 1\n")
    cache.save()
    (cache.path if whose == "bundle" else folder).chmod(0o666 if whose == "bundle" else 0o777)
    node, _ = ParsedYaml("t", LIMITS, folder).parse("a: 1\n")
    assert node is not None, "composed, not read from a file others could have written"


def test_an_unchanged_reading_does_not_write_and_old_bundles_go(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "demo.yaml").write_text(SCRIPT.format(text="Hi") + "title: Again\n")
    (tmp_path / "lib" / "ok.yaml").write_text(SCRIPT.replace("demo", "ok").format(text="Hi"))
    load_library(tmp_path / "lib")
    [bundle] = bundle_files()
    old = bundle.parent / "scripts-0000000000000000.json"
    old.write_text("{}")
    leftover = bundle.parent / ".abc.tmp"
    leftover.write_text("{")
    month_ago = time.time() - 31 * 86400
    for path in (bundle, old, leftover):
        os.utime(path, (month_ago, month_ago))
    load_library(tmp_path / "lib")  # the same files: the duplicate key is found again
    assert bundle.stat().st_mtime == month_ago, "nothing changed: not rewritten"
    (tmp_path / "lib" / "ok.yaml").write_text(SCRIPT.replace("demo", "ok").format(text="Yo"))
    load_library(tmp_path / "lib")
    assert bundle.stat().st_mtime > month_ago
    assert not old.exists()
    assert not leftover.exists()
