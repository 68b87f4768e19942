# SPDX-License-Identifier: GPL-2.0-or-later
"""Scripted guidance and wrap-up: call scripts, red flags and wrap-up forms.

The UI's entry points, all plain Python (no Textual), each imported from its
module (the package imports nothing itself, so the console loads only what it
uses: the checker, for one, only runs for ``careline scripts check``):

- :func:`.loader.load_library` reads ``scripts_library/`` (or any path) into a
  :class:`Library` of :class:`Script` and :class:`Form` models;
- :func:`.runner.select_script` picks the script for a call by DID, queue and
  language, falling back to the library's default script;
- :class:`.runner.ScriptRun` runs it: :meth:`ScriptRun.answer`, :meth:`ScriptRun.back`,
  :attr:`ScriptRun.progress`, :attr:`ScriptRun.red_flags`, :attr:`ScriptRun.urgency`;
- :func:`.forms.select_form`, :func:`.forms.prefill` and :func:`.forms.validate_form`
  drive the wrap-up;
- :func:`.preparations.select_preparation` and :func:`.preparations.read_out` give the
  pre-visit preparation for a booked service;
- :func:`.checker.check_library` / :func:`.checker.check_path` are ``careline scripts check``.

The file format is documented in ``docs/scripts.md``.
"""
