# SPDX-License-Identifier: GPL-2.0-or-later
"""The quality loop (issue 21): evaluating calls against evaluation forms.

Plain Python, no Textual: :mod:`.scoring` turns a form's answers into a
score, :mod:`.facts` reads what the local store knows about a call,
:mod:`.checks` runs the automatic checks on those facts, :mod:`.selection`
chooses the calls to review (a seeded weekly sample per agent plus targeted
calls), and :mod:`.evaluations` keeps the evaluations in the local store.
The package imports nothing itself.
"""
