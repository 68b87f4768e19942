"""Survey answers as CSAT and NPS: which answers count (``measures:`` in a script),
how they are scored, and the checker's word on a step that measures the wrong scale."""

from __future__ import annotations

from pathlib import Path

from console.core.scripts.checker import check_path

HEADER = "kind: script\nid: demo\ntitle: Demo\nversion: 1\nsteps:\n"


def test_a_measure_on_the_wrong_scale_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(
        HEADER + "  - id: score\n    measures: csat\n"
        "    question: {kind: number, minimum: 0, maximum: 10, integer: true}\n"
        "  - id: words\n    measures: nps\n    question: {kind: text}\n"
        "  - id: said\n    measures: comment\n",
        encoding="utf-8",
    )
    prefix = f"{tmp_path}/demo.yaml:"
    assert [str(problem).removeprefix(prefix) for problem in check_path(tmp_path)] == [
        "6: steps[0]: measures: csat needs a whole-number question from 1 to 5 "
        "(kind: number, minimum: 1, maximum: 5, integer: true)",
        "9: steps[1]: measures: nps needs a whole-number question from 0 to 10 "
        "(kind: number, minimum: 0, maximum: 10, integer: true)",
        "12: steps[2]: measures: comment needs a text question",
    ]
