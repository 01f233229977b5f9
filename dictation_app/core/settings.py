"""Persistent, typed settings in the platform's config dir; secrets live in secrets.py.

The file is JSON, written atomically (temp file + rename) so a crash mid-write never
leaves a half-written settings file. Unknown or ill-typed values fall back to their
defaults instead of breaking start-up. Keys are the app's own `Key`s plus the `Setting`s
each file vendor declares in its descriptor (services/<vendor>.py).
"""

from __future__ import annotations

import enum
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "dictation-app"


class Key(str, enum.Enum):
    PROVIDER = "provider"
    # InputDevice.id: the sound server's source name (PortAudio's device name without
    # one), never an index, which changes as devices come and go; "" follows the default
    INPUT_DEVICE = "input_device"
    BAHASAKITA_URL = "bahasakita_url"
    PROTOCOL_VERSION = "protocol_version"
    LANGUAGE = "language"
    PUSH_TO_TALK_KEY = "push_to_talk_key"
    WINDOW_GEOMETRY = "window_geometry"
    WELCOME_SEEN = "welcome_seen"
    MONITORING_INTERVAL = "monitoring_interval"  # seconds; 0 pauses
    BAHASAKITA_ACCOUNT_URL = "bahasakita_account_url"
    # Facts about the signed-in token, not the token: the stored names avoid the word
    # "token" so the secret guard in Settings.set stays a blunt substring check.
    BAHASAKITA_TOKEN_EXPIRES = "bahasakita_sign_in_expires"
    BAHASAKITA_TOKEN_QUOTA = "bahasakita_sign_in_quota"
    JOB_PROVIDER = "job_provider"
    JOB_LANGUAGE = "job_language"  # empty: automatic
    JOB_DIARIZATION = "job_diarization"
    JOBS_AT_ONCE = "jobs_at_once"
    LAST_EXPORT_DIR = "last_export_dir"
    KEEP_RECORDINGS = "keep_recordings"  # each take's audio, beside the take history
    RECORDINGS_DAYS = "recordings_days"  # recordings older than this are deleted; 0: never
    SPOKEN_COMMANDS = "spoken_commands"  # "comma", "new paragraph", "scratch that"...
    WORD_REPLACEMENTS = "word_replacements"  # `spoken => written` lines (core/text)
    MASK_PROFANITY = "mask_profanity"
    FAILOVER = "failover"  # a cloud take continues on the offline engine while it is away
    TAKE_TIMESTAMPS = "take_timestamps"  # each take's paragraph headed by its start time
    SYSTEM_WIDE_KEYS = "system_wide_keys"  # the keys below work while any app has focus
    TOGGLE_KEY = "toggle_key"  # press once to start, again to stop; "" none
    OUTPUT_MODE = "output_mode"  # "window", "type" or "paste": where finals go
    LIVE_ENGINE = "live_engine"  # the offline engine live dictation runs (engine registry)
    LIVE_LANGUAGE = "live_language"  # the language that engine hears live
    CLOSE_TO_TRAY = "close_to_tray"  # closing the window: "" ask, "tray" keep running, "quit"


DEFAULTS: dict[Key, Any] = {
    Key.PROVIDER: "local",
    Key.INPUT_DEVICE: "",
    Key.BAHASAKITA_URL: "",  # empty: the protocol version's documented URL
    Key.PROTOCOL_VERSION: "v1",
    Key.LANGUAGE: "id",
    Key.PUSH_TO_TALK_KEY: "F9",
    Key.WINDOW_GEOMETRY: "",
    Key.WELCOME_SEEN: False,
    Key.MONITORING_INTERVAL: 30,
    Key.BAHASAKITA_ACCOUNT_URL: "",  # empty: the account client's default base URL
    Key.BAHASAKITA_TOKEN_EXPIRES: "",  # ISO 8601 as the service gave it; empty: unknown
    Key.BAHASAKITA_TOKEN_QUOTA: "",  # as the service gave it, e.g. "600" or "unlimited"
    Key.JOB_PROVIDER: "local",
    Key.JOB_LANGUAGE: "",
    Key.JOB_DIARIZATION: False,
    Key.JOBS_AT_ONCE: 2,
    Key.LAST_EXPORT_DIR: "",
    Key.KEEP_RECORDINGS: True,
    Key.RECORDINGS_DAYS: 30,
    Key.SPOKEN_COMMANDS: True,
    Key.WORD_REPLACEMENTS: "",
    Key.MASK_PROFANITY: False,
    Key.FAILOVER: False,
    Key.TAKE_TIMESTAMPS: True,
    Key.SYSTEM_WIDE_KEYS: True,
    Key.TOGGLE_KEY: "",
    Key.OUTPUT_MODE: "window",
    Key.LIVE_ENGINE: "whisper",
    Key.LIVE_LANGUAGE: "en",
    Key.CLOSE_TO_TRAY: "",
}
MAX_JOBS_AT_ONCE = 8  # Key.JOBS_AT_ONCE runs from 1 to this

# Secrets must never land in the settings file, whatever a caller passes.
_FORBIDDEN = ("token", "password", "secret", "api_key")


@dataclass(frozen=True)
class Setting:
    """A setting declared outside this module, by a vendor's descriptor: the name it has
    in the file and its default, whose type every stored value must have."""

    value: str
    default: Any


def _default(key: Key | Setting) -> Any:
    return DEFAULTS[key] if isinstance(key, Key) else key.default


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


class Settings:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "settings.json"
        self._values: dict[str, Any] = {}
        self._load()

    def get(self, key: Key | Setting) -> Any:
        default = _default(key)
        value = self._values.get(key.value, default)
        return value if isinstance(value, type(default)) else default

    def get_str(self, key: Key | Setting) -> str:
        return str(self.get(key))

    def get_bool(self, key: Key | Setting) -> bool:
        return bool(self.get(key))

    def set(self, key: Key | Setting, value: Any) -> None:
        if any(word in key.value for word in _FORBIDDEN):
            raise ValueError(f"{key.value} looks like a secret; store it with SecretStore")
        default = _default(key)
        if not isinstance(value, type(default)):
            raise TypeError(f"{key.value} takes {type(default).__name__}, got {value!r}")
        self._values[key.value] = value
        self._save()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings file %s: %s", self.path, exc)
            return
        if isinstance(raw, dict):
            # Names Key does not list are kept: a vendor's descriptor declares its own.
            self._values = {k: v for k, v in raw.items() if isinstance(k, str)}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._values, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
