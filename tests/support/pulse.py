"""A private PulseAudio daemon whose default source is a FIFO the test writes PCM into.

`module-pipe-source` is not clocked: it produces audio only when someone writes
into its FIFO. A thread here writes one 20 ms period at a time in real time,
queued PCM first and silence when the queue is empty, so the source behaves
like a real microphone (steady blocks, no bursts). `pause()` stops the clock to
imitate a device that stops delivering; `kill()` imitates one that vanishes.

The daemon and PortAudio's clients find each other through XDG_RUNTIME_DIR,
HOME and PULSE_SERVER, which `PulseMic()` sets in `os.environ` and
`PulseMic.close()` restores. PortAudio caches its device list, so both
re-initialise it. Clients run with shared memory off: with it on, killing the
daemon mid-stream deadlocks libpulse inside PortAudio about one time in three.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_ENV_KEYS = ("XDG_RUNTIME_DIR", "HOME", "PULSE_SERVER", "PULSE_CLIENTCONFIG")
_PERIOD_S = 0.02
_START_TIMEOUT_S = 10.0


class PulseUnavailable(Exception):
    """PulseAudio, PortAudio or the ALSA pulse plugin is not installed."""


def reinitialize_portaudio() -> None:
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def private_environment(runtime_dir: Path, home: Path) -> dict[str, str]:
    """Variables that point libpulse at `runtime_dir` and never autospawn a daemon."""
    client_conf = runtime_dir / "client.conf"
    client_conf.write_text("autospawn = no\nenable-shm = no\n")
    return {
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "HOME": str(home),
        "PULSE_SERVER": f"unix:{runtime_dir}/pulse/native",
        "PULSE_CLIENTCONFIG": str(client_conf),
    }


class SavedEnvironment:
    """Set some variables in os.environ now; put the old values back on restore()."""

    def __init__(self, values: dict[str, str]):
        self._saved = {key: os.environ.get(key) for key in _ENV_KEYS}
        for key in _ENV_KEYS:
            os.environ.pop(key, None)
        os.environ.update(values)

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class PipeSource:
    """One FIFO-fed source of the daemon, with the thread that plays PCM into it."""

    def __init__(self, fifo: Path, *, name: str, rate: int, channels: int):
        self.fifo = fifo
        self.name = name
        self.rate = rate
        self.channels = channels
        self.bytes_per_second = rate * channels * 2
        self.module: int | None = None  # pactl's index, for sources added after start-up
        self._queue = bytearray()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._running = threading.Event()
        self._closing = threading.Event()
        self._writer: threading.Thread | None = None
        self.write_error: OSError | None = None

    def start(self) -> None:
        self._running.set()
        self._writer = threading.Thread(target=self._clock, name=f"pulse-{self.name}-writer",
                                        daemon=True)
        self._writer.start()

    def write(self, pcm: bytes) -> None:
        """Queue s16le PCM (interleaved, at the source's rate); it plays in real time."""
        if len(pcm) % (2 * self.channels):
            raise ValueError("PCM must be whole frames of s16le")
        with self._lock:
            self._queue += pcm

    def wait_drained(self, timeout: float) -> bool:
        """Block until everything queued has gone into the FIFO (False on timeout)."""
        with self._drained:
            return self._drained.wait_for(lambda: not self._queue, timeout)

    def pause(self) -> None:
        """Stop feeding the FIFO: the source then stops producing audio at all."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stopping(self) -> None:
        """The writer is about to lose its reader: an EPIPE now is no error."""
        self._closing.set()
        self._running.set()  # wake a paused writer so it can see _closing

    def join(self) -> None:
        self.stopping()
        if self._writer is not None:
            self._writer.join(timeout=10)

    def _clock(self) -> None:
        period = round(self.rate * _PERIOD_S) * 2 * self.channels
        try:
            # The daemon holds the FIFO open for reading, so this does not block.
            fd = os.open(self.fifo, os.O_WRONLY)
        except OSError as exc:
            self.write_error = exc
            return
        try:
            next_at = time.monotonic()
            while not self._closing.is_set():
                if not self._running.is_set():
                    self._running.wait()
                    next_at = time.monotonic()
                    continue
                with self._lock:
                    piece = bytes(self._queue[:period])
                    del self._queue[:period]
                    if not self._queue:
                        self._drained.notify_all()
                piece += bytes(period - len(piece))
                os.write(fd, piece)
                next_at += _PERIOD_S
                self._closing.wait(max(0.0, next_at - time.monotonic()))
        except OSError as exc:  # EPIPE once the daemon is gone
            if not self._closing.is_set():
                self.write_error = exc
        finally:
            os.close(fd)


class PulseMic:
    """A running private daemon with a virtual microphone `vmic` as default source.

    Its description is `DESCRIPTION`; `add_source()` plugs in another one and
    `remove_source()` unplugs it, as a USB microphone would come and go.
    """

    DESCRIPTION = "Virtual Microphone"

    def __init__(self, *, rate: int, channels: int):
        if shutil.which("pulseaudio") is None:
            raise PulseUnavailable("pulseaudio is not installed (apt-get install pulseaudio)")
        if shutil.which("pactl") is None:
            raise PulseUnavailable("pactl is not installed (apt-get install pulseaudio-utils)")
        self.rate = rate
        self.channels = channels
        self.bytes_per_second = rate * channels * 2
        # mkdtemp under /tmp, not pytest's tmp_path: a unix socket path must stay
        # under 108 bytes.
        self._runtime_dir = Path(tempfile.mkdtemp(prefix="pa-run-"))
        self._home = Path(tempfile.mkdtemp(prefix="pa-home-"))
        self.fifo = self._runtime_dir / "mic.fifo"
        self.log = self._runtime_dir / "pulseaudio.log"
        self._env = SavedEnvironment(private_environment(self._runtime_dir, self._home))
        self._process: subprocess.Popen[bytes] | None = None
        self.source = PipeSource(self.fifo, name="vmic", rate=rate, channels=channels)
        self.added: list[PipeSource] = []
        try:
            self._start_daemon()
            self.source.start()
            reinitialize_portaudio()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def write_error(self) -> OSError | None:
        return self.source.write_error

    def _start_daemon(self) -> None:
        # The pipe source creates the FIFO itself: an existing file makes it fail
        # ("mkfifo: File exists") on PulseAudio 16. The native protocol is loaded
        # last, so once its socket accepts connections everything is set up.
        script = self._runtime_dir / "vmic.pa"
        script.write_text(
            "load-module module-null-sink sink_name=vsink\n"
            f"load-module module-pipe-source source_name=vmic file={self.fifo} "
            f"format=s16le rate={self.rate} channels={self.channels} "
            f"{_description_argument(self.DESCRIPTION)}\n"
            "set-default-source vmic\n"
            "load-module module-native-protocol-unix\n"
        )
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                 "--disallow-exit", "--log-target=stderr", f"--file={script}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        socket_path = self._runtime_dir / "pulse" / "native"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _accepts_connections(socket_path):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"pulseaudio exited with status {self._process.returncode}:\n"
                    f"{self.log.read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not start within {_START_TIMEOUT_S} s")
            time.sleep(0.01)  # polling for the daemon's socket, not for audio

    # -- what tests use ------------------------------------------------------------

    def write(self, pcm: bytes) -> None:
        """Queue s16le PCM for the default source; it plays in real time."""
        self.source.write(pcm)

    def wait_drained(self, timeout: float) -> bool:
        return self.source.wait_drained(timeout)

    def pause(self) -> None:
        """Stop feeding the FIFO: the source then stops producing audio at all."""
        self.source.pause()

    def resume(self) -> None:
        self.source.resume()

    def add_source(self, name: str, description: str, *, rate: int = 16_000,
                   channels: int = 1) -> PipeSource:
        """Plug in another FIFO-fed source (not the default), playing silence."""
        fifo = self._runtime_dir / f"{name}.fifo"
        source = PipeSource(fifo, name=name, rate=rate, channels=channels)
        done = self._pactl("load-module", "module-pipe-source", f"source_name={name}",
                           f"file={fifo}", "format=s16le", f"rate={rate}",
                           f"channels={channels}", _description_argument(description))
        source.module = int(done.stdout.strip())
        source.start()
        self.added.append(source)
        return source

    def remove_source(self, source: PipeSource) -> None:
        """Unplug a source `add_source` plugged in."""
        source.stopping()
        assert source.module is not None
        self._pactl("unload-module", str(source.module))
        source.join()
        self.added.remove(source)

    def set_default_source(self, name: str) -> None:
        self._pactl("set-default-source", name)

    def _pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def kill(self) -> None:
        """Kill the daemon now, as if the device had been unplugged."""
        for source in (self.source, *self.added):
            source.stopping()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def close(self) -> None:
        """Stop the writers, kill the daemon by PID, restore the environment."""
        self.kill()  # a writer blocked on a full FIFO then gets EPIPE
        for source in (self.source, *self.added):
            source.join()
        self._env.restore()
        shutil.rmtree(self._runtime_dir, ignore_errors=True)
        shutil.rmtree(self._home, ignore_errors=True)
        reinitialize_portaudio()


def _description_argument(description: str) -> str:
    # module arguments split at spaces unless the whole value is quoted
    return f"source_properties=\"device.description='{description}'\""


def _accepts_connections(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def ensure_pulse_plugin() -> None:
    """Raise PulseUnavailable unless PortAudio now lists the ALSA `pulse` device."""
    try:
        import sounddevice as sd
    except OSError as exc:
        raise PulseUnavailable(f"PortAudio is not installed (libportaudio2): {exc}") from exc
    names = {str(info["name"]) for info in sd.query_devices()}
    if "pulse" not in names:
        raise PulseUnavailable(
            "PortAudio does not list the ALSA 'pulse' device although the daemon runs "
            f"(found {sorted(names)}); install libasound2-plugins"
        )
