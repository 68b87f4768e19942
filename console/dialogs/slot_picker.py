# SPDX-License-Identifier: GPL-2.0-or-later
"""The slot picker: free appointment slots, earliest first; Enter books the highlighted one.

The dialog knows nothing of the EHR: it is handed ``find`` (the free slots
from a given day) and ``take`` (book one). Both run in workers, so a slow
EHR never freezes the screen; the status line says what is happening in
words. A slot someone else took meanwhile is said so, and the list is
fetched again at once. When the EHR is down or refuses (``can_defer`` says
which errors), ``b`` closes the picker with :data:`BOOK_LATER`: the caller
will be called back to book once it is back. Any other failure of ``find`` or
``take`` (the local store of the demo's scheduling: a full disk, a lock, a failing
read) is said the same way, in the disk's condition (never the error's message, which
may hold patient data), and never closes the console; the log names its kind only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta, tzinfo

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.core.ehr.errors import EhrError
from console.core.ehr.scheduling import SLOT_LIMIT, Booking, SlotOffer, SlotTakenError
from console.core.store_faults import fault_words
from console.core.text import safe_text
from console.dialogs.base import Dialog

log = logging.getLogger(__name__)

DAYS = 14
"""How many days the picker shows at a time (n: the next ones)."""

BOOK_LATER = "book_later"
"""What the picker closes with when the agent chose to book once the EHR is back."""

FindSlots = Callable[[date, int], Awaitable[list[SlotOffer]]]
"""Free slots from a day (local) for a number of days."""
TakeSlot = Callable[[SlotOffer], Awaitable[Booking]]
"""Book one slot (raises SlotTakenError or another EhrError; the local store, its own)."""

_HINT = "Enter: book  ·  n/p: later/earlier days  ·  r: ask again  ·  Esc: close"
_HINT_LATER = "b: book when the system is back  ·  r: ask again  ·  Esc: close"

_COLUMNS = f"{'Day':11}{'Time':7}{'Min':5}{'Clinician':24}{'Location':20}Service"


def _cell(text: str, width: int) -> str:
    """``text`` cut to ``width - 1`` cells and padded to ``width``."""
    text = safe_text(text, width - 1)
    return text + " " * max(0, width - cell_len(text))


def slot_row(offer: SlotOffer, tz: tzinfo | None) -> Text:
    """One line per slot, in the agent's time zone; names from the EHR shown literally."""
    start = offer.start.astimezone(tz)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(_cell(start.strftime("%a %d %b"), 11), style="bold")
    text.append(_cell(start.strftime("%H:%M"), 7), style="bold")
    text.append(_cell(str(offer.minutes), 5))
    text.append(_cell(offer.clinician or "—", 24))
    text.append(_cell(offer.location or "—", 20), style="dim")
    text.append(safe_text(offer.service, 20))
    return text


