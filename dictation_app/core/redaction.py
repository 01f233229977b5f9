"""Every way the app masks a credential, in one place: in URLs, headers, forms, text, logs.

- `redact(text)`: `token=...`, `api_key=...` and the like anywhere in free text (a
  logged URL, a traceback) become `token=***`;
- `redact_url(url)`: the same for one URL, parsed, so only its query values change;
- `mask_values(values, secret_keys)`: a mapping (headers, form fields, a JSON body)
  with the values of credential keys replaced, for a `repr`;
- `secret_values(fields, public=...)`: which values of a form are credentials;
- `SecretMask`: collects known secret strings and masks them wherever they appear;
- `RedactingFilter` / `redacting_logger()`: a logging filter applying the above to
  each record before any handler sees it.

A mask is always `MASK`; nothing here logs, and nothing here imports above `core/`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query and form names whose values are credentials wherever they appear.
URL_SECRET_PARAMS = frozenset({"token", "access_token", "api_key", "key", "password"})
# Header, form and JSON keys whose values are credentials; compared in lower case.
SECRET_KEYS = frozenset({"authorization", "proxy-authorization", "token", "access_token",
                         "refresh_token", "auth_token", "api_key", "password"})

_SECRET_PARAM = re.compile(r"(?i)\b(token|access_token|api_key|key|password)=([^&\s\"']+)")


def redact(text: str) -> str:
    """`text` with the value of every credential-like `name=value` pair masked."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def redact_url(url: str) -> str:
    """`url` with the value of every credential-like query parameter masked.

    Parsed rather than matched, so an encoded value (`%2B`) is masked whole.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, MASK if k.lower() in URL_SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def mask_values(values: Mapping[str, object],
                secret_keys: Iterable[str] = SECRET_KEYS) -> dict[str, object]:
    """A copy of `values` with the value of each secret key (any case) masked, nested
    mappings included: fit for a `repr`."""
    keys = {k.lower() for k in secret_keys}
    return {k: MASK if k.lower() in keys
            else mask_values(v, keys) if isinstance(v, Mapping) else v
            for k, v in values.items()}


def secret_values(fields: Mapping[str, str], *, public: Iterable[str] = (),
                  min_length: int = 1) -> Iterator[str]:
    """The values of `fields` that are credentials: all but the `public` names' (any
    case), skipping values shorter than `min_length`, which would mask ordinary words."""
    open_names = {name.lower() for name in public}
    for name, value in fields.items():
        if name.lower() not in open_names and len(value) >= min_length:
            yield value


class SecretMask:
    """Known secret strings, masked wherever they appear in a text.

    Longer secrets are masked first, so that one holding another is masked whole.
    Usage::

        secrets = SecretMask()
        secrets.add(token)
        message = secrets.mask(message)
    """

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, value: str | None) -> None:
        if value:
            self._secrets.add(value)

    def discard(self, value: str | None) -> None:
        if value:
            self._secrets.discard(value)

    def __len__(self) -> int:
        return len(self._secrets)

    def __contains__(self, value: object) -> bool:
        return value in self._secrets

    def mask(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


class RedactingFilter(logging.Filter):
    """Masks each record's message before any handler sees it.

    By default with `redact()` (credentials in URLs); with `secrets`, also every string
    that mask holds. `urls=False` leaves URLs to the `secrets` alone (httpx's request
    lines, whose presigned query is a secret only while it is in use).
    """

    def __init__(self, secrets: SecretMask | None = None, *, urls: bool = True):
        super().__init__()
        self.secrets = secrets
        self._urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._urls and not self.secrets:
            return True  # nothing to mask: the message need not even be formatted
        message = record.getMessage()
        cleaned = redact(message) if self._urls else message
        if self.secrets:
            cleaned = self.secrets.mask(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redacting_logger(name: str) -> logging.Logger:
    """A logger whose own records are redacted (filters do not apply to propagated ones)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


def install_filter(logger_name: str, log_filter: logging.Filter) -> None:
    """Add `log_filter` to a (library's) logger once, however often this is called."""
    logger = logging.getLogger(logger_name)
    if log_filter not in logger.filters:
        logger.addFilter(log_filter)
