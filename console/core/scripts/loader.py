# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading the script library: YAML files into :class:`Script` and :class:`Form` models.

Like the configuration loader (:mod:`console.core.config`), every problem
names the file, the line and the field, and nothing here raises on a bad
file: a YAML syntax error, a wrong type or an unknown key becomes a
:class:`Problem`, and the other files still load. Unlike the configuration,
these documents are mostly lists (steps, options, dispositions), so the line
index here also covers list items, and every validation error is reported,
not only the first, because an author fixes a script in one go. A file read
before, unchanged, comes from the parsed-documents cache (:mod:`console.core.parsed_yaml`)
without composing its YAML again.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any

from console.core.bounded_load import LimitError, Limits, Loc, YamlError, read_text
from console.core.parsed_yaml import DocumentLines, ParsedYaml, digest
from console.core.records import dataclass
from console.core.schema import BaseModel, ValidationError
from console.core.scripts.evaluation_forms import EvaluationForm
from console.core.scripts.models import Document, Form, Preparation, Script
from console.core.scripts.worklist_rules import WorklistRule

SUFFIXES = (".yaml", ".yml")
# A script is a few kilobytes and a few hundred values; past these limits a
# file is a mistake or an attack, not a script (the console loads these too).
LIMITS = Limits(max_bytes=1_000_000)
_KINDS = "script, form, preparation, worklist or evaluation"


def library_dir() -> Path:
    """The shipped library: the ``scripts_library`` package directory."""
    import scripts_library

    return Path(scripts_library.__file__).resolve().parent


def field_name(loc: Loc) -> str:
    """``("steps", 2, "next")`` as ``steps[2].next``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a library file; ``str()`` is ``file:line: field: message``."""

    file: Path
    """The file."""
    line: int | None
    """1-based line, when known."""
    field: str
    """Dotted field path such as ``steps[2].branches[0].goto``; "" for the whole file."""
    message: str
    """What is wrong, worded for the script's author."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass(frozen=True)
class LoadedDocument:
    """A library file that parsed into a model, with its line index."""

    path: Path
    """The file."""
    document: Document | WorklistRule | EvaluationForm
    """The script, form, preparation, worklist rule or evaluation form."""
    lines: DocumentLines = field(compare=False)
    """Where each field is, for the checker's messages."""

    def problem(self, loc: Loc, message: str) -> Problem:
        """A :class:`Problem` at ``loc`` of this document."""
        return Problem(self.path, self.lines.line_of(loc), field_name(loc), message)


@dataclass(frozen=True)
class Library:
    """Every script, form and preparation found under a path, and the files that did not load."""

    documents: tuple[LoadedDocument, ...] = ()
    """The files that loaded, in path order."""
    problems: tuple[Problem, ...] = ()
    """Files that could not be read, parsed or validated."""

    @property
    def scripts(self) -> tuple[Script, ...]:
        """The scripts, in path order."""
        return tuple(d.document for d in self.documents if isinstance(d.document, Script))

    @property
    def forms(self) -> tuple[Form, ...]:
        """The wrap-up forms, in path order."""
        return tuple(d.document for d in self.documents if isinstance(d.document, Form))

    @property
    def preparations(self) -> tuple[Preparation, ...]:
        """The pre-visit preparations, in path order."""
        return tuple(d.document for d in self.documents if isinstance(d.document, Preparation))

    @property
    def worklists(self) -> tuple[WorklistRule, ...]:
        """The outbound worklist rules, in path order."""
        return tuple(d.document for d in self.documents if isinstance(d.document, WorklistRule))

    @property
    def evaluations(self) -> tuple[EvaluationForm, ...]:
        """The evaluation forms (quality scorecards), in path order."""
        return tuple(d.document for d in self.documents if isinstance(d.document, EvaluationForm))

    def script(self, script_id: str) -> Script:
        """The script called ``script_id``; raises KeyError."""
        for script in self.scripts:
            if script.id == script_id:
                return script
        raise KeyError(script_id)

    def form(self, form_id: str) -> Form:
        """The form called ``form_id``; raises KeyError."""
        for form in self.forms:
            if form.id == form_id:
                return form
        raise KeyError(form_id)


