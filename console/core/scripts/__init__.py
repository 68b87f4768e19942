"""Scripted guidance and wrap-up: call scripts, red flags and wrap-up forms.

The UI's entry points, all plain Python (no Textual):

- :func:`load_library` reads ``scripts_library/`` (or any path) into a
  :class:`Library` of :class:`Script` and :class:`Form` models;
- :func:`select_script` picks the script for a call by DID, queue and
  language, falling back to the library's default script;
- :class:`ScriptRun` runs it: :meth:`ScriptRun.answer`, :meth:`ScriptRun.back`,
  :attr:`ScriptRun.progress`, :attr:`ScriptRun.red_flags`, :attr:`ScriptRun.urgency`;
- :func:`select_form`, :func:`prefill` and :func:`validate_form` drive the wrap-up;
- :func:`check_library` / :func:`check_path` are ``careline scripts check``.

The file format is documented in ``docs/scripts.md``.
"""

from console.core.scripts.checker import check_library, check_path
from console.core.scripts.forms import (
    FieldError,
    FollowUpTask,
    default_follow_up,
    prefill,
    select_form,
    validate_form,
)
from console.core.scripts.loader import Library, LoadedDocument, Problem, library_dir, load_library
from console.core.scripts.models import (
    Answer,
    AnswerError,
    Disposition,
    Form,
    FormField,
    Question,
    RedFlagRule,
    Script,
    Step,
    TransferKind,
    Urgency,
)
from console.core.scripts.placeholders import PLACEHOLDERS, render
from console.core.scripts.runner import (
    AnswerRecord,
    Outcome,
    Progress,
    RaisedRedFlag,
    ScriptRun,
    select_script,
)

__all__ = [
    "PLACEHOLDERS",
    "Answer",
    "AnswerError",
    "AnswerRecord",
    "Disposition",
    "FieldError",
    "FollowUpTask",
    "Form",
    "FormField",
    "Library",
    "LoadedDocument",
    "Outcome",
    "Problem",
    "Progress",
    "Question",
    "RaisedRedFlag",
    "RedFlagRule",
    "Script",
    "ScriptRun",
    "Step",
    "TransferKind",
    "Urgency",
    "check_library",
    "check_path",
    "default_follow_up",
    "library_dir",
    "load_library",
    "prefill",
    "render",
    "select_form",
    "select_script",
    "validate_form",
]
