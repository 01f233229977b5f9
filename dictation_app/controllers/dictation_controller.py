"""The dictation controller: the Qt adapter between the window and a live session.

The window only emits intents and shows what it is told; this object decides what
happens. Window signals arrive at `on_window_<signal>` slots, which call the intent
entry points (`start_take`, `stop_take`, `toggle_take`, `hold_started`,
`hold_ended`) that any other source of intent can call as well: a key in the
window, a system-wide key, a command. The take itself (pre-roll, conversion,
queue, connection, phase) is a Qt-free `LiveSession`; its events come back here
as `on_session_*` calls and become window updates.

Each take's finals go through a `TakeFormatter` (core/text) built from the Settings at
the take's start: the window applies each `Formatted` (retract, then append) and the
journal keeps the same text, so History and a recovered take read as the window did.
Partials are shown with the formatter's spacing, replacements and mask (not its
commands, which act on finals only).

The microphone is owned by `MicrophoneController`, the Bahasakita sign-in and
token expiry by `AccountController`, the engine child the local provider streams
to by `EngineController`. Everything runs on the qasync event loop: the
audio callback hands blocks over with `call_soon_threadsafe`, network work runs
in tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dictation_app.audio.capture import Microphone
from dictation_app.audio.devices import InputDevice, list_input_devices
from dictation_app.controllers.account_controller import AccountController
from dictation_app.controllers.engine_controller import EngineController
from dictation_app.controllers.messages import Where, needs_settings_token, window_message
from dictation_app.controllers.microphone_controller import (
    NO_MICROPHONE,
    MicrophoneController,
    MicrophoneFactory,
)
from dictation_app.core.autostart import Autostart, AutostartError
from dictation_app.core.deadline import within
from dictation_app.core.errors import (
    AudioDeviceError,
    ConfigurationError,
    DictationError,
    ReconnectGaveUp,
)
from dictation_app.core.secrets import SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.core.text.formatter import Formatted, TakeFormatter, mask_profanity
from dictation_app.core.text.replacements import apply_replacements, parse_replacements
from dictation_app.engine.process import EngineProcess
from dictation_app.engine.registry import REGISTRY as ENGINE_REGISTRY
from dictation_app.protocols.app_command import CommandReply, LiveState, RecordAction, RecordCommand
from dictation_app.protocols.bahasakita_stream import DEFAULT_URLS, ProtocolVersion
from dictation_app.services.live_providers import (
    DEFAULT_LIVE_PROVIDER,
    LIVE_PROVIDERS,
    failover_note,
    fallback_for,
    live_engine_args,
    live_language,
    live_provider,
    provider_choices,
)
from dictation_app.services.live_session import LiveSession, Phase
from dictation_app.takes.journal import TakeJournal
from dictation_app.takes.model import Take, joined
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.settings_dialog import SettingsValues

__all__ = ["DictationController", "Phase"]

log = logging.getLogger(__name__)



ADD_TOKEN = "Add token…"  # the status line's button when the cloud has no token
# ... and when a take stopped retrying: its recording, as a file job
TRANSCRIBE_RECORDING = "Transcribe the recording"
CLOSING_AFTER_TAKE = ("The window closes once the take is finished; close it again to quit "
                      "now (the take is kept in History).")

class DictationController(QObject):
    account_token_changed = Signal()  # a new Bahasakita token was stored (sign-in or pasted)
    account_address_changed = Signal()  # Settings changed the account's REST base URL
    takes_changed = Signal()  # a take was journaled to its end, or recovered
    # A take began (its finals follow); then each final as formatted, once shown and
    # journaled: what typing into another app applies (Formatted: retract, then text).
    take_began = Signal()
    text_settled = Signal(object)
    # A take's recording (a Path) to transcribe as a file job: the take gave up
    # reconnecting and the person asked for its audio to be transcribed after all.
    transcribe_recording_requested = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        secrets: SecretStore,
        *,
        engine_factory: Callable[[], EngineProcess] | None = None,
        microphone_factory: MicrophoneFactory = Microphone,
        list_devices: Callable[[], list[InputDevice]] = list_input_devices,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        journal: TakeJournal | None = None,
        autostart: Autostart | None = None,
    ):
        super().__init__()
        self.window = window
        # Start at login is the desktop's file (or registry value), not a setting.
        self.autostart = autostart if autostart is not None else Autostart()
        self.settings = settings
        self.secrets = secrets
        self._hold_active = False
        self._recording_shown = False
        self.journal = journal
        self.recovered: list[Take] = []  # takes the last run left unfinished, shown at start
        self._recovered_note = ""
        self._take_service = ""
        self._closing = False  # the window waits for this take to end, then closes
        self._take_prefix: str | None = None  # the transcript before the current take
        self._gave_up_recording: Path | None = None  # offered by the status line's button
        self._device_failure = ""  # why the take is ending, said again when it has ended
        self._clock = clock
        self._formatter: TakeFormatter | None = None  # the current take's
        self._take_heading: str | None = None  # shown with the take's first words
        # The live engine child runs the engine and language Preferences name.
        self._engine_stale = False  # Preferences changed them during a take
        self._engine_restart: asyncio.Future[None] | None = None
        self.engines = EngineController(
            window, on_started=self._on_engine_started,
            engine_factory=engine_factory or (
                lambda: EngineProcess(extra_args=live_engine_args(self.settings))))
        self.session = LiveSession(self, engine_url=self.engines.ensure,
                                   recorder=None if journal is None else journal.record)
        self.microphones = MicrophoneController(
            window, settings, on_block=self.session.feed, on_opened=self._on_microphone_opened,
            on_closed=self.session.clear_pre_roll, on_failed=self._on_microphone_failed,
            microphone_factory=microphone_factory, list_devices=list_devices,
            is_recording=lambda: self.phase in (Phase.CONNECTING, Phase.RECORDING),
            on_devices_changed=self._on_devices_changed)
        self.account = AccountController(
            window, settings, secrets, on_token_changed=self.account_token_changed.emit,
            on_address_changed=self.account_address_changed.emit,
            is_idle=lambda: self.phase is Phase.IDLE, clock=clock)
        self._connect_window()

    # --- life cycle ----------------------------------------------------------

    def _connect_window(self) -> None:
        w = self.window
        w.record_requested.connect(self.on_window_record_requested)
        w.stop_requested.connect(self.on_window_stop_requested)
        w.close_deferred.connect(self.on_window_close_deferred)
        w.push_to_talk_pressed.connect(self.on_window_push_to_talk_pressed)
        w.push_to_talk_released.connect(self.on_window_push_to_talk_released)
        w.device_selected.connect(self.on_window_device_selected)
        w.devices_refresh_requested.connect(self.on_window_devices_refresh_requested)
        w.provider_selected.connect(self.on_window_provider_selected)
        w.settings_requested.connect(self.on_window_settings_requested)
        w.settings_saved.connect(self.on_window_settings_saved)
        w.sign_in_requested.connect(self.on_window_sign_in_requested)
        w.status_action_requested.connect(self.on_window_status_action_requested)

    def start(self) -> None:
        """Fill the window, open the microphone for the meter, start the engine if needed;
        show the takes a crash interrupted, and delete recordings past their days."""
        self._recover_takes()
        self.window.set_providers(provider_choices(), self.provider)
        self.window.set_push_to_talk_key(self.settings.get_str(Key.PUSH_TO_TALK_KEY))
        self.window.set_toggle_key(self.settings.get_str(Key.TOGGLE_KEY))
        self.refresh_devices()
        self.microphones.start_watching()
        if live_provider(self.provider).uses_engine:
            # "Ready" arrives when the engine is up; the warning goes up after it.
            self.engines.ensure().add_done_callback(
                lambda task: task.cancelled() or task.exception()
                or self.account.show_expiry_warning())
        else:
            self._show_ready()
        self.account.show_expiry_warning()

    async def shutdown(self) -> None:
        """Stop recording (keeping what was said), close the microphone, stop the engine."""
        skipped = self.window.finishing_skipped
        if skipped:
            # Closed again rather than wait: end now; the journal has the take, its finals
            # so far and all of its recording, and the History tab shows it next time.
            await self.session.close()
        elif self.phase is not Phase.IDLE:
            self.stop_take()
        await self.account.shutdown()
        if not skipped:
            with contextlib.suppress(Exception):
                await within(self.session.finished(), 10)
        await self.session.close()
        self.microphones.stop_watching()
        self.microphones.close()
        if self._engine_restart is not None:
            with contextlib.suppress(Exception):
                await self._engine_restart  # a restart under way ends before the child
        await self.engines.shutdown()

    @property
    def provider(self) -> str:
        value = self.settings.get_str(Key.PROVIDER)
        return value if value in LIVE_PROVIDERS else DEFAULT_LIVE_PROVIDER

    @property
    def phase(self) -> Phase:
        return self.session.phase

    @property
    def engine(self) -> EngineProcess | None:
        return self.engines.engine

    @property
    def microphone(self) -> Microphone | None:
        return self.microphones.microphone

    @property
    def devices(self) -> list[InputDevice]:
        return self.microphones.devices

    # --- intents: any source may call these ----------------------------------

    def start_take(self) -> None:
        """Start dictating, if nothing is being dictated now."""
        if self.phase is not Phase.IDLE:
            return
        if self.microphone is None:
            self.window.set_status("error", NO_MICROPHONE if not self.devices else
                                   "The microphone is not open: pick one in the list, or press "
                                   "Refresh.")
            return
        try:
            target = live_provider(self.provider).resolve(self.settings, self.secrets)
        except ConfigurationError as exc:
            self._show_problem(exc)
            return
        self._begin_formatting(target.language)
        self.take_began.emit()
        self._begin_journal(target.service)
        try:
            self.session.start(target, fallback=fallback_for(target, self.settings))
        except BaseException:
            self._end_journal()
            raise

    def stop_take(self) -> None:
        """Flush the audio, then end the session; finals still arriving are kept."""
        self.session.stop()

    def toggle_take(self) -> None:
        if self.phase is Phase.IDLE:
            self.start_take()
        else:
            self.stop_take()

    def answer_record_command(self, command: RecordCommand) -> CommandReply:
        """`dictation-app record ACTION` from another process (a desktop key binding).

        toggle starts a take when idle and stops one connecting or recording; while one
        is stopping it leaves it to finish. A start the window refuses (no microphone, a
        setting missing) answers with the window's reason.
        """
        action = command.action
        if action is RecordAction.TOGGLE:
            action = RecordAction.START if self.phase is Phase.IDLE else (
                RecordAction.STOP if self.phase is not Phase.STOPPING else RecordAction.STATUS)
        if action is RecordAction.START and self.phase is Phase.IDLE:
            self.start_take()
            if self.phase is Phase.IDLE:
                return CommandReply(False, LiveState.IDLE, self.window.status_text
                                    or "The app did not start a take; its window says why.")
        elif action is RecordAction.STOP:
            self.stop_take()
        return CommandReply(True, LiveState[self.phase.name])

    def hold_started(self) -> None:
        """Push-to-talk pressed: a take that lasts while it is held."""
        if self.phase is Phase.IDLE:
            self._hold_active = True
            self.start_take()

    def hold_ended(self) -> None:
        """Push-to-talk released: ends the take the hold started (not one started otherwise)."""
        if self._hold_active:
            self._hold_active = False
            self.stop_take()

    # --- devices -------------------------------------------------------------

    def refresh_devices(self) -> None:
        """List the devices again and reopen the chosen one (not while recording)."""
        if self.phase in (Phase.CONNECTING, Phase.RECORDING):
            return  # re-initialising PortAudio would cut the recording off
        self.microphones.refresh()

    def _on_microphone_opened(self, mic: Microphone) -> None:
        self.session.set_source(mic.samplerate, mic.channels)

    def _on_devices_changed(self) -> None:
        """Microphones came or went: a line saying there was none is out of date now."""
        if (self.microphone is not None and self.phase is Phase.IDLE
                and self.window.status_text == NO_MICROPHONE):
            self._show_ready()

    def _on_microphone_failed(self, error: AudioDeviceError) -> None:
        if self.phase is not Phase.IDLE:
            self._device_failure = str(error)
        self.stop_take()  # keep and settle what was already said
        self.microphones.forget()
        self.refresh_devices()
        self.window.set_status("error", str(error))

    # --- status ---------------------------------------------------------------

    def _on_engine_started(self) -> None:
        if self.phase is Phase.IDLE:
            self._show_ready()

    def _show_ready(self) -> None:
        if self.microphone is None:
            if not self.devices:
                self.window.set_status("error", NO_MICROPHONE)
            return  # otherwise the device's own error stays visible
        provider = live_provider(self.provider)
        if not provider.uses_engine:
            # Said now, not after Record: a cloud provider without its token cannot start.
            try:
                provider.resolve(self.settings, self.secrets)
            except ConfigurationError as exc:
                self._show_problem(exc)
                return
        name = provider.label
        key = self.settings.get_str(Key.PUSH_TO_TALK_KEY)
        self.window.set_status("idle", f"Ready: {name}. Press Record or hold {key} to dictate."
                               + self._recovered_note)

    def _show_problem(self, exc: ConfigurationError) -> None:
        """A take cannot start: say why, with a button to the fix when Settings holds it."""
        action = ADD_TOKEN if needs_settings_token(exc) else ""
        self._gave_up_recording = None  # the button is this problem's now
        self.window.set_status("error", window_message(exc, Where.LIVE), action=action)

    # --- the take journal ------------------------------------------------------

    def _recover_takes(self) -> None:
        if self.journal is None:
            return
        store = self.journal.store
        try:
            store.purge_recordings(int(self.settings.get(Key.RECORDINGS_DAYS)))
            self.recovered = store.recover()
        except (sqlite3.Error, OSError) as exc:
            log.error("could not recover interrupted takes: %s", exc)
            self.window.set_status("error", f"The take history could not be read ({exc}).")
            return
        timestamps = self.settings.get_bool(Key.TAKE_TIMESTAMPS)
        for take in self.recovered:
            if take.text:  # as stored: the journal keeps what the window showed
                started = datetime.fromtimestamp(take.started)
                self.window.begin_take(started.strftime("%H:%M") if timestamps else "")
                self.window.add_final(Formatted(take.text))
        if self.recovered:
            self.takes_changed.emit()
            last = self.recovered[-1]
            when = datetime.fromtimestamp(last.started).strftime("%H:%M on %d %b")
            count = len(self.recovered)
            what = (f"the take interrupted at {when} was recovered" if count == 1 else
                    f"{count} interrupted takes were recovered, the last from {when}")
            self._recovered_note = (f" The app closed unexpectedly last time: {what}; its "
                                    "transcript is shown below and kept in the history.")
            self.window.set_status("idle", self._recovered_note.strip())

    def _begin_journal(self, service: str) -> None:
        self._take_service = service
        self._gave_up_recording = None
        self._recovered_note = ""
        if self.journal is None:
            return
        self.journal.keep_recordings = self.settings.get_bool(Key.KEEP_RECORDINGS)
        self._take_prefix = None  # set when the take's paragraph opens
        self.journal.begin(service)

    def _end_journal(self) -> None:
        journal = self.journal
        if journal is None or journal.take is None:
            return
        take_id = journal.take.id
        edited = self._edited_text()
        journal.end(edited)
        if journal.problem:
            self.window.set_status("error", journal.problem)
        log.info("take %d journaled", take_id)
        self.takes_changed.emit()

    def _edited_text(self) -> str | None:
        """The take's part of the transcript when the person changed it, else None."""
        journal, prefix = self.journal, self._take_prefix
        self._take_prefix = None
        text = self.window.transcript.plain_text()
        if journal is None or journal.take is None or prefix is None \
                or not text.startswith(prefix):
            return None  # the text before the take was edited: its part is not known
        own = " ".join(text[len(prefix):].split())
        finals = joined(f.text for f in journal.finals)
        return None if own == " ".join(finals.split()) else own

    def note_history_problem(self, message: str) -> None:
        """Say with every Ready that the take history is not being kept where it should."""
        self._recovered_note = f" {message}"

    # --- session events (LiveListener) ---------------------------------------

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        recording = phase is not Phase.IDLE
        if recording != self._recording_shown:
            self._recording_shown = recording
            self.window.set_recording(recording)
        self.window.set_busy(busy)
        if phase is Phase.IDLE:
            self._end_journal()
            if self._engine_stale:
                self._restart_engine()

    def on_session_status(self, kind: str, message: str) -> None:
        behind = self.session.behind_seconds
        if self.phase is Phase.STOPPING and behind >= 1.0 and kind == "connecting":
            # A slow or lost link left audio queued: say how much, and how to skip it.
            message = (f"{message} {behind:.0f} s of audio still to send; press Stop again "
                       "to drop it.")
        if self._closing and self.phase is not Phase.IDLE:
            message = f"{message} {CLOSING_AFTER_TAKE}"
        if kind == "stopped" and self._device_failure:
            # The take ended because its microphone went: that stays the news.
            kind, message = "error", f"{self._device_failure} {message}"
        if kind in ("stopped", "error") or self.phase is Phase.IDLE:
            self._device_failure = ""
        self.window.set_status(kind, message)

    def on_session_partial(self, text: str) -> None:
        formatter = self._formatter
        if formatter is None or not text.strip():
            self.window.show_partial(text)
            return
        self._open_take_paragraph()
        shown = apply_replacements(text, formatter.replacements)
        if formatter.mask_profanity:
            shown = mask_profanity(shown)
        self.window.show_partial(shown, formatter.spacing(shown))

    def on_session_final(self, text: str, service: str) -> None:
        # Words from the fallback engine (failover) are marked as its own.
        note = "" if service == self._take_service else (
            f"Heard by the {service} while {self._take_service} could not be reached")
        formatter = self._formatter
        if formatter is None:
            self.window.add_final(text, engine_note=note)
            if self.journal is not None:
                self.journal.add_final(text, service)
            if text.strip():
                self.text_settled.emit(Formatted(text))
            return
        if not text.strip():
            self.window.add_final("")  # withdraws the partial
            return
        formatted = formatter.feed(text)
        if formatted.text or formatted.retract:
            self._open_take_paragraph()
        self.window.add_final(formatted, engine_note=note)
        if self.journal is not None:
            self.journal.add_final(formatted.text, service, retract=formatted.retract)
        if formatted.text or formatted.retract:
            self.text_settled.emit(formatted)

    # --- formatting --------------------------------------------------------------

    def _begin_formatting(self, language: str) -> None:
        """The take's formatter, from the Settings as they are now."""
        try:
            replacements = parse_replacements(self.settings.get_str(Key.WORD_REPLACEMENTS))
        except ConfigurationError as exc:
            # Settings validates what it saves; a hand-edited file can still be wrong.
            log.warning("word replacements ignored: %s", exc)
            replacements = []
        self._formatter = TakeFormatter(
            language=language, spoken_commands=self.settings.get_bool(Key.SPOKEN_COMMANDS),
            replacements=replacements, mask_profanity=self.settings.get_bool(Key.MASK_PROFANITY))
        shown = self.settings.get_bool(Key.TAKE_TIMESTAMPS)
        self._take_heading = self._clock().strftime("%H:%M") if shown else ""

    def _open_take_paragraph(self) -> None:
        """With the take's first words: its own paragraph under its start time. Not at
        Record, so a take that says nothing leaves no empty heading behind."""
        if self._take_heading is None:
            return
        self.window.begin_take(self._take_heading)
        self._take_heading = None
        self._take_prefix = self.window.transcript.plain_text()

    def on_session_error(self, error: DictationError) -> None:
        take = None if self.journal is None else self.journal.take
        recording = None if take is None else take.recording
        if isinstance(error, ReconnectGaveUp) and recording is not None:
            # The audio the link never delivered is in the recording: offer it as a job
            # (the Files panel's service, which may be the offline engine).
            self._gave_up_recording = recording
            self.window.set_status("error", window_message(error, Where.LIVE),
                                   action=TRANSCRIBE_RECORDING)
            return
        self.window.set_status("error", window_message(error, Where.LIVE))

    # --- window intents ------------------------------------------------------

    def on_window_record_requested(self) -> None:
        self.start_take()

    def on_window_stop_requested(self) -> None:
        if self.phase is Phase.STOPPING:
            # Stop again while the take still sends its backlog: the person would rather
            # not wait for the rest (what was sent still gets its finals).
            self.session.stop(discard_backlog=True)
            return
        self.stop_take()

    def on_window_close_deferred(self) -> None:
        """Close asked for mid-take: finish it (queued audio, last final), then close."""
        self._closing = True
        self.stop_take()

    def on_window_push_to_talk_pressed(self) -> None:
        self.hold_started()

    def on_window_push_to_talk_released(self) -> None:
        self.hold_ended()

    def on_window_device_selected(self, device_id: str) -> None:
        device = self.microphones.find(device_id)
        if device is None:
            return
        self.stop_take()  # a take does not survive its device being closed
        self.microphones.choose(device)
        if self.microphone is not None and self.phase is Phase.IDLE:
            self._show_ready()

    def on_window_devices_refresh_requested(self) -> None:
        self.refresh_devices()
        if self.microphone is not None and self.phase is Phase.IDLE:
            self._show_ready()

    def on_window_provider_selected(self, provider: str) -> None:
        if provider not in LIVE_PROVIDERS or provider == self.provider:
            return
        if self.phase is not Phase.IDLE:
            self.stop_take()
        self.settings.set(Key.PROVIDER, provider)
        # What the status line said was about the provider left behind (a red "cannot
        # connect" from the cloud): it goes now, whatever the new one has to say.
        if live_provider(provider).uses_engine:
            if self.engines.ensure().done():
                self._show_ready()  # the engine was already up: no "started" will come
        else:
            self._show_ready()

    def on_window_settings_requested(self) -> None:
        self.window.show_settings(SettingsValues(
            bahasakita_url=self.settings.get_str(Key.BAHASAKITA_URL) or DEFAULT_URLS[
                ProtocolVersion(self.settings.get_str(Key.PROTOCOL_VERSION))],
            bahasakita_token=self.account.token,
            protocol_version=self.settings.get_str(Key.PROTOCOL_VERSION),
            language=self.settings.get_str(Key.LANGUAGE),
            push_to_talk_key=self.settings.get_str(Key.PUSH_TO_TALK_KEY),
            keep_recordings=self.settings.get_bool(Key.KEEP_RECORDINGS),
            recordings_days=int(self.settings.get(Key.RECORDINGS_DAYS)),
            failover=self.settings.get_bool(Key.FAILOVER),
            spoken_commands=self.settings.get_bool(Key.SPOKEN_COMMANDS),
            mask_profanity=self.settings.get_bool(Key.MASK_PROFANITY),
            word_replacements=self.settings.get_str(Key.WORD_REPLACEMENTS),
            take_timestamps=self.settings.get_bool(Key.TAKE_TIMESTAMPS),
            bahasakita_account_url=self.account.stored_account_url,
            system_wide_keys=self.settings.get_bool(Key.SYSTEM_WIDE_KEYS),
            toggle_key=self.settings.get_str(Key.TOGGLE_KEY),
            output_mode=self.settings.get_str(Key.OUTPUT_MODE),
            live_engines=tuple((e.name, e.label, e.languages) for e in ENGINE_REGISTRY.all()),
            live_engine=self.settings.get_str(Key.LIVE_ENGINE),
            live_language=live_language(self.settings),
            start_at_login=self.autostart.is_enabled(),
            close_to_tray=self.settings.get_str(Key.CLOSE_TO_TRAY),
            tray_available=self.window.tray is not None,
            microphones=tuple((d.id, d.label) for d in self.devices),
            microphone=self._microphone_in_use(),
        ))
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.set_token_info(*self.account.token_info())
            dialog.set_failover_note(failover_note(self.settings.get_str(Key.LANGUAGE),
                                                   live_language(self.settings)))

    def on_window_status_action_requested(self) -> None:
        """The status line's button: "Add token…" opens Settings at the token field;
        "Transcribe the recording" hands a take that gave up reconnecting to Files."""
        recording, self._gave_up_recording = self._gave_up_recording, None
        if recording is not None:
            self.transcribe_recording_requested.emit(recording)
            self.window.set_status("idle", "The take's recording was added to the Files "
                                   "panel; its transcript will appear there.")
            return
        self.on_window_settings_requested()
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.focus_token()

    def open_sign_in(self) -> None:
        """The account tab's "Sign in…": Settings, with the cursor in the sign-in email."""
        self.on_window_settings_requested()
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.focus_sign_in()

    def on_window_settings_saved(self, values: SettingsValues) -> None:
        version = ProtocolVersion(values.protocol_version)
        # The documented URL is stored as "default", so a later protocol switch follows it.
        url = "" if values.bahasakita_url in DEFAULT_URLS.values() else values.bahasakita_url
        self.settings.set(Key.BAHASAKITA_URL, url)
        self.settings.set(Key.PROTOCOL_VERSION, version.value)
        self.settings.set(Key.LANGUAGE, values.language)
        self.settings.set(Key.PUSH_TO_TALK_KEY, values.push_to_talk_key)
        self.settings.set(Key.KEEP_RECORDINGS, bool(values.keep_recordings))
        self.settings.set(Key.RECORDINGS_DAYS, max(0, int(values.recordings_days)))
        self.settings.set(Key.FAILOVER, bool(values.failover))
        # The next take's formatter reads these; the dialog saved only a list that parses.
        self.settings.set(Key.SPOKEN_COMMANDS, bool(values.spoken_commands))
        self.settings.set(Key.MASK_PROFANITY, bool(values.mask_profanity))
        self.settings.set(Key.WORD_REPLACEMENTS, values.word_replacements)
        self.settings.set(Key.TAKE_TIMESTAMPS, bool(values.take_timestamps))
        self.settings.set(Key.SYSTEM_WIDE_KEYS, bool(values.system_wide_keys))
        self.settings.set(Key.TOGGLE_KEY, values.toggle_key)
        self.settings.set(Key.OUTPUT_MODE, values.output_mode)
        if values.microphone and values.microphone != self._microphone_in_use():
            self.on_window_device_selected(values.microphone)  # as the picker does
            self.window.set_devices(self.devices, values.microphone)  # and it shows so
        engine_before = live_engine_args(self.settings)
        if values.live_engine:
            self.settings.set(Key.LIVE_ENGINE, values.live_engine)
        self.settings.set(Key.LIVE_LANGUAGE, values.live_language)
        if live_engine_args(self.settings) != engine_before:
            self._restart_engine()
        self.account.save_account_url(values.bahasakita_account_url)
        self.account.save_token(values.bahasakita_token)
        self.window.set_push_to_talk_key(values.push_to_talk_key)
        self.window.set_toggle_key(values.toggle_key)
        self.settings.set(Key.CLOSE_TO_TRAY, values.close_to_tray)
        self.window.set_close_policy(values.close_to_tray)
        if values.start_at_login != self.autostart.is_enabled():
            try:
                self.autostart.set_enabled(values.start_at_login)
            except AutostartError as exc:
                log.warning("%s", exc)
                self.window.set_status("error", str(exc))
                return
        if values.bahasakita_token and not self.secrets.persistent:
            warning = self.account.expiry_warning()
            self.window.set_status(
                "idle", "Preferences saved. No system keyring is available, so the token is kept "
                "for this session only." + (f" {warning}" if warning else ""))
        elif self.phase is Phase.IDLE:
            self._show_ready()
            self.account.show_expiry_warning()

    def _restart_engine(self) -> None:
        """Preferences named another live engine or language: the child is replaced now,
        or once the take in progress has ended (its words come from the old one)."""
        if self.phase is not Phase.IDLE:
            self._engine_stale = True
            return
        self._engine_stale = False

        async def restart() -> None:
            await self.engines.shutdown()
            if live_provider(self.provider).uses_engine and not self._closing:
                self.engines.ensure()

        self._engine_restart = asyncio.ensure_future(restart())

    def _microphone_in_use(self) -> str:
        """The id the picker shows: the stored one, or the default's when it follows it."""
        stored = self.settings.get_str(Key.INPUT_DEVICE)
        if stored:
            return stored
        default = next((d for d in self.devices if d.is_default), None)
        return default.id if default is not None else ""

    def on_window_sign_in_requested(self, email: str, password: str) -> None:
        self.account.sign_in(email, password)
