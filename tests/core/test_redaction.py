"""One test per masking rule of core/redaction.py: no I/O beyond a logging record."""

from __future__ import annotations

import logging

import pytest

from dictation_app.core.redaction import (
    MASK,
    RedactingFilter,
    SecretMask,
    install_filter,
    mask_values,
    redact,
    redact_url,
    redacting_logger,
    secret_values,
)


@pytest.mark.parametrize("name", ["token", "access_token", "api_key", "key", "password",
                                  "TOKEN"])
def test_redact_masks_credential_pairs_in_free_text(name: str) -> None:
    text = f"GET wss://h/p?{name}=s3cr3t&x=1 failed: 'user={name}=other'"
    assert redact(text) == f"GET wss://h/p?{name}=***&x=1 failed: 'user={name}=***'"


def test_redact_leaves_other_pairs_alone() -> None:
    assert redact("monkey=1&tokens=2") == "monkey=1&tokens=2"


def test_redact_url_masks_query_values_only() -> None:
    url = "wss://api.example/v1/prod/stream?token=a%2Bb&lang=id&api_key=k&password=p"
    assert redact_url(url) == ("wss://api.example/v1/prod/stream?token=***&lang=id"
                               "&api_key=***&password=***")
    assert redact_url("wss://h/p") == "wss://h/p"


def test_mask_values_masks_secret_keys_in_any_case_and_nested() -> None:
    values = {"Authorization": "Bearer abc", "form": {"refresh_token": "r", "lang": "en"},
              "x": 1}
    assert mask_values(values) == {"Authorization": MASK,
                                   "form": {"refresh_token": MASK, "lang": "en"}, "x": 1}
    assert mask_values({"uuid": "u", "pin": "1234"}, {"PIN"}) == {"uuid": "u", "pin": MASK}


def test_secret_values_are_all_but_the_public_fields_and_short_ones() -> None:
    fields = {"key": "org/file.wav", "Policy": "eyJwb2xpY3ki", "x-amz-signature": "sig123456",
              "acl": "private", "tiny": "ab"}
    assert list(secret_values(fields, public={"KEY", "acl"}, min_length=6)) == [
        "eyJwb2xpY3ki", "sig123456"]


def test_secret_mask_masks_known_secrets_longest_first() -> None:
    mask = SecretMask(["abc", None, "", "abcdef"])
    assert len(mask) == 2 and "abc" in mask
    assert mask.mask("abcdef then abc") == "*** then ***"
    mask.discard("abcdef")
    assert mask.mask("abcdef") == "***def"


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)


def test_the_logging_filter_redacts_urls_and_known_secrets() -> None:
    secrets = SecretMask(["hunter2"])
    entry = record("GET %s with %s", "https://h/?token=abc", "hunter2")
    assert RedactingFilter(secrets).filter(entry)
    assert entry.getMessage() == "GET https://h/?token=*** with ***"


def test_the_logging_filter_can_leave_urls_to_the_secrets() -> None:
    secrets = SecretMask()
    quiet = RedactingFilter(secrets, urls=False)
    entry = record("POST https://s3/?key=k&X-Amz-Signature=%s", "sig")
    quiet.filter(entry)
    assert entry.args == ("sig",)  # nothing known: the record is left as it was
    secrets.add("sig")
    quiet.filter(entry)
    assert entry.getMessage() == "POST https://s3/?key=k&X-Amz-Signature=***"


def test_a_redacting_logger_and_an_installed_filter_are_added_once() -> None:
    logger = redacting_logger("tests.redaction")
    assert redacting_logger("tests.redaction") is logger
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    extra = RedactingFilter()
    install_filter("tests.redaction", extra)
    install_filter("tests.redaction", extra)
    assert logger.filters.count(extra) == 1
    logger.removeFilter(extra)
