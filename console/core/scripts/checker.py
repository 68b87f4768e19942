# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline scripts check``: every rule a script or form must follow beyond its schema.

The models check each field; this module checks how the fields fit
together, across a whole library: step targets exist, every step can be
reached, every loop has a way out to an end, placeholders are known,
conditions can actually match the question they test, hot keys and ids are
unique, form fields pre-fill from questions (or booking facts) that exist and
fit them, and pre-visit preparations say only what they can know and claim
each service once. Every problem is reported, each with its file, line and field.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

from console.core.bounded_load import Loc
from console.core.scripts.evaluation_check import check_evaluation_form
from console.core.scripts.evaluation_forms import EvaluationForm
from console.core.scripts.forms import BOOKING_FACTS, BOOKING_PREFIX
from console.core.scripts.loader import (
    Library,
    LoadedDocument,
    Problem,
    load_library,
)
from console.core.scripts.models import (
    ChoiceQuestion,
    Condition,
    DateQuestion,
    Form,
    FormField,
    NumberQuestion,
    Preparation,
    Question,
    Script,
    Step,
    TextQuestion,
    YesNoQuestion,
)
from console.core.scripts.placeholders import (
    ANSWER_PREFIX,
    APPOINTMENT_PLACEHOLDERS,
    PLACEHOLDERS,
    slots,
)
from console.core.scripts.worklist_check import check_worklist
from console.core.scripts.worklist_rules import WorklistRule

RESERVED_FIELDS = frozenset({"disposition", "notes", "follow_up", "feedback_consent"})
"""Form value keys the wrap-up uses itself; a field cannot take these ids."""
MAX_STEPS = 1000
"""Most steps the cross checks look at: a call script has tens; a file of thousands is
a mistake, and some checks take time that grows with the square of the step count."""


def check_path(path: Path | None = None) -> list[Problem]:
    """Load the library at ``path`` (default: the shipped one) and check it."""
    return check_library(load_library(path))


def check_library(library: Library) -> list[Problem]:
    """Every problem of ``library``: files that did not load, then the rules here, sorted."""
    problems = list(library.problems)
    problems += _unique_ids(library)
    problems += _unique_services(library)
    for loaded in library.documents:
        if isinstance(loaded.document, Script):
            problems += _check_script(loaded, loaded.document)
        elif isinstance(loaded.document, Form):
            problems += _check_form(loaded, loaded.document, library)
        elif isinstance(loaded.document, WorklistRule):
            problems += check_worklist(loaded, loaded.document, library)
        elif isinstance(loaded.document, EvaluationForm):
            problems += check_evaluation_form(loaded, loaded.document)
        else:
            problems += _check_preparation(loaded, loaded.document)
    return sorted(set(problems), key=lambda p: (str(p.file), p.line or 0, p.field, p.message))


def _unique_ids(library: Library) -> Iterator[Problem]:
    seen: dict[tuple[str, str], LoadedDocument] = {}
    default: dict[str, LoadedDocument] = {}
    for loaded in library.documents:
        document = loaded.document
        kind = document.kind
        first = seen.setdefault((kind, document.id), loaded)
        if first is not loaded:
            yield loaded.problem(
                ("id",), f"{kind} id {document.id!r} is already used by {first.path}"
            )
        if document.default:
            other = default.setdefault(kind, loaded)
            if other is not loaded:
                yield loaded.problem(
                    ("default",), f"more than one default {kind} (also {other.path})"
                )


def _unique_services(library: Library) -> Iterator[Problem]:
    """A service claimed by two preparations would read out whichever loaded first."""
    owner: dict[str, LoadedDocument] = {}
    for loaded in library.documents:
        if not isinstance(loaded.document, Preparation):
            continue
        for number, service in enumerate(loaded.document.services):
            first = owner.setdefault(service.casefold(), loaded)
            if first is not loaded:
                yield loaded.problem(
                    ("services", number),
                    f"service {service!r} already has a preparation ({first.path})",
                )


