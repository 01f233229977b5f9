"""The dictation controller: owns the microphone, the engine and the streaming session.

The window only emits intents and shows what it is told; this object decides what
happens. Everything here runs on the qasync event loop: the audio callback hands
blocks over with `call_soon_threadsafe`, and network work runs in tasks.

Recording goes IDLE -> CONNECTING -> RECORDING -> STOPPING -> IDLE. Audio captured
while the session is being opened (and a short pre-roll from before Record was
pressed) is queued, so the first word is not lost to connection latency.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
from collections.abc import Callable
from datetime import datetime

import numpy as np
from PySide6.QtCore import QObject, Signal

from dictation_app.audio.capture import Microphone
from dictation_app.audio.convert import ChunkPipeline, Level
from dictation_app.audio.devices import InputDevice, list_input_devices
from dictation_app.core.errors import AudioDeviceError, ConfigurationError, DictationError
from dictation_app.core.secrets import BAHASAKITA_TOKEN, SecretStore
from dictation_app.core.settings import Key, Settings
from dictation_app.core.token_expiry import expiry_warning, format_expiry, parse_expiry
from dictation_app.engine.process import EngineProcess
from dictation_app.protocols.bahasakita_account import DEFAULT_BASE_URL as ACCOUNT_BASE_URL
from dictation_app.protocols.bahasakita_account import ServiceToken
from dictation_app.protocols.bahasakita_stream import (
    DEFAULT_URLS,
    FinalTranscript,
    PartialTranscript,
    ProtocolVersion,
)
from dictation_app.transport.bahasakita_account_client import BahasakitaAccountClient
from dictation_app.transport.stream_connection import StreamConnection
from dictation_app.ui.main_window import MainWindow
from dictation_app.ui.settings_dialog import SettingsValues

log = logging.getLogger(__name__)

PROVIDERS = [("local", "Local (offline)"), ("bahasakita", "Bahasakita (cloud)")]
PRE_ROLL_SECONDS = 0.3
LEVEL_BLOCK_MS = 40  # 25 level updates a second
NO_MICROPHONE = ("No microphone found. Connect one and press Refresh, or check that the "
                 "sound server is running.")


class Phase(enum.IntEnum):
    IDLE = 0
    CONNECTING = 1
    RECORDING = 2
    STOPPING = 3


MicrophoneFactory = Callable[..., Microphone]


class DictationController(QObject):
    account_token_changed = Signal()  # a new Bahasakita token was stored (sign-in or pasted)

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        secrets: SecretStore,
        *,
        engine_factory: Callable[[], EngineProcess] = EngineProcess,
        microphone_factory: MicrophoneFactory = Microphone,
        list_devices: Callable[[], list[InputDevice]] = list_input_devices,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ):
        super().__init__()
        self.window = window
        self.settings = settings
        self.secrets = secrets
        self._engine_factory = engine_factory
        self._microphone_factory = microphone_factory
        self._list_devices = list_devices
        self._clock = clock
        self._sign_in_task: asyncio.Task[None] | None = None
        self.devices: list[InputDevice] = []
        self.device: InputDevice | None = None
        self.microphone: Microphone | None = None
        self.engine: EngineProcess | None = None
        self._engine_task: asyncio.Task[str] | None = None
        self.phase = Phase.IDLE
        self._pipeline: ChunkPipeline | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._pre_roll: collections.deque[np.ndarray] = collections.deque()
        self._pre_roll_frames = 0
        self._ptt_active = False
        self._partial = ""
        self._connect_window()

    # --- life cycle ----------------------------------------------------------

    def _connect_window(self) -> None:
        w = self.window
        w.record_requested.connect(self.on_window_record_requested)
        w.stop_requested.connect(self.on_window_stop_requested)
        w.push_to_talk_pressed.connect(self.on_window_push_to_talk_pressed)
        w.push_to_talk_released.connect(self.on_window_push_to_talk_released)
        w.device_selected.connect(self.on_window_device_selected)
        w.devices_refresh_requested.connect(self.on_window_devices_refresh_requested)
        w.provider_selected.connect(self.on_window_provider_selected)
        w.settings_requested.connect(self.on_window_settings_requested)
        w.settings_saved.connect(self.on_window_settings_saved)
        w.sign_in_requested.connect(self.on_window_sign_in_requested)

    def start(self) -> None:
        """Fill the window, open the microphone for the meter, start the engine if needed."""
        self.window.set_providers(PROVIDERS, self.provider)
        self.window.set_push_to_talk_key(self.settings.get_str(Key.PUSH_TO_TALK_KEY))
        self.refresh_devices()
        if self.provider == "local":
            # "Ready" arrives when the engine is up; the warning goes up after it.
            self._ensure_engine().add_done_callback(
                lambda task: task.cancelled() or task.exception()
                or self._show_token_expiry_warning())
        else:
            self._show_ready()
        self._show_token_expiry_warning()

    async def shutdown(self) -> None:
        """Stop recording (keeping what was said), close the microphone, stop the engine."""
        if self.phase is not Phase.IDLE:
            self.stop_recording()
        if self._sign_in_task is not None and not self._sign_in_task.done():
            self._sign_in_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sign_in_task
        if self._session_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._session_task), 10)
        self._close_microphone()
        if self._engine_task is not None and not self._engine_task.done():
            self._engine_task.cancel()
            # Awaited, so a start cut short has killed and reaped its child before the
            # loop closes (otherwise the reaping runs on a closed loop).
            with contextlib.suppress(asyncio.CancelledError, DictationError):
                await self._engine_task
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    @property
    def provider(self) -> str:
        value = self.settings.get_str(Key.PROVIDER)
        return value if value in dict(PROVIDERS) else "local"

    # --- devices -------------------------------------------------------------

    def refresh_devices(self) -> None:
        """List the devices again and reopen the chosen one (not while recording)."""
        if self.phase in (Phase.CONNECTING, Phase.RECORDING):
            return  # re-initialising PortAudio would cut the recording off
        # "" follows the system's default input; a name pins that device.
        wanted = self.settings.get_str(Key.INPUT_DEVICE)
        # Listing re-initialises PortAudio, which closes every open stream under us.
        self._close_microphone()
        self.device = None
        try:
            self.devices = self._list_devices()
        except AudioDeviceError as exc:
            self.devices = []
            self.window.set_status("error", str(exc))
        pinned = next((d for d in self.devices if wanted and d.name == wanted), None)
        chosen = pinned or self._default_device()
        self.window.set_devices(self.devices, pinned.index if pinned else None)
        if chosen is None:
            self.window.set_level(0.0, 0.0)
            self.window.set_status("error", NO_MICROPHONE)
            return
        self._open_microphone(chosen)

    def _default_device(self) -> InputDevice | None:
        default = next((d for d in self.devices if d.is_default), None)
        return default or (self.devices[0] if self.devices else None)

    def _open_microphone(self, device: InputDevice) -> None:
        if self.phase is not Phase.IDLE:
            self.stop_recording()
        self._close_microphone()
        self.device = device
        loop = asyncio.get_event_loop()
        mic = self._microphone_factory(device.index, loop=loop, on_block=self._on_audio_block,
                                       on_error=self._on_microphone_error,
                                       block_ms=LEVEL_BLOCK_MS)
        try:
            mic.start()
        except AudioDeviceError as exc:
            self.window.set_status("error", str(exc))
            return
        self.microphone = mic
        log.info("microphone %s at %d Hz, %d ch", mic.device_name, mic.samplerate, mic.channels)

    def _close_microphone(self) -> None:
        if self.microphone is not None:
            self.microphone.stop()
            self.microphone = None
        self._pre_roll.clear()
        self._pre_roll_frames = 0

    # --- audio (on the loop) -------------------------------------------------

    def _on_audio_block(self, block: np.ndarray, level: Level) -> None:
        self.window.set_level(level.peak, level.rms)
        if self._pipeline is not None and self._queue is not None:
            for chunk in self._pipeline.push(block):
                self._queue.put_nowait(chunk)
            return
        mic = self.microphone
        if mic is None:
            return
        self._pre_roll.append(block)
        self._pre_roll_frames += len(block)
        limit = int(PRE_ROLL_SECONDS * mic.samplerate)
        while self._pre_roll and self._pre_roll_frames - len(self._pre_roll[0]) >= limit:
            self._pre_roll_frames -= len(self._pre_roll.popleft())

    def _on_microphone_error(self, error: AudioDeviceError) -> None:
        log.warning("microphone failed: %s", error)
        if self.phase is not Phase.IDLE:
            self.stop_recording()  # keep and settle what was already said
        self._close_microphone()
        self.device = None
        self.window.set_level(0.0, 0.0)
        self.refresh_devices()
        self.window.set_status("error", str(error))

    # --- engine --------------------------------------------------------------

    def _ensure_engine(self) -> asyncio.Task[str]:
        if self._engine_task is None or (
            self._engine_task.done()
            and (self._engine_task.cancelled() or self._engine_task.exception() is not None
                 or self.engine is None or not self.engine.running)
        ):
            self.engine = self._engine_factory()
            self.window.set_status("starting", "Starting the offline engine…")
            self._engine_task = asyncio.ensure_future(self._start_engine(self.engine))
            # A failure is shown in the status bar; mark it seen even if no session awaits it.
            self._engine_task.add_done_callback(
                lambda task: task.cancelled() or task.exception())
        return self._engine_task

    async def _start_engine(self, engine: EngineProcess) -> str:
        try:
            url = await engine.start()
        except DictationError as exc:
            self.window.set_status("error", f"The offline engine did not start: {exc}")
            raise
        if self.phase is Phase.IDLE:
            self._show_ready()
        return url

    def _show_ready(self) -> None:
        if self.microphone is None:
            if not self.devices:
                self.window.set_status("error", NO_MICROPHONE)
            return  # otherwise the device's own error stays visible
        name = dict(PROVIDERS)[self.provider]
        key = self.settings.get_str(Key.PUSH_TO_TALK_KEY)
        self.window.set_status("idle", f"Ready: {name}. Press Record or hold {key} to dictate.")

    # --- recording -----------------------------------------------------------

    def start_recording(self) -> None:
        if self.phase is not Phase.IDLE:
            return
        mic = self.microphone
        if mic is None:
            self.window.set_status("error", NO_MICROPHONE if not self.devices else
                                   "The microphone is not open: pick one in the list, or press "
                                   "Refresh.")
            return
        try:
            target = self._target()
        except ConfigurationError as exc:
            self.window.set_status("error", str(exc))
            return
        self.phase = Phase.CONNECTING
        self._pipeline = ChunkPipeline(mic.samplerate, mic.channels)
        self._queue = asyncio.Queue()
        for block in self._pre_roll:
            for chunk in self._pipeline.push(block):
                self._queue.put_nowait(chunk)
        self._pre_roll.clear()
        self._pre_roll_frames = 0
        self.window.set_recording(True)
        self.window.set_busy(True)
        self._session_task = asyncio.ensure_future(self._run_session(target, self._queue))

    def stop_recording(self) -> None:
        """Flush the audio, then end the session; finals still arriving are kept."""
        if self.phase not in (Phase.CONNECTING, Phase.RECORDING):
            return
        self.phase = Phase.STOPPING
        self.window.set_status("connecting", "Finishing the transcript…")
        if self._pipeline is not None and self._queue is not None:
            for chunk in self._pipeline.finish():
                self._queue.put_nowait(chunk)
            self._queue.put_nowait(None)
        self._pipeline = None

    def _target(self) -> tuple[str, str | None, ProtocolVersion, str, str]:
        """(url, token, version, language, service name) for the current provider."""
        if self.provider == "local":
            return ("", None, ProtocolVersion.V1, "en", "Local engine")
        token = self.secrets.get(BAHASAKITA_TOKEN)
        if not token:
            raise ConfigurationError(
                "Bahasakita needs a token: open Settings and paste your token, "
                "or switch to Local (offline).")
        version = ProtocolVersion(self.settings.get_str(Key.PROTOCOL_VERSION))
        url = self.settings.get_str(Key.BAHASAKITA_URL) or DEFAULT_URLS[version]
        return (url, token, version, self.settings.get_str(Key.LANGUAGE), "Bahasakita")

    async def _run_session(self, target: tuple[str, str | None, ProtocolVersion, str, str],
                           queue: asyncio.Queue[bytes | None]) -> None:
        url, token, version, language, service = target
        connection: StreamConnection | None = None
        try:
            if not url:
                self.window.set_status("starting", "Waiting for the offline engine…")
                url = await asyncio.shield(self._ensure_engine())
            self.window.set_status("connecting", f"Connecting to {service}…")
            connection = StreamConnection(url, token=token, version=version, language=language,
                                          on_transcript=self._on_transcript, service=service)
            await connection.open()
            if self.phase is Phase.CONNECTING:
                self.phase = Phase.RECORDING
                self.window.set_status("streaming", f"Listening — streaming to {service}")
            self.window.set_busy(False)
            while (chunk := await queue.get()) is not None:
                await connection.send_audio(chunk)
            self.window.set_busy(True)
            await connection.stop()
            self.window.set_status("stopped", "Stopped. The transcript is ready to copy.")
        except DictationError as exc:
            self.window.set_status("error", str(exc))
            if connection is not None:
                await connection.close()
            # The session is gone and no final will replace the grey words: keep them.
            if self._partial:
                self.window.add_final(self._partial)
        except asyncio.CancelledError:
            if connection is not None:
                await connection.close()
            raise
        finally:
            self.phase = Phase.IDLE
            self._partial = ""
            self._pipeline = None
            self._queue = None
            self.window.set_recording(False)
            self.window.set_busy(False)

    def _on_transcript(self, event: PartialTranscript | FinalTranscript) -> None:
        if isinstance(event, FinalTranscript):
            self._partial = ""
            self.window.add_final(event.text)
        else:
            self._partial = event.text
            self.window.show_partial(event.text)

    # --- window intents ------------------------------------------------------

    def on_window_record_requested(self) -> None:
        self.start_recording()

    def on_window_stop_requested(self) -> None:
        self.stop_recording()

    def on_window_push_to_talk_pressed(self) -> None:
        if self.phase is Phase.IDLE:
            self._ptt_active = True
            self.start_recording()

    def on_window_push_to_talk_released(self) -> None:
        if self._ptt_active:
            self._ptt_active = False
            self.stop_recording()

    def on_window_device_selected(self, index: object) -> None:
        if index is None:  # "System default"
            device = self._default_device()
        else:
            device = next((d for d in self.devices if d.index == index), None)
        if device is not None:
            # A pinned device that is missing at the next start falls back to the
            # default for that run, but stays pinned for when it comes back.
            self.settings.set(Key.INPUT_DEVICE, device.name if index is not None else "")
            self._open_microphone(device)
            if self.microphone is not None and self.phase is Phase.IDLE:
                self._show_ready()

    def on_window_devices_refresh_requested(self) -> None:
        self.refresh_devices()
        if self.microphone is not None and self.phase is Phase.IDLE:
            self._show_ready()

    def on_window_provider_selected(self, provider: str) -> None:
        if provider not in dict(PROVIDERS) or provider == self.provider:
            return
        if self.phase is not Phase.IDLE:
            self.stop_recording()
        self.settings.set(Key.PROVIDER, provider)
        if provider == "local":
            self._ensure_engine()
        else:
            self._show_ready()

    def on_window_settings_requested(self) -> None:
        self.window.show_settings(SettingsValues(
            bahasakita_url=self.settings.get_str(Key.BAHASAKITA_URL) or DEFAULT_URLS[
                ProtocolVersion(self.settings.get_str(Key.PROTOCOL_VERSION))],
            bahasakita_token=self.secrets.get(BAHASAKITA_TOKEN) or "",
            protocol_version=self.settings.get_str(Key.PROTOCOL_VERSION),
            language=self.settings.get_str(Key.LANGUAGE),
            push_to_talk_key=self.settings.get_str(Key.PUSH_TO_TALK_KEY),
        ))
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.set_token_info(*self._token_info())

    def on_window_settings_saved(self, values: SettingsValues) -> None:
        version = ProtocolVersion(values.protocol_version)
        # The documented URL is stored as "default", so a later protocol switch follows it.
        url = "" if values.bahasakita_url in DEFAULT_URLS.values() else values.bahasakita_url
        self.settings.set(Key.BAHASAKITA_URL, url)
        self.settings.set(Key.PROTOCOL_VERSION, version.value)
        self.settings.set(Key.LANGUAGE, values.language)
        self.settings.set(Key.PUSH_TO_TALK_KEY, values.push_to_talk_key)
        token_changed = values.bahasakita_token != (self.secrets.get(BAHASAKITA_TOKEN) or "")
        if token_changed:
            # A pasted token is not the one signed in for: its expiry and quota are unknown.
            self.settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, "")
            self.settings.set(Key.BAHASAKITA_TOKEN_QUOTA, "")
        self.secrets.set(BAHASAKITA_TOKEN, values.bahasakita_token)
        if token_changed:
            self.account_token_changed.emit()
        self.window.set_push_to_talk_key(values.push_to_talk_key)
        if values.bahasakita_token and not self.secrets.persistent:
            warning = self._token_expiry_warning()
            self.window.set_status(
                "idle", "Settings saved. No system keyring is available, so the token is kept "
                "for this session only." + (f" {warning}" if warning else ""))
        elif self.phase is Phase.IDLE:
            self._show_ready()
            self._show_token_expiry_warning()

    def on_window_sign_in_requested(self, email: str, password: str) -> None:
        if self._sign_in_task is not None and not self._sign_in_task.done():
            return  # the dialog allows one at a time; a second would race the first
        self._sign_in_task = asyncio.ensure_future(self._sign_in(email, password))

    # --- Bahasakita sign-in and token expiry ---------------------------------

    async def _sign_in(self, email: str, password: str) -> None:
        """Exchange the email and password for a token; keep the token, drop the password."""
        base_url = self.settings.get_str(Key.BAHASAKITA_ACCOUNT_URL) or ACCOUNT_BASE_URL
        try:
            async with BahasakitaAccountClient(base_url=base_url) as client:
                token = await client.sign_in(email, password)
        except DictationError as exc:
            log.info("Bahasakita sign-in failed: %s", type(exc).__name__)
            self._tell_sign_in_result(False, str(exc))
            return
        self._store_signed_in_token(token)
        self.account_token_changed.emit()
        expires, quota = self._token_info()
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.set_token(token.token)
            dialog.set_token_info(expires, quota)
        where = "" if self.secrets.persistent else (
            " No system keyring is available, so the token is kept for this session only.")
        self._tell_sign_in_result(True, f"Signed in as {email.strip()}.{where}")
        if not self._show_token_expiry_warning(over_errors=True):
            self.window.set_status("idle", f"Signed in to Bahasakita as {email.strip()}.{where}")

    def _store_signed_in_token(self, token: ServiceToken) -> None:
        self.secrets.set(BAHASAKITA_TOKEN, token.token)
        expires = token.expire_date.isoformat() if token.expire_date is not None else ""
        self.settings.set(Key.BAHASAKITA_TOKEN_EXPIRES, expires)
        self.settings.set(Key.BAHASAKITA_TOKEN_QUOTA,
                          "" if token.quota is None else str(token.quota))

    def _tell_sign_in_result(self, ok: bool, message: str) -> None:
        dialog = self.window.settings_dialog
        if dialog is not None:
            dialog.show_sign_in_result(ok, message)
        elif not ok:  # the dialog was closed while waiting: say it where it can be seen
            self.window.set_status("error", message)

    def _token_info(self) -> tuple[str, str]:
        """(expiry, quota) of the signed-in token as the Settings dialog shows them."""
        expires = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        return format_expiry(expires), self.settings.get_str(Key.BAHASAKITA_TOKEN_QUOTA)

    def _token_expiry_warning(self) -> str | None:
        if not self.secrets.get(BAHASAKITA_TOKEN):
            return None  # nothing signed in: nothing to expire
        expires = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        return expiry_warning(expires, self._clock())

    def _show_token_expiry_warning(self, *, over_errors: bool = False) -> bool:
        """Put the expiry warning in the status bar, if there is one; True if shown.

        A device or engine error is left in place unless `over_errors`: it says why
        nothing works right now, which matters more than a date.
        """
        warning = self._token_expiry_warning()
        if warning is None or self.phase is not Phase.IDLE:
            return False
        if self.window.status_kind == "error" and not over_errors:
            return False
        expired = parse_expiry(self.settings.get_str(Key.BAHASAKITA_TOKEN_EXPIRES))
        self.window.set_status(
            "error" if expired is not None and expired.astimezone() <= self._clock()
            else "starting", warning)
        return True
