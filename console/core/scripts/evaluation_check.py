# SPDX-License-Identifier: GPL-2.0-or-later
"""The checker's rules for evaluation forms (``kind: evaluation``).

Beyond the schema: the section weights add up to 100, every section with
weight carries points, ids are unique across the form, a scale runs upwards,
and an automatic check answers at most one question.
"""

from __future__ import annotations

from collections.abc import Iterator

from console.core.scripts.evaluation_forms import EvaluationForm, ScaleItem, YesNoItem
from console.core.scripts.loader import LoadedDocument, Problem

WEIGHT_TOLERANCE = 0.01
"""How far from 100 the section weights may add up (rounding of thirds and the like)."""


def check_evaluation_form(loaded: LoadedDocument, form: EvaluationForm) -> Iterator[Problem]:
    """Weights, ids, scales and automatic checks of one evaluation form."""
    total = sum(section.weight for section in form.sections)
    if abs(total - 100) > WEIGHT_TOLERANCE:
        yield loaded.problem(("sections",), f"the section weights add up to {total:g}, not 100")
    seen_sections: set[str] = set()
    seen_items: dict[str, str] = {}
    seen_checks: dict[str, str] = {}
    for s, section in enumerate(form.sections):
        if section.id in seen_sections:
            yield loaded.problem(("sections", s, "id"), f"section id {section.id!r} is used twice")
        seen_sections.add(section.id)
        points = sum(
            item.weight for item in section.questions if isinstance(item, YesNoItem | ScaleItem)
        )
        if section.weight > 0 and points <= 0:
            yield loaded.problem(
                ("sections", s, "questions"),
                "no question here carries points, but the section has weight",
            )
        for q, item in enumerate(section.questions):
            loc = ("sections", s, "questions", q)
            if item.id in seen_items:
                yield loaded.problem(
                    (*loc, "id"),
                    f"question id {item.id!r} is already used (section {seen_items[item.id]!r})",
                )
            seen_items.setdefault(item.id, section.id)
            if isinstance(item, ScaleItem) and item.max <= item.min:
                yield loaded.problem((*loc, "max"), f"max must be more than min ({item.min})")
            if isinstance(item, YesNoItem) and item.automatic is not None:
                check = item.automatic.value
                other = seen_checks.setdefault(check, item.id)
                if other != item.id:
                    yield loaded.problem(
                        (*loc, "automatic"), f"check {check!r} already answers {other!r}"
                    )