def _check_script(loaded: LoadedDocument, script: Script) -> Iterator[Problem]:
    if len(script.steps) > MAX_STEPS:
        yield loaded.problem(
            ("steps",), f"more than {MAX_STEPS:,} steps: split the script (not checked further)"
        )
        return
    index = {step.id: number for number, step in reversed(list(enumerate(script.steps)))}
    unique = True
    for number, step in enumerate(script.steps):
        if index[step.id] != number:
            unique = False
            line = loaded.lines.line_of(("steps", index[step.id]))
            yield loaded.problem(
                ("steps", number, "id"), f"duplicate step id {step.id!r} (also at line {line})"
            )
    rule_ids: set[str] = set()
    for number, rule in enumerate(script.red_flags):
        if rule.id in rule_ids:
            yield loaded.problem(("red_flags", number, "id"), f"duplicate red flag id {rule.id!r}")
        rule_ids.add(rule.id)

    def target(loc: Loc, step_id: str | None) -> Iterator[Problem]:
        if step_id is not None and step_id not in index:
            yield loaded.problem(loc, f"unknown step {step_id!r}")

    yield from target(("start",), script.start)
    for number, step in enumerate(script.steps):
        yield from target(("steps", number, "next"), step.next)
        for b, branch in enumerate(step.branches):
            loc: Loc = ("steps", number, "branches", b)
            yield from target((*loc, "goto"), branch.goto)
            yield from _check_condition(loaded, script, (*loc, "when"), branch.when, step.id)
        yield from _check_text(loaded, script, ("steps", number), step)
    for number, rule in enumerate(script.red_flags):
        yield from target(("red_flags", number, "goto"), rule.goto)
        for c, condition in enumerate(rule.when):
            loc = ("red_flags", number, "when", c)
            yield from _check_condition(loaded, script, loc, condition, None)
        for name in ("instruction", "say"):
            yield from _check_template(
                loaded, script, ("red_flags", number, name), getattr(rule, name)
            )
    if unique:  # with two steps of one id, "where does 'a' go" has no single answer
        yield from _check_graph(loaded, script, index)


def _check_text(loaded: LoadedDocument, script: Script, loc: Loc, step: Step) -> Iterator[Problem]:
    for name in ("title", "say", "note"):
        yield from _check_template(loaded, script, (*loc, name), getattr(step, name))
    if step.question is not None:
        for name in ("prompt", "help"):
            yield from _check_template(
                loaded, script, (*loc, "question", name), getattr(step.question, name)
            )