class SlotPicker(Dialog[Booking | str | None]):
    """Free slots for ``DAYS`` days; Enter books, n/p later or earlier days, r again, Esc;
    b (once the EHR has failed) books later.

    Dismisses with the :class:`Booking` made, :data:`BOOK_LATER`, or None.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="slots.cancel", tooltip="Close without booking"),
        Binding("n", "later", "Later", id="slots.later", tooltip=f"The next {DAYS} days"),
        Binding("p", "earlier", "Earlier", id="slots.earlier", tooltip=f"The {DAYS} days before"),
        Binding("r", "reload", "Again", id="slots.reload", tooltip="Ask the EHR again"),
        Binding(
            "b",
            "book_later",
            "Book later",
            id="slots.later_callback",
            tooltip="A callback to book when the system is back (in the wrap-up)",
        ),
    ]

    DEFAULT_CSS = """
    SlotPicker > Vertical { width: 96; max-width: 100%; max-height: 100%; }
    SlotPicker OptionList { height: auto; max-height: 16; padding: 0; }
    SlotPicker OptionList, SlotPicker OptionList:focus { border: none; }
    SlotPicker #columns { color: $text-muted; }
    SlotPicker #status { padding: 0 0 1 0; }
    SlotPicker #status.-error { color: $error; }
    """

    def __init__(
        self,
        title: str,
        today: date,
        find: FindSlots,
        take: TakeSlot,
        tz: tzinfo | None = None,
        *,
        can_defer: Callable[[Exception], bool] | None = None,
        moves: bool = False,
    ) -> None:
        """``title`` (whose and what, already safe text); slots from ``today`` on, in ``tz``;
        ``can_defer``: whether an error lets the agent book later instead (None: never);
        ``moves``: ``take`` moves an appointment (the words say moved, not booked)."""
        super().__init__()
        self.moves = moves
        self.can_defer = can_defer
        self.deferrable = False
        """The last answer was a failure (the EHR's, or the local store's) that booking
        later may get past."""
        self.title_text = title
        self.today = today
        self.first_day = today
        self.find = find
        self.take = take
        self.tz = tz
        self.offers: list[SlotOffer] = []
        self.busy = False
        """A booking is in flight: Enter does nothing until it is answered."""

    def compose(self) -> ComposeResult:
        """Title, status line, column heads, the slots, the keys."""
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield Label("", id="status", markup=False)
            yield Label(_COLUMNS, id="columns", markup=False)
            yield OptionList(id="slots")
            yield Label(_HINT, id="hint", classes="hint", markup=False)

    def on_mount(self) -> None:
        """Fetch the first days' slots."""
        self.load()

    def say(self, text: str, *, error: bool = False) -> None:
        """Put ``text`` on the status line."""
        status = self.query_one("#status", Label)
        status.update(text)
        status.set_class(error, "-error")

    def failed(self, text: str, exc: Exception) -> None:
        """Say what went wrong; offer to book later when ``can_defer`` says a later
        booking may get past it (the EHR down or refusing, the local store failing)."""
        self.deferrable = self.can_defer is not None and self.can_defer(exc)
        if self.deferrable:
            text += "  b: call back to book when the system is back."
        self.say(text, error=True)
        self.query_one("#hint", Label).update(_HINT_LATER if self.deferrable else _HINT)

    @work(exclusive=True, group="slots")
    async def load(self, note: str = "") -> None:
        """Ask for the slots of the days shown; a failure is said, the old list stays."""
        last = self.first_day + timedelta(days=DAYS - 1)
        span = f"{self.first_day:%a %d %b} – {last:%a %d %b}"
        self.say(f"{note}Looking for free slots, {span}…".strip())
        try:
            offers = await self.find(self.first_day, DAYS)
        except EhrError as exc:
            self.failed(f"{note}{exc}".strip(), exc)
            return
        except Exception as exc:  # the local store: a failing read raises sqlite3's own error
            log.warning("free slots could not be read: %s", type(exc).__name__)
            self.failed(f"{note}Free slots not read ({fault_words(exc)}). r: ask again.", exc)
            return
        self.deferrable = False
        self.query_one("#hint", Label).update(_HINT)
        self.offers = offers
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            Option(slot_row(offer, self.tz), id=str(index)) for index, offer in enumerate(offers)
        )
        if offers:
            options.highlighted = 0
            options.focus()
            shown = f"the first {len(offers)}" if len(offers) >= SLOT_LIMIT else f"{len(offers)}"
            self.say(f"{note}{shown} free, {span}.".strip(), error=bool(note))
        else:
            self.say(f"{note}No free slot {span}: n for later days.".strip(), error=bool(note))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if not self.busy:
            self.book(self.offers[int(event.option.id or 0)])

    @work(exclusive=True, group="booking")
    async def book(self, offer: SlotOffer) -> None:
        """Book ``offer``; on success close with the booking, else say why and stay."""
        self.busy = True
        start = offer.start.astimezone(self.tz)
        self.say(f"{'Moving to' if self.moves else 'Booking'} {start:%a %d %b %H:%M}…")
        try:
            booking = await self.take(offer)
        except SlotTakenError as exc:
            self.load(f"{exc} ")
            return
        except EhrError as exc:
            self.failed(str(exc), exc)
            return
        except Exception as exc:  # the local store: a full disk, a lock, a failing read
            # Its transaction rolled back: nothing changed, and a retry keeps the request
            # id, so it books once. The kind only in the log: the message may hold data.
            log.warning("a slot could not be booked: %s", type(exc).__name__)
            done = "Not moved" if self.moves else "Not booked"
            self.failed(f"{done} ({fault_words(exc)}). Enter tries again.", exc)
            return
        finally:
            self.busy = False
        self.dismiss(booking)

    def action_later(self) -> None:
        """Show the next days."""
        self.first_day += timedelta(days=DAYS)
        self.load()

    def action_earlier(self) -> None:
        """Show the days before (never before today)."""
        self.first_day = max(self.today, self.first_day - timedelta(days=DAYS))
        self.load()

    def action_reload(self) -> None:
        """Ask the EHR again."""
        self.load()

    def action_book_later(self) -> None:
        """Close, asking for a callback to book once the EHR is back (only after it failed,
        and not while a booking is in flight: its answer decides)."""
        if self.deferrable and not self.busy:
            self.dismiss(BOOK_LATER)

    def action_cancel(self) -> None:
        """Close without booking (not while a booking is in flight: its answer decides)."""
        if not self.busy:
            self.dismiss(None)
