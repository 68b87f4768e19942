# SPDX-License-Identifier: GPL-2.0-or-later
"""Configuration: layered loading and clear errors (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.config import ConfigError, load_config
from tests.careline_cli import careline


def test_defaults_load_without_any_file() -> None:
    config = load_config(environ={})
    assert config.sip.listen == "127.0.0.1:5070"
    assert config.sip.auto_answer is None
    assert config.ui.history_size == 20


def test_user_file_and_environment_override_in_order(tmp_path: Path) -> None:
    user = tmp_path / "c.yaml"
    user.write_text("agent:\n  name: Robin\nsip:\n  listen: 127.0.0.1:6000\n")
    config = load_config(user, environ={"CARELINE_SIP__LISTEN": "127.0.0.1:7000"})
    assert config.agent.name == "Robin"
    assert config.sip.listen == "127.0.0.1:7000"


def test_user_config_dir_file_is_picked_up(isolated_home: Path) -> None:
    folder = isolated_home / "xdg_config_home" / "careline"
    folder.mkdir(parents=True)
    (folder / "careline.yaml").write_text("ui:\n  bell: false\n")
    assert load_config(environ={}).ui.bell is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:\n  listen: 127.0.0.1:5070\n  lisen: x\n", "line 3: sip.lisen: unknown setting"),
        ("ui:\n  history_size: lots\n", "line 2: ui.history_size: Input should be a valid integer"),
        (
            "sip:\n  listen: 127.0.0.1:99999\n",
            "line 2: sip.listen: port '99999' is not a number from 0 to 65535",
        ),
        ("sip:\n  listen: [1, 2\n", "line 3, column 1: YAML syntax error"),
        ("- just\n- a list\n", "line 1: the top level must be a mapping"),
        (
            "worklists:\n  default_time_zone: Mars/Olympus_Mons\n",
            "line 2: worklists.default_time_zone: unknown time zone 'Mars/Olympus_Mons'",
        ),
        (
            "worklists:\n  default_time_zone: ../../etc/passwd\n",
            "worklists.default_time_zone: unknown time zone '../../etc/passwd'",
        ),
    ],
)
def test_bad_file_is_one_clear_message(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    for _read in ("composed", "from the parsed cache"):
        with pytest.raises(ConfigError) as info:
            load_config(path, environ={})
        assert str(info.value).startswith(str(path))
        assert expected in str(info.value)


def test_the_calling_rules_zone_is_a_real_one_by_default_or_as_set(tmp_path: Path) -> None:
    """The default zone is taken unchecked (a console that sets none does not load
    zoneinfo): it must be one; a zone that is set is checked."""
    from zoneinfo import ZoneInfo

    from console.core.config.worklists import DEFAULT_TIME_ZONE

    assert ZoneInfo(DEFAULT_TIME_ZONE).key == DEFAULT_TIME_ZONE
    assert load_config(environ={}).worklists.default_time_zone == DEFAULT_TIME_ZONE
    path = tmp_path / "c.yaml"
    path.write_text("worklists:\n  default_time_zone: Europe/Dublin\n")
    assert load_config(path, environ={}).worklists.default_time_zone == "Europe/Dublin"


def test_bad_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="environment variable CARELINE_UI__HISTORY_SIZE"):
        load_config(environ={"CARELINE_UI__HISTORY_SIZE": "-3"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("agent:\n  nmae: x\n", "line 2: agent.nmae: unknown setting"),
        ("sip:\n  log_level: high\n", "line 2: sip.log_level: Input should be a valid integer"),
        ("ui: [\n", "YAML syntax error"),
    ],
)
def test_cli_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    for args in (["--config", str(path), "config"], ["engine", "--config", str(path)]):
        result = careline(*args)
        assert result.returncode == 2, result
        assert fragment in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = careline("--config", str(tmp_path / "nope.yaml"), "config")
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_every_command_has_help() -> None:
    top = careline("--help")
    assert top.returncode == 0
    for command in ("run", "demo", "engine", "config", "paths"):
        assert command in top.stdout
        sub = careline(command, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage: careline " + command in sub.stdout


def test_wrap_up_mode_off_survives_yaml_booleans(tmp_path: Path) -> None:
    """``off`` unquoted is a YAML boolean: in the file and in the environment it
    still means the mode."""
    path = tmp_path / "c.yaml"
    path.write_text("wrap_up:\n  mode: off\n", encoding="utf-8")
    assert load_config(path, environ={}).wrap_up.mode == "off"
    assert load_config(None, environ={"CARELINE_WRAP_UP__MODE": "off"}).wrap_up.mode == "off"


def test_hub_password_never_in_the_dsn(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('hub:\n  dsn: "host=127.0.0.1 user=alice password=secret"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="hub.dsn: .*password_file") as caught:
        load_config(path, environ={})
    assert "secret" not in str(caught.value)
