"""The one shape of an outgoing REST request, built by every protocol module without I/O.

A protocol's builders return a `Request`; the transport (`ServiceHttp.send()`) adds
the base URL, any header it owns (a bearer token it renews) and the file parts, and
sends it. Its `repr` masks every credential, so a request may be logged or shown in a
test failure: the values of headers, form fields, query parameters and JSON keys named
in `core.redaction.SECRET_KEYS`, plus the keys the protocol names in `secret_keys`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dictation_app.core.redaction import SECRET_KEYS, mask_values


@dataclass(frozen=True)
class Request:
    """One HTTP request to make: `Request("GET", "/asr/async/status", params={...})`."""

    method: str
    path: str  # on the service's base URL
    params: dict[str, str] = field(default_factory=dict)  # query string
    form: dict[str, str] = field(default_factory=dict)  # form (or multipart) fields
    json: Any = None  # a JSON body, in place of a form
    headers: dict[str, str] = field(default_factory=dict)
    # The vendor's own host, for a protocol spanning several (Nevisa's accounting and
    # api hosts); the transport's configured base URL is what is used.
    base_url: str | None = None
    # Whether a repeat is harmless; None: as the method says (GET yes, POST no).
    idempotent: bool | None = None
    secret_keys: frozenset[str] = frozenset()  # keys beyond SECRET_KEYS whose values are secret

    @property
    def operation(self) -> str:
        """`"POST /auth/generate"`: how messages name this request."""
        return f"{self.method} {self.path}"

    def __repr__(self) -> str:
        keys = SECRET_KEYS | {k.lower() for k in self.secret_keys}
        parts = [f"method={self.method!r}", f"path={self.path!r}"]
        if self.base_url is not None:
            parts.append(f"base_url={self.base_url!r}")
        for name in ("params", "form", "headers"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={mask_values(values, keys)!r}")
        if self.json is not None:
            body = mask_values(self.json, keys) if isinstance(self.json, dict) else self.json
            parts.append(f"json={body!r}")
        if self.idempotent is not None:
            parts.append(f"idempotent={self.idempotent!r}")
        return f"Request({', '.join(parts)})"
