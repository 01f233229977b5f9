"""Capture a microphone with PortAudio and hand each block to the event loop.

The PortAudio callback runs on its own thread and does almost nothing: it copies
the frames, measures their level and passes both to the loop with
`call_soon_threadsafe`. Everything else, including noticing that the device
vanished (PortAudio finished the stream, or it stopped delivering), happens on
the loop, which reports it once through `on_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from dictation_app.audio.convert import Level, measure_level
from dictation_app.audio.sound_server import pulse_source_environment
from dictation_app.core.errors import AudioDeviceError

if TYPE_CHECKING:
    import sounddevice

_MAX_CHANNELS = 2  # we only downmix, so more channels would be wasted work
# Rates tried, in order, when a device refuses its own default (all >= 16 kHz,
# so the converter only ever downsamples).
_FALLBACK_RATES = (48_000, 44_100, 32_000, 22_050, 16_000, 96_000)
_SETTINGS_HINT = "choose another microphone in the list at the top of the window"


class Microphone:
    """One input stream at the device's own rate and channel count (at most two).

    `on_block(frames, level)` receives a float32 (frames, channels) array on the
    loop for every block; `on_error(AudioDeviceError)` is called on the loop, at
    most once per `start()`, when the device vanishes or stops delivering audio.
    Neither is called after `stop()` returns.
    """

    def __init__(
        self,
        device: int | None,
        *,
        loop: asyncio.AbstractEventLoop,
        on_block: Callable[[np.ndarray, Level], None],
        on_error: Callable[[AudioDeviceError], None],
        block_ms: int = 50,
        stall_timeout: float = 2.0,
        source: str | None = None,
        label: str | None = None,
    ):
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, got {block_ms}")
        if stall_timeout <= 0:
            raise ValueError(f"stall_timeout must be positive, got {stall_timeout}")
        self._device = device
        # A sound server source to record (PortAudio's "pulse" device as `device`),
        # and the name messages give the device instead of PortAudio's.
        self._source = source
        self._label = label
        self._loop = loop
        self._on_block = on_block
        self._on_error = on_error
        self._block_ms = block_ms
        self._stall_timeout = float(stall_timeout)

        self._stream: sounddevice.InputStream | None = None
        # A fresh token per start(): late deliveries from an old stream compare
        # unequal and are dropped.
        self._session: object | None = None
        self._samplerate: int | None = None
        self._channels: int | None = None
        self._device_name: str | None = None
        # Written only by the PortAudio thread, read by the loop.
        self._callbacks = 0
        self._overflows = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self._seen_callbacks = 0
        self._last_progress = 0.0

    # -- state ------------------------------------------------------------------

    @property
    def samplerate(self) -> int:
        """Rate of the blocks handed to `on_block` (valid once started)."""
        if self._samplerate is None:
            raise RuntimeError("Microphone.samplerate is known only after start()")
        return self._samplerate

    @property
    def channels(self) -> int:
        """Channels of the blocks handed to `on_block` (valid once started)."""
        if self._channels is None:
            raise RuntimeError("Microphone.channels is known only after start()")
        return self._channels

    @property
    def device_name(self) -> str:
        """PortAudio's name for the device (valid once started)."""
        if self._device_name is None:
            raise RuntimeError("Microphone.device_name is known only after start()")
        return self._device_name

    @property
    def running(self) -> bool:
        return self._stream is not None

    @property
    def overflows(self) -> int:
        """Blocks PortAudio flagged as input overflow (frames were dropped) since start()."""
        return self._overflows

    # -- control ----------------------------------------------------------------

    def start(self) -> None:
        """Open and start the stream; raise AudioDeviceError naming the device and the fix."""
        if self._stream is not None:
            raise RuntimeError("Microphone.start() called while already running")
        sd = _import_sounddevice()
        # libpulse picks the source when the device is opened (also by the format
        # checks), so the variable is set for all of the opening.
        with pulse_source_environment(self._source):
            self._open(sd)

    def _open(self, sd: Any) -> None:
        index, info = _resolve_device(sd, self._device)
        name = self._label or str(info["name"])
        samplerate, channels = _choose_format(sd, index, info)

        session = object()
        blocksize = max(1, round(samplerate * self._block_ms / 1000))
        try:
            stream = sd.InputStream(
                device=index,
                samplerate=samplerate,
                channels=channels,
                dtype="float32",
                blocksize=blocksize,
                callback=self._make_callback(session),
                finished_callback=self._make_finished_callback(session),
            )
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"Could not open the microphone “{name}” at {samplerate} Hz, {channels} ch: "
                f"{exc}. Check that no other program is using it exclusively, "
                f"or {_SETTINGS_HINT}."
            ) from exc

        self._session = session
        self._stream = stream
        self._samplerate = samplerate
        self._channels = channels
        self._device_name = name
        self._callbacks = 0
        self._overflows = 0
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self._close_stream()
            raise AudioDeviceError(
                f"The microphone “{name}” opened but would not start: {exc}. "
                f"Check that no other program is using it exclusively, or {_SETTINGS_HINT}."
            ) from exc
        self._seen_callbacks = 0
        self._last_progress = self._loop.time()
        self._schedule_watchdog(session)

    def stop(self) -> None:
        """Stop and close the stream. Idempotent; safe if never started."""
        self._close_stream()

    # -- PortAudio thread ---------------------------------------------------------

    def _make_callback(self, session: object) -> Callable[..., None]:
        import sounddevice as sd

        call_soon_threadsafe = self._loop.call_soon_threadsafe
        deliver = self._deliver

        def callback(indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
            self._callbacks += 1
            if status.input_overflow:
                self._overflows += 1
            block = indata.copy()
            try:
                call_soon_threadsafe(deliver, session, block, measure_level(block))
            except RuntimeError:  # the loop is closed: nobody is listening any more
                raise sd.CallbackAbort from None

        return callback

    def _make_finished_callback(self, session: object) -> Callable[[], None]:
        def finished() -> None:
            # Also runs after our own stop(); _stream_finished tells the cases apart.
            with contextlib.suppress(RuntimeError):  # the loop is closed
                self._loop.call_soon_threadsafe(self._stream_finished, session)

        return finished

    # -- loop ---------------------------------------------------------------------

    def _deliver(self, session: object, block: np.ndarray, level: Level) -> None:
        if session is self._session:
            self._on_block(block, level)

    def _stream_finished(self, session: object) -> None:
        if session is self._session:
            self._fail(
                f"The microphone “{self._device_name}” stopped working: it was unplugged, "
                f"or the sound server stopped. Reconnect it and record again, "
                f"or {_SETTINGS_HINT}."
            )

    def _schedule_watchdog(self, session: object) -> None:
        self._watchdog = self._loop.call_later(
            self._stall_timeout / 4, self._check_stall, session
        )

    def _check_stall(self, session: object) -> None:
        if session is not self._session:
            return
        # Progress is counted on the audio thread, so a busy loop is not mistaken
        # for a silent device.
        now = self._loop.time()
        if self._callbacks != self._seen_callbacks:
            self._seen_callbacks = self._callbacks
            self._last_progress = now
        elif now - self._last_progress > self._stall_timeout:
            self._fail(
                f"The microphone “{self._device_name}” stopped delivering audio "
                f"(nothing for {self._stall_timeout:g} s). Check that it is still "
                f"connected and record again, or {_SETTINGS_HINT}.",
                close_in_background=True,
            )
            return
        self._schedule_watchdog(session)

    def _fail(self, message: str, *, close_in_background: bool = False) -> None:
        self._close_stream(in_background=close_in_background)
        self._on_error(AudioDeviceError(message))

    def _close_stream(self, *, in_background: bool = False) -> None:
        self._session = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if in_background:
            # A stream that went silent may have its PortAudio thread stuck inside
            # the driver (libpulse can deadlock when the sound server dies), and
            # closing it then blocks forever: never do that on the loop.
            threading.Thread(target=_close, args=(stream,), name="close-stalled-microphone",
                             daemon=True).start()
        else:
            _close(stream)


def _close(stream: Any) -> None:
    # abort(), not stop(): there is no output to drain, and with the ALSA pulse
    # plugin stop() waits forever on a source that sends nothing.
    stream.abort()
    stream.close()


def _import_sounddevice() -> Any:
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise AudioDeviceError(
            f"The audio backend (PortAudio) could not be loaded: {exc}. "
            "Install PortAudio (on Debian/Ubuntu: the libportaudio2 package)."
        ) from exc
    return sd


def _resolve_device(sd: Any, device: int | None) -> tuple[int, dict[str, Any]]:
    """The index and PortAudio info of `device`, or of the default input for None."""
    if device is None:
        try:
            info = sd.query_devices(kind="input")
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                "No microphone found: the system has no default audio input. "
                "Connect a microphone (or start the sound server), then choose it in the list "
                "at the top of the window."
            ) from exc
    else:
        try:
            info = sd.query_devices(device)
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(
                f"There is no audio device #{device} (it may have been unplugged). "
                f"Refresh the device list and {_SETTINGS_HINT}."
            ) from exc
    if int(info["max_input_channels"]) < 1:
        raise AudioDeviceError(
            f"The audio device “{info['name']}” has no input channels, so it cannot "
            "record. Choose a microphone in the list at the top of the window."
        )
    return int(info["index"]), info


def _choose_format(sd: Any, index: int, info: dict[str, Any]) -> tuple[int, int]:
    """The device's own rate and channel count if it accepts them, else the first it does."""
    default_rate = round(float(info["default_samplerate"]))
    most = min(int(info["max_input_channels"]), _MAX_CHANNELS)
    rates = [default_rate, *(r for r in _FALLBACK_RATES if r != default_rate)]
    channel_counts = [most, 1] if most > 1 else [most]
    reasons: dict[str, None] = {}  # PortAudio's distinct complaints, in order
    for rate in rates:
        for channels in channel_counts:
            try:
                sd.check_input_settings(
                    device=index, channels=channels, dtype="float32", samplerate=rate
                )
            except sd.PortAudioError as exc:
                reasons[str(exc)] = None
            else:
                return rate, channels
    raise AudioDeviceError(
        f"The microphone “{info['name']}” refused its own default format "
        f"({default_rate} Hz, {most} ch) and every other we tried "
        f"({', '.join(map(str, rates[1:]))} Hz; {' or '.join(map(str, channel_counts))} ch). "
        f"PortAudio said: {'; '.join(reasons)}. Choose another microphone in the list at "
        "the top of the window."
    )
