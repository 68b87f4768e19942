# SPDX-License-Identifier: GPL-2.0-or-later
"""An agent's own evaluations (``careline qa --mine``): read them, acknowledge them."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from console.core.quality.evaluations import Evaluation, EvaluationError
from console.core.text import safe_text
from console.widgets.footer import KeyFooter
from console.widgets.measured_table import MeasuredTable

if TYPE_CHECKING:
    from console.core.quality.desk import AgentEvaluations
    from console.qa_view.session import QaSession


def evaluation_lines(evaluation: Evaluation) -> list[str]:
    """What the agent reads of one evaluation: the verdict, the comment, every answer."""
    verdict = "passed" if evaluation.passed else "did not pass"
    lines = [
        f"{evaluation.score:g} — {verdict}"
        + (" (automatic fail)" if evaluation.auto_failed else ""),
        f"Evaluated by {safe_text(evaluation.evaluator, 24)} with "
        f"{safe_text(evaluation.form_id, 32)} v{safe_text(evaluation.form_version, 8)}",
    ]
    if evaluation.comment:
        lines.append(f"Comment: {safe_text(evaluation.comment, 400)}")
    lines.append("")
    for item, answer in sorted(evaluation.answers.items()):
        source = " (automatic)" if answer.automatic and not answer.overridden else ""
        lines.append(f"  {safe_text(item, 28)}: {safe_text(answer.value or '—', 200)}{source}")
    if evaluation.state == "acknowledged":
        lines += ["", f"Acknowledged {evaluation.acknowledged_at}"]
        if evaluation.agent_comment:
            lines.append(f"Your reply: {safe_text(evaluation.agent_comment, 400)}")
    return lines


class MineScreen(Screen[None]):
    """The agent's submitted evaluations; ``k`` acknowledges the selected one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "k",
            "acknowledge",
            "Acknowledge",
            id="qa.acknowledge",
            tooltip="I have read it (with a reply if you like)",
        ),
        Binding("r", "reload", "Reload", id="qa.mine.reload", tooltip="Read them again"),
        Binding("q", "app.quit", "Quit", id="qa.mine.quit", tooltip="Close"),
    ]

    def __init__(self, session: QaSession) -> None:
        super().__init__()
        self.session = session
        self.evaluations: list[Evaluation] = []

    def _agent(self) -> tuple[AgentEvaluations, str]:
        agent, agent_id = self.session.agent, self.session.agent_id
        assert agent is not None
        assert agent_id is not None
        return agent, agent_id

    def compose(self) -> ComposeResult:
        """Status, the list, the selected evaluation, the footer."""
        yield Static(id="status", markup=False)
        yield MeasuredTable(id="mine", cursor_type="row")
        with VerticalScroll(id="detail"):
            yield Static(id="detail-text", markup=False)
        yield KeyFooter()

    async def on_mount(self) -> None:
        """Read the agent's evaluations."""
        self.query_one(DataTable).add_columns("Call", "Score", "Result", "State")
        await self.action_reload()

    async def action_reload(self) -> None:
        """Read them again (the hub's, with a hub)."""
        agent, agent_id = self._agent()
        try:
            self.evaluations = await agent.of_agent(agent_id)
        except EvaluationError as exc:
            self.query_one("#status", Static).update(f"Cannot read your evaluations: {exc}")
            return
        table = self.query_one(DataTable)
        row = max(table.cursor_row, 0)
        table.clear()
        for evaluation in self.evaluations:
            table.add_row(
                Text(evaluation.call_at[:16].replace("T", " ")),
                Text(f"{evaluation.score:g}"),
                Text(
                    "pass" if evaluation.passed else "FAIL",
                    style="" if evaluation.passed else "bold red",
                ),
                Text(evaluation.state),
                key=evaluation.id,
            )
        if self.evaluations:
            table.move_cursor(row=min(row, len(self.evaluations) - 1))
        new = sum(1 for e in self.evaluations if e.state == "submitted")
        self.query_one("#status", Static).update(
            f"Your evaluations: {len(self.evaluations)}, {new} to acknowledge"
        )
        self._detail()

    def on_data_table_row_highlighted(self) -> None:
        """Show the highlighted evaluation."""
        self._detail()

    def _selected(self) -> Evaluation | None:
        table = self.query_one(DataTable)
        if not self.evaluations or table.cursor_row < 0:
            return None
        return self.evaluations[min(table.cursor_row, len(self.evaluations) - 1)]

    def _detail(self) -> None:
        evaluation = self._selected()
        text = "\n".join(evaluation_lines(evaluation)) if evaluation else "No evaluations yet."
        self.query_one("#detail-text", Static).update(Text(text))

    def action_acknowledge(self) -> None:
        """Acknowledge the selected evaluation, with an optional reply."""
        from console.qa_view.text_prompt import TextPrompt

        evaluation = self._selected()
        if evaluation is None or evaluation.state != "submitted":
            return

        async def replied(reply: str | None) -> None:
            if reply is not None:
                await self._acknowledge(evaluation, reply)

        self.app.push_screen(
            TextPrompt("Acknowledge: a reply for your supervisor (optional)", "", 4000), replied
        )

    async def _acknowledge(self, evaluation: Evaluation, reply: str) -> None:
        agent, agent_id = self._agent()
        try:
            await agent.acknowledge(evaluation.id, agent_id, reply)
        except EvaluationError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify("Acknowledged.", markup=False)
        await self.action_reload()
