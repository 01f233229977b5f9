"""A logging filter that masks credentials in URLs before any handler sees a record."""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"(?i)\b(token|access_token|api_key|key|password)=([^&\s\"']+)")


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redacting_logger(name: str) -> logging.Logger:
    """A logger whose own records are redacted (filters do not apply to propagated ones)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