def load_document(path: Path, parsed: ParsedYaml) -> LoadedDocument | list[Problem]:
    """One YAML file as a script or form, or the problems that stop it loading; ``parsed``
    is the bundle of the library's documents parsed before."""
    try:
        text = read_text(path, LIMITS.max_bytes)
    except LimitError as exc:
        return [Problem(path, None, "", f"file is {exc.reason}")]
    except FileNotFoundError:
        return [Problem(path, None, "", "file not found")]
    except UnicodeDecodeError:
        return [Problem(path, None, "", "not UTF-8 text")]
    except OSError as exc:
        return [Problem(path, None, "", f"cannot read: {exc.strerror or exc}")]
    try:
        node, data = parsed.parse(text)
    except LimitError as exc:
        return [Problem(path, exc.line, "", exc.reason)]
    except YamlError as exc:
        if not exc.syntax:
            return [Problem(path, None, "", f"YAML error: {exc.problem}")]
        where = f"column {exc.column}: " if exc.column is not None else ""
        return [Problem(path, exc.line, "", f"{where}YAML syntax error: {exc.problem}")]
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        return [Problem(path, 1, "", f"the file is {kind}; expected kind: {_KINDS}")]
    lines = DocumentLines(text, LIMITS, node)
    # A document from the bundle had no key twice: one that had is never kept in it.
    problems = [
        Problem(path, line, field_name(loc), "duplicate key (the later one would win silently)")
        for loc, line in (lines.duplicates if node is not None else ())
    ]
    if problems:
        parsed.forget(text)
    model: type[BaseModel]
    if data.get("kind") == "script":
        model = Script
    elif data.get("kind") == "form":
        model = Form
    elif data.get("kind") == "preparation":
        model = Preparation
    elif data.get("kind") == "worklist":
        model = WorklistRule
    elif data.get("kind") == "evaluation":
        model = EvaluationForm
    else:
        got = f" (got {data['kind']!r})" if "kind" in data else ""
        message = f"must be {_KINDS}{got}" if got else "required field is missing"
        return [*problems, Problem(path, lines.line_of(("kind",)) or 1, "kind", message)]
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        return problems + [_problem(path, lines, error) for error in exc.errors()]
    if problems:
        return problems
    assert isinstance(document, Script | Form | Preparation | WorklistRule | EvaluationForm)
    return LoadedDocument(path, document, lines)


def _problem(path: Path, lines: DocumentLines, error: Any) -> Problem:
    loc = lines.visible(tuple(error["loc"]))
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        message = "unknown field (check the spelling; see docs/scripts.md)"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tags = str(ctx.get("expected_tags", "")).replace("'", "").rsplit(", ", 1)
        message = f"unknown kind {ctx.get('tag', value)!r} (expected {' or '.join(tags)})"
    elif kind == "union_tag_not_found":
        kinds = (
            "yes_no, scale or text" if "sections" in loc else "yes_no, choice, text, date or number"
        )
        message = f"kind is missing ({kinds})"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if isinstance(value, bool) and kind == "string_type":
            message += " (YAML reads yes/no/on/off as true/false: put the value in quotes)"
        elif not isinstance(value, dict | list):
            message += f" (got {value!r})"
    # A field missing at the top level has no line of its own: point at the start.
    return Problem(path, lines.line_of(loc) or 1, field_name(loc), message)


def library_files(path: Path) -> list[Path]:
    """The YAML files under ``path`` (or ``path`` itself), sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    return [path]


def load_library(path: Path | None = None) -> Library:
    """Every script and form under ``path`` (default: the shipped library).

    Never raises: files that cannot be loaded are listed in
    :attr:`Library.problems` and left out; the rest is usable.
    """
    root = library_dir() if path is None else path
    if not root.exists():
        return Library(problems=(Problem(root, None, "", "no such file or directory"),))
    documents: list[LoadedDocument] = []
    problems: list[Problem] = []
    parsed = ParsedYaml(_bundle_name(root), LIMITS)
    for file in library_files(root):
        result = load_document(file, parsed)
        if isinstance(result, LoadedDocument):
            documents.append(result)
        else:
            problems.extend(result)
    parsed.save()
    return Library(tuple(documents), tuple(problems))


def _bundle_name(root: Path) -> str:
    """The parsed-documents bundle of the library at ``root`` (one per place read)."""
    return f"scripts-{digest(str(root.resolve()))[:16]}"
