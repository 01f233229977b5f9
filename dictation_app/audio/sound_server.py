"""The sound server's own microphones (PulseAudio, or PipeWire through pipewire-pulse).

PortAudio sees the sound server only through ALSA plugins ("pulse", "default"), so it
cannot tell one microphone from another. `pactl` can: each source has a description
people recognise ("USB Microphone") and a name that stays the same across plugs and
restarts (``alsa_input.usb-...``), which is what the app remembers.

`pactl` is asked rather than libpulse through `pulsectl`: it is installed wherever
PulseAudio or pipewire-pulse is, speaks JSON since PulseAudio 16, and a child process
with a timeout cannot hang the app the way a blocked libpulse call inside the process
can. Capture from one source goes through PortAudio's "pulse" device with
``PULSE_SOURCE`` naming the source (see `pulse_source_environment`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PACTL_TIMEOUT_S = 2.0
PULSE_SOURCE = "PULSE_SOURCE"  # libpulse's variable for the source a new stream records

# os.environ is process-wide: two streams opening at once must not see each other's source.
_environment_lock = threading.Lock()


class SoundServerUnavailable(Exception):
    """No sound server answered; the message says why (for the fallback's note)."""


@dataclass(frozen=True)
class Source:
    """One microphone as the sound server names it."""

    name: str  # stable: the id the app stores
    description: str  # what a person sees
    is_default: bool = False
    card: str = ""  # the ALSA card's name, which PortAudio's device names begin with


def list_sources(*, timeout: float = PACTL_TIMEOUT_S) -> list[Source]:
    """The server's sources that are microphones (monitors of outputs left out).

    Raises SoundServerUnavailable when there is no sound server to ask: not Linux,
    no `pactl`, no server running, or one that does not answer within `timeout`.
    """
    if not sys.platform.startswith("linux"):
        raise SoundServerUnavailable("PulseAudio/PipeWire sources are used on Linux only")
    pactl = shutil.which("pactl")
    if pactl is None:
        raise SoundServerUnavailable(
            "pactl is not installed (on Debian/Ubuntu: the pulseaudio-utils package)")
    listing = _run([pactl, "--format=json", "list", "sources"], timeout)
    default = _run([pactl, "get-default-source"], timeout).strip()
    return parse_sources(listing, default)


def parse_sources(listing: str, default_name: str) -> list[Source]:
    """Sources from `pactl --format=json list sources`, the default marked."""
    try:
        entries = json.loads(listing)
    except json.JSONDecodeError as exc:
        # pactl before PulseAudio 16 ignores --format and prints text.
        raise SoundServerUnavailable(
            f"pactl did not answer in JSON (PulseAudio 16 or newer is needed): {exc}") from exc
    if not isinstance(entries, list):
        raise SoundServerUnavailable("pactl's source list is not a JSON list")
    sources = []
    for entry in entries:
        if not isinstance(entry, dict) or _is_monitor(entry):
            continue
        name = str(entry.get("name") or "")
        if not name:
            continue
        description = str(entry.get("description") or "") or name
        properties = entry.get("properties")
        card = properties.get("alsa.card_name") if isinstance(properties, dict) else None
        sources.append(Source(name, description, is_default=name == default_name,
                              card=str(card or "")))
    return sources


def _is_monitor(entry: dict[str, Any]) -> bool:
    # pactl's JSON names a monitor's sink in "monitor_source" (sic); the property
    # says it as well, and either is enough.
    properties = entry.get("properties")
    device_class = properties.get("device.class") if isinstance(properties, dict) else None
    return bool(entry.get("monitor_source")) or device_class == "monitor"


def _run(command: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SoundServerUnavailable(
            f"the sound server did not answer within {timeout:g} s") from exc
    except OSError as exc:
        raise SoundServerUnavailable(f"pactl could not be run: {exc}") from exc
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        raise SoundServerUnavailable(f"no PulseAudio/PipeWire sound server answered ({reason})")
    return done.stdout


@contextlib.contextmanager
def pulse_source_environment(source: str | None) -> Iterator[None]:
    """While inside, a PulseAudio stream opened in this process records from `source`.

    libpulse reads PULSE_SOURCE when the ALSA pulse plugin creates its context, that is
    when PortAudio opens the device; afterwards the variable no longer matters. None
    leaves the environment alone (the stream follows the server's default).
    """
    if source is None:
        yield
        return
    with _environment_lock:
        saved = os.environ.get(PULSE_SOURCE)
        os.environ[PULSE_SOURCE] = source
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(PULSE_SOURCE, None)
            else:
                os.environ[PULSE_SOURCE] = saved