def _check_template(
    loaded: LoadedDocument, script: Script | None, loc: Loc, template: str
) -> Iterator[Problem]:
    """Placeholders of a script's text (``script``), or of a preparation's (None: no
    answers, but the appointment's facts)."""
    asked = {step.id for step in script.steps if step.question is not None} if script else set()
    known = list(PLACEHOLDERS) if script else [*PLACEHOLDERS, *APPOINTMENT_PLACEHOLDERS]
    for slot in slots(template):
        if slot.name is None:
            yield loaded.problem(loc, "unmatched brace (write {{ or }} for a literal brace)")
        elif slot.name.startswith(ANSWER_PREFIX) and script is None:
            yield loaded.problem(
                loc, f"unknown placeholder {{{slot.name}}}: a preparation has no script answers"
            )
        elif slot.name.startswith(ANSWER_PREFIX):
            if slot.name.removeprefix(ANSWER_PREFIX) not in asked:
                yield loaded.problem(
                    loc, f"unknown placeholder {{{slot.name}}}: no step of that id asks a question"
                )
        elif slot.name not in known:
            close = difflib.get_close_matches(slot.name, known, n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else " (see docs/scripts.md)"
            yield loaded.problem(loc, f"unknown placeholder {{{slot.name}}}{hint}")


def _check_condition(
    loaded: LoadedDocument,
    script: Script,
    loc: Loc,
    condition: Condition,
    own_step: str | None,
) -> Iterator[Problem]:
    step_id = condition.question or own_step
    if step_id is None:  # the model refuses this for red flags; branches have own_step
        return
    try:
        question = script.step(step_id).question
    except KeyError:
        yield loaded.problem((*loc, "question"), f"unknown step {step_id!r}")
        return
    if question is None:
        yield loaded.problem((*loc, "question"), f"step {step_id!r} asks no question")
        return
    expected = _answers(question)
    if condition.at_least is not None or condition.at_most is not None:
        if not isinstance(question, NumberQuestion):
            yield loaded.problem(
                loc, f"at_least/at_most need a number question; step {step_id!r} is {expected}"
            )
        return
    values = [condition.equals] if condition.equals is not None else condition.one_of or []
    for value in values:
        if not _can_match(question, value):
            yield loaded.problem(
                loc, f"{value!r} can never match the answer to step {step_id!r} ({expected})"
            )


def _answers(question: Question) -> str:
    if isinstance(question, YesNoQuestion):
        return "yes/no: true or false"
    if isinstance(question, ChoiceQuestion):
        return "choice: " + ", ".join(option.value for option in question.options)
    if isinstance(question, NumberQuestion):
        return "a number"
    if isinstance(question, DateQuestion):
        return "a date"
    return "text"


def _can_match(question: Question, value: object) -> bool:
    if isinstance(question, YesNoQuestion):
        return isinstance(value, bool)
    if isinstance(question, ChoiceQuestion):
        return isinstance(value, str) and value in {o.value for o in question.options}
    if isinstance(question, NumberQuestion):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(question, TextQuestion):
        return isinstance(value, str)
    return False  # a date answer is a date; YAML conditions cannot spell one


def _check_graph(
    loaded: LoadedDocument, script: Script, index: dict[str, int]
) -> Iterator[Problem]:
    if script.start_id not in index:
        return  # already reported; without a start nothing is reachable
    steps = {step.id: step for step in script.steps}
    edges = {
        step_id: [t for t in script.successors(step) if t in index]
        for step_id, step in steps.items()
    }
    reachable = _reach(script.start_id, edges)
    for number, step in enumerate(script.steps):
        if step.id not in reachable and index[step.id] == number:
            yield loaded.problem(
                ("steps", number, "id"),
                f"step {step.id!r} is unreachable from the start step {script.start_id!r}",
            )
    stuck = reachable - _can_end(script, steps, edges)
    loops = _loops(edges, stuck)
    reported: set[str] = set()
    for number, step in enumerate(script.steps):
        first = loops.get(step.id)
        if first is None or first in reported or index[step.id] != number:
            continue  # on no loop (perhaps leading into one), or its loop is reported
        reported.add(first)
        members = {n for n, root in loops.items() if root == first}
        cycle = _cycle_from(step.id, edges, members)
        yield loaded.problem(
            ("steps", number, "id"),
            "loop without exit: " + " → ".join([*cycle, cycle[0]]) + " never reaches an end",
        )


def _can_end(script: Script, steps: dict[str, Step], edges: dict[str, list[str]]) -> set[str]:
    """The steps from which some path reaches an end (walked backwards from the ends)."""
    before: dict[str, list[str]] = {step_id: [] for step_id in steps}
    for step_id, targets in edges.items():
        for target in targets:
            before[target].append(step_id)
    can_end = {s for s in steps if script.default_next(steps[s]) is None}
    todo = list(can_end)
    while todo:
        for step_id in before[todo.pop()]:
            if step_id not in can_end:
                can_end.add(step_id)
                todo.append(step_id)
    return can_end


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    """Every step reachable from ``start`` (itself included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges[node])
    return seen


def _loops(edges: dict[str, list[str]], within: set[str]) -> dict[str, str]:
    """The steps of ``within`` that lie on a loop inside it, each mapped to a name of
    its loop (the strongly connected components with a cycle; Tarjan's algorithm,
    without recursion, so thousands of steps in one loop cannot exhaust the stack)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: dict[str, str] = {}
    for root in sorted(within):
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(edges[root]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in within:
                    continue
                if target not in order:
                    order[target] = low[target] = len(order)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], order[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == order[node]:
                    members: list[str] = []
                    while not members or members[-1] != node:
                        members.append(stack.pop())
                        on_stack.discard(members[-1])
                    if len(members) > 1 or node in edges[node]:
                        found.update((member, node) for member in members)
    return found


def _cycle_from(start: str, edges: dict[str, list[str]], within: set[str]) -> list[str]:
    """A path start → … → start through ``within`` (a loop that holds ``start``).

    Depth first, in the order the steps name their targets, with a stack of
    its own rather than recursion.
    """
    path = [start]
    seen = {start}
    pending = [iter(edges[start])]
    while pending:
        for target in pending[-1]:
            if target == start:
                return path
            if target in within and target not in seen:
                seen.add(target)
                path.append(target)
                pending.append(iter(edges[target]))
                break
        else:
            pending.pop()
            path.pop()
    raise ValueError(f"{start!r} is on no loop inside the given steps")


def _check_form(loaded: LoadedDocument, form: Form, library: Library) -> Iterator[Problem]:
    ids: set[str] = set()
    keys: dict[str, str] = {}
    chosen_for: dict[str, str] = {}
    for number, disposition in enumerate(form.dispositions):
        loc: Loc = ("dispositions", number)
        if disposition.id in ids:
            yield loaded.problem((*loc, "id"), f"duplicate disposition id {disposition.id!r}")
        ids.add(disposition.id)
        owner = keys.setdefault(disposition.key, disposition.id)
        if owner != disposition.id:
            yield loaded.problem(
                (*loc, "key"), f"hot key {disposition.key!r} is already used by {owner!r}"
            )
        for index, change in enumerate(disposition.prefill_when):
            claimed = chosen_for.setdefault(change, disposition.id)
            if claimed != disposition.id:
                yield loaded.problem(
                    (*loc, "prefill_when", index),
                    f"{change!r} already pre-fills the disposition {claimed!r}",
                )
    if any(d.requires_follow_up for d in form.dispositions) and form.follow_up is None:
        yield loaded.problem(
            ("dispositions",), "a disposition requires a follow-up but the form has no follow_up"
        )
    known_scripts = {script.id for script in library.scripts}
    for number, script_id in enumerate(form.scripts):
        if script_id not in known_scripts:
            yield loaded.problem(("scripts", number), f"unknown script {script_id!r}")
    sources = [s for s in library.scripts if not form.scripts or s.id in form.scripts]
    questions: dict[str, list[Question]] = {}
    for script in sources:
        for step in script.steps:
            if step.question is not None:
                questions.setdefault(step.id, []).append(step.question)
    field_ids: set[str] = set()
    for number, form_field in enumerate(form.fields):
        loc = ("fields", number)
        if form_field.id in RESERVED_FIELDS:
            yield loaded.problem((*loc, "id"), f"{form_field.id!r} is reserved for the wrap-up")
        elif form_field.id in field_ids:
            yield loaded.problem((*loc, "id"), f"duplicate field id {form_field.id!r}")
        field_ids.add(form_field.id)
        yield from _check_prefill(loaded, (*loc, "prefill_from"), form_field, questions)
    consent = form.feedback_consent
    if consent is not None and consent.prefill_from is not None:
        found = questions.get(consent.prefill_from, [])
        if not any(isinstance(q, YesNoQuestion) for q in found):
            yield loaded.problem(
                ("feedback_consent", "prefill_from"),
                f"no script step {consent.prefill_from!r} asks a yes/no question",
            )


def _check_prefill(
    loaded: LoadedDocument, loc: Loc, form_field: FormField, questions: dict[str, list[Question]]
) -> Iterator[Problem]:
    """Each source of ``prefill_from`` names a question, or a booking fact that fits."""
    # A list written as such is reported item by item; ``prefill_from: step`` as itself.
    listed = (*loc, 0) in loaded.lines.lines
    for index, source in enumerate(form_field.prefill_from):
        where = (*loc, index) if listed else loc
        if not source.startswith(BOOKING_PREFIX):
            if source not in questions:
                yield loaded.problem(where, f"no script step {source!r} asks a question")
            continue
        fact = BOOKING_FACTS.get(source)
        if fact is None:
            close = difflib.get_close_matches(source, list(BOOKING_FACTS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            yield loaded.problem(
                where, f"unknown booking fact {source!r}{hint}; known: {', '.join(BOOKING_FACTS)}"
            )
        elif not isinstance(form_field.input, fact.fits):
            kinds = " or ".join(_KIND_NAMES[kind] for kind in fact.fits)
            yield loaded.problem(
                where,
                f"{source} ({fact.description}) cannot fill a {form_field.input.kind} "
                f"field; it fits {kinds}",
            )


_KIND_NAMES: dict[type[Question], str] = {
    YesNoQuestion: "yes_no",
    ChoiceQuestion: "choice",
    TextQuestion: "text",
    DateQuestion: "date",
    NumberQuestion: "number",
}


def _check_preparation(loaded: LoadedDocument, preparation: Preparation) -> Iterator[Problem]:
    for name in ("say", "fasting", "documents", "arrival", "note"):
        yield from _check_template(loaded, None, (name,), getattr(preparation, name))
    seen: set[str] = set()
    for number, service in enumerate(preparation.services):
        if service.casefold() in seen:
            yield loaded.problem(("services", number), f"service {service!r} is listed twice")
        seen.add(service.casefold())
