# SPDX-License-Identifier: GPL-2.0-or-later
"""The Textual application: lifecycle and wiring only.

:func:`create_app` is the one factory shared by the CLI and the tests. The
app opens the store, starts the phone client, routes engine facts to the
agent screen as messages, and on exit asks before hanging up live calls.

Started by the launcher (:func:`launching_app`), it paints its first frame
before anything else: the startup screen (:mod:`console.screens.startup`)
stands while a thread reads the configuration, checks the store and loads the
agent screen's modules; everything that is not Textual itself is imported
there, not at the top of this module.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from console.base_app import BaseApp
from console.commands import AgentActions
from console.core.clock import Clock, utc_now
from console.core.held_writes import HeldWrites
from console.core.malloc_arenas import share_one_arena
from console.core.phone import PhoneClient, PhoneStatus
from console.messages import HubSyncChanged, PhoneEvent, PhoneStatusChanged, StorageChanged
from console.screens.startup import StartupScreen
from console.startup import LaunchAbandonedError, Preparation, Prepare
from console.themes import DEFAULT_THEME, THEMES
from console.wiring import AppWiring

if TYPE_CHECKING:
    from console.core.config import CarelineConfig
    from console.core.ehr.client import FhirClient
    from console.core.ehr.orders import Orders
    from console.core.ehr.refills import Refills
    from console.core.ehr.scheduling import Scheduling
    from console.core.store import Store
    from console.hub.sync import SyncWorker
    from console.idle import SessionLock
    from console.screens.agent import AgentScreen
    from console.services import Services


class CarelineApp(BaseApp):
    """The agent console."""

    CSS_PATH = "careline.tcss"
    TITLE = "careline"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {AgentActions}
    BINDINGS = [
        Binding(
            "q",
            "quit_console",
            "Quit",
            id="app.quit",
            tooltip="Leave careline (asks first if calls are live)",
        ),
        Binding(
            "ctrl+q",
            "quit_console",
            "Quit",
            show=False,
            priority=True,
            id="app.quit_ctrl",
            tooltip="Leave careline (asks first if calls are live)",
        ),
        Binding(
            "ctrl+l",
            "lock",
            "Lock",
            show=False,
            priority=True,
            id="session.lock",
            tooltip="Lock the screen now (calls go on; the PIN unlocks)",
        ),
    ]

    def __init__(
        self,
        config: CarelineConfig | None,
        wiring: AppWiring | None,
        *,
        clock: Clock | None = None,
        start_phone: bool = True,
        prepare: Prepare | None = None,
    ) -> None:
        super().__init__()
        for theme in THEMES.values():
            self.register_theme(theme)
        # careline's own theme from the first frame. A configured other theme is set when
        # the configuration arrives; setting one costs a parse of every style sheet (a
        # tenth of a second), so the default is never set twice.
        self.theme = DEFAULT_THEME
        self.now: Clock = clock or utc_now
        """Current time (UTC); tests freeze it for snapshots."""
        self.start_phone = start_phone
        self._prepare = prepare
        self._closing = False
        """Set as the app unmounts: the launcher's thread then starts nothing more."""
        self.launch_error: BaseException | None = None
        """What stopped the launcher's preparation (the launcher reports it)."""
        self.attach_only = False
        """Only attach to an engine left running; never start one (``careline attach``)."""
        # Set by _configure: at once for the tests, after the first frame for the launcher.
        self.configured = False
        """Whether the configuration is in (config, wiring, phone and session_lock set)."""
        self.config: CarelineConfig
        self.wiring: AppWiring
        self.phone: PhoneClient
        """The phone engine's client."""
        self.session_lock: SessionLock
        """The sign-in at start and the idle lock (console/idle.py)."""
        if config is not None and wiring is not None:
            self._configure(config, wiring)
        self.held = HeldWrites(on_change=self._held_changed, on_saved=self._held_saved)
        """Writes the disk refused (full, failing), kept in memory and retried."""
        self._dropped_shown = 0
        self._storage_shown = ""
        """What the status bar says about unsaved writes ("" when all is saved)."""
        self._services: Services | None = None
        self._agent_screen: AgentScreen | None = None
        self._early: list[Message] | None = []
        """The engine's messages before the agent screen exists (None once it does)."""
        self.sync: SyncWorker | None = None
        """The hub sync, when a hub is configured."""
        self._ehr: FhirClient | None = None
        """The EHR link's client, when one is configured (closed on exit)."""
        self.audio_choice: str | None = None
        """The audio mode asked for at launch (``--audio``), handed to the agent screen;
        the agent's later choices (``u``) live in its audio controller."""

    @property
    def services(self) -> Services:
        """The store, directory, audit, recorder… (built once the app is mounted)."""
        assert self._services is not None, "services used before the app was mounted"
        return self._services

    @property
    def agent_screen(self) -> AgentScreen:
        """The agent's main screen (built once the app is mounted)."""
        assert self._agent_screen is not None, "agent screen used before the app was mounted"
        return self._agent_screen

    def _configure(self, config: CarelineConfig, wiring: AppWiring) -> None:
        """Take the configuration and wiring: the theme, the phone client, the lock."""
        from console.idle import SessionLock

        self.config = config
        self.wiring = wiring
        if config.ui.theme != self.theme:
            self.theme = config.ui.theme
        self.phone = PhoneClient(
            wiring.engine_argv,
            wiring.socket_path,
            on_event=self._phone_event,
            on_status=self._phone_status,
            restart_delay=config.engine.restart_delay,
            stderr_path=wiring.engine_stderr,
        )
        self.phone.attach_only = self.attach_only
        self.session_lock = SessionLock(self, config)
        self.configured = True

    async def on_mount(self) -> None:
        """Show the agent screen, or first the startup screen while the launcher prepares."""
        if self._prepare is None:
            await self._start()
            return
        startup = StartupScreen()
        await self.push_screen(startup)
        # After the first frame is on the terminal: the preparation's imports hold the
        # interpreter most of the time they run, and would hold that frame back.
        self.call_after_refresh(self.run_worker, self._launch(startup), exit_on_error=False)

    async def _launch(self, startup: StartupScreen) -> None:
        """Prepare in a thread behind the startup screen, then start; a failure ends the
        app with the error kept for the launcher."""
        assert self._prepare is not None
        preparation = Preparation(
            self, startup, configure=self._configure_and_start_engine, closing=lambda: self._closing
        )
        try:
            await preparation.run(self._prepare)
        except LaunchAbandonedError:
            return
        except Exception as exc:  # reported by the launcher once the terminal is back
            self.launch_error = exc
            self.exit(return_code=1)
            return
        # The agent screen (and the sign-in over it) replace the startup screen in one
        # frame: the agent's panes are never seen before the sign-in covers them. A start
        # that fails ends the app (fails closed): a half-started console may lack its cover.
        try:
            with self.batch_update():
                await self.pop_screen()
                await self._start()
        except Exception as exc:  # reported by the launcher once the terminal is back
            self.launch_error = exc
            self.exit(return_code=1)

    def _configure_and_start_engine(self, config: CarelineConfig, wiring: AppWiring) -> None:
        """Take the launcher's configuration and start the engine at once: it boots
        (pjsua2, a third of a second, in its own process) beside the rest of the
        preparation; what it says before the agent screen exists waits in _early."""
        self._configure(config, wiring)
        if self.start_phone:
            self.phone.start()

    async def _start(self) -> None:
        """Start the phone, open the store, show the agent screen."""
        from console.core.store import Store
        from console.hub_link import start_sync
        from console.screens.agent import AgentScreen
        from console.services import Services

        self.set_keymap(dict(self.config.keymap))
        if self.start_phone and not self.phone.started:
            # First: the engine takes longer to start (pjsua2, a third of a second) than
            # the store and the first frame, and starts beside them in its own process.
            # What it says before the agent screen exists waits in _early.
            self.phone.start()
        store = await Store.open(self.wiring.store_path, self.wiring.store_key)
        refills, orders = self._prescribing(store)
        self._services = Services.over(
            store,
            config=self.config,
            phone=self.phone,
            held=self.held,
            clock=self.now,
            session=self.session_lock,
            scheduling=self._scheduling(store),
            refills=refills,
            orders=orders,
            store_key=self.wiring.store_key,
        )
        self._agent_screen = AgentScreen(self._services, audio_choice=self.audio_choice)
        await self.push_screen(self.agent_screen)
        early, self._early = self._early, None
        for message in early or ():
            self.agent_screen.post_message(message)
        unknown = set(self.config.keymap) - {row.binding_id for row in self.agent_screen.key_rows()}
        if unknown:
            self.notify(
                f"keymap: no binding with id {', '.join(sorted(unknown))} "
                "(the help screen, ?, lists the ids)",
                severity="warning",
                markup=False,
            )
        self.sync = start_sync(self, self.services, self.show_sync)
        # Still inside Textual's first batch: nothing is painted before the sign-in covers it.
        await self.session_lock.start(self.services, self.agent_screen.queue, self.agent_screen)

    def _scheduling(self, store: Store) -> Scheduling | None:
        """The booking backend: the demo's own schedules, the EHR's, or none. Loaded only
        when there is one (the EHR link's HTTP client is not needed to paint)."""
        if self.wiring.local_scheduling:
            from console.core.ehr.local_scheduling import LocalScheduling

            return LocalScheduling(store)
        if not self.config.ehr.enabled:
            return None
        from console.core.ehr.fhir_scheduling import FhirScheduling

        return FhirScheduling(self._ehr_client())

    def _prescribing(self, store: Store) -> tuple[Refills | None, Orders | None]:
        """The refills and pending-tests backends, chosen as :meth:`_scheduling` chooses the
        booking one (and loaded only when there is one)."""
        if self.wiring.local_scheduling:
            from console.core.ehr.local_orders import LocalOrders
            from console.core.ehr.local_refills import LocalRefills

            return LocalRefills(store), LocalOrders(store)
        if not self.config.ehr.enabled:
            return None, None
        from console.core.ehr.fhir_orders import FhirOrders
        from console.core.ehr.fhir_refills import FhirRefills

        client = self._ehr_client()
        return FhirRefills(client), FhirOrders(client)

    def _ehr_client(self) -> FhirClient:
        """The one EHR client every EHR backend shares (made on first use)."""
        if self._ehr is None:
            from console.core.ehr.client import FhirClient

            # The key was checked at launch (console/launch.py): a ConfigError here is a bug.
            self._ehr = FhirClient.from_config(self.config.ehr)
        return self._ehr

    async def on_event(self, event: events.Event) -> None:
        """Any key or mouse input restarts the idle lock's time."""
        if self.configured and isinstance(event, events.Key | events.MouseEvent):
            self.session_lock.touch()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Quitting and the command palette wait while the screen is locked (while
        careline starts, only quitting is offered)."""
        if not self.configured:
            return action in ("quit_console", "quit")
        return self.session_lock.allows(action) and super().check_action(action, parameters)

    async def action_lock(self) -> None:
        """Lock the screen now (ctrl+l)."""
        if self.configured:
            await self.session_lock.lock()

    def show_sync(self, label: tuple[str, bool]) -> None:
        """Put the hub sync's state in the status bar."""
        self.agent_screen.post_message(HubSyncChanged(label))

    async def on_unmount(self) -> None:
        """Stop the engine by PID, write what the disk held back if it can, close the store."""
        self._closing = True
        if self._agent_screen is not None:
            await self._agent_screen.release_worklist()  # before the store closes
        if self.configured:
            await self.phone.stop()
        if self._ehr is not None:
            await self._ehr.aclose()
        await self.held.close()
        # The screens are gone: a last flush must not try to redraw them.
        self.held.on_change = self.held.on_saved = None
        if self._services is not None:
            if self.held.count:
                await self.held.flush()
            await self._services.store.close()
        if self.held.dropped:
            self._return_code = 1
            print(
                f"careline: {self.held.dropped} held record(s) were refused by the store "
                "when written later (see the log)",
                file=sys.stderr,
            )
        if self.held.count:
            # Said on the terminal after the screen is gone, and the exit code says it too.
            self._return_code = 1
            print(
                f"careline: {self.held.count} record(s) could not be saved "
                f"({self.held.fault or 'the store refused them'}): {self.held.summary()}. "
                "Their calls are closed as lost at the next start.",
                file=sys.stderr,
            )

    def _held_changed(self) -> None:
        """The disk refused a write, or took the held ones: say it in the status bar."""
        if self._agent_screen is None:
            return
        before = self._storage_shown
        text = f"{self.held.fault} — {self.held.summary()}" if self.held.count else ""
        self._storage_shown = text
        self._agent_screen.post_message(StorageChanged(text))
        if self.held.dropped > self._dropped_shown:
            self._dropped_shown = self.held.dropped
            self.notify(
                f"{self.held.dropped} record(s) held while the disk was full were refused "
                "by the store when written (see the log).",
                severity="error",
                markup=False,
                timeout=30,
            )
        if text and not before:
            self.notify(
                f"{self.held.fault}: call records, notes and wrap-ups are kept in memory "
                f"and NOT saved until space is freed (careline retries every "
                f"{self.held.retry_s:.0f} s). Calls go on; do not quit careline.",
                title="Not saving",
                severity="error",
                markup=False,
                timeout=30,
            )
        elif before and not text:
            self.notify("The store takes writes again: everything held is saved.", markup=False)

    async def _held_saved(self) -> None:
        if self._agent_screen is not None:
            await self._agent_screen.refresh_history()

    def _phone_event(self, event: dict[str, object]) -> None:
        self._to_agent_screen(PhoneEvent(event))

    def _phone_status(self, status: PhoneStatus) -> None:
        self._to_agent_screen(PhoneStatusChanged(status))

    def _to_agent_screen(self, message: Message) -> None:
        if self._early is not None:
            self._early.append(message)  # the engine spoke before the screen was up
        else:
            self.agent_screen.post_message(message)

    def action_quit_console(self) -> None:
        """Quit, asking first when calls would be cut off or records are not saved."""
        live = len(self._agent_screen.queue) if self._agent_screen is not None else 0
        warnings = []
        if live:
            warnings.append(f"{live} call(s) are live. Quitting hangs them up.")
        if self.held.count:
            warnings.append(
                f"{self.held.count} record(s) are not saved ({self.held.fault}): "
                "quitting loses them."
            )
        if not warnings:
            self.exit(0)
            return

        from console.dialogs.confirm import ConfirmDialog  # loads when first asked

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self.exit(0)

        self.push_screen(ConfirmDialog(" ".join(warnings) + " Quit anyway?"), decided)


def create_app(
    config: CarelineConfig,
    wiring: AppWiring,
    *,
    clock: Clock | None = None,
    start_phone: bool = True,
) -> CarelineApp:
    """Build the console app (the CLI and the tests both come through here).

    ``clock`` and ``start_phone=False`` exist for snapshot tests, which feed
    engine events by hand at a frozen time.
    """
    share_one_arena()  # before the app starts its threads
    return CarelineApp(config, wiring, clock=clock, start_phone=start_phone)


def launching_app(prepare: Prepare) -> CarelineApp:
    """The console as ``careline run`` and ``demo`` start it: the first frame at once,
    then ``prepare`` (in a thread) and the agent screen."""
    share_one_arena()  # before the app starts its threads
    return CarelineApp(None, None, prepare=prepare)


__all__ = ["AppWiring", "CarelineApp", "create_app", "launching_app"]
