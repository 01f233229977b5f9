"""The one request shape: what it carries and what its repr never shows."""

from __future__ import annotations

from dictation_app.protocols import bahasakita_account, bahasakita_upload, botlhale, nevisa
from dictation_app.protocols.request import Request


def test_repr_masks_auth_headers_tokens_passwords_and_marked_fields() -> None:
    request = Request(
        "POST", "/x", params={"token": "T-SECRET", "lang": "en"},
        form={"password": "P-SECRET", "pin": "PIN-SECRET", "name": "ayu"},
        headers={"Authorization": "Bearer H-SECRET", "Accept": "application/json"},
        json={"bk": {"api_key": "K-SECRET", "uuid": "u-1"}}, secret_keys=frozenset({"PIN"}))
    text = repr(request)
    assert "SECRET" not in text
    for visible in ("'lang': 'en'", "'name': 'ayu'", "'Accept': 'application/json'",
                    "'uuid': 'u-1'", "method='POST'", "path='/x'"):
        assert visible in text
    assert request.form["password"] == "P-SECRET"  # masked in the repr only


def test_defaults_and_the_operation_name() -> None:
    request = Request("GET", "/status")
    assert (request.params, request.form, request.headers, request.json) == ({}, {}, {}, None)
    assert request.idempotent is None and request.base_url is None
    assert request.operation == "GET /status"
    assert repr(request) == "Request(method='GET', path='/status')"


def test_every_rest_protocol_builds_the_same_shape() -> None:
    credentials = nevisa.Credentials("AUTH-SECRET", "KEY-SECRET")
    requests = [
        botlhale.token_request("R-SECRET"),
        nevisa.login_request("me", "P-SECRET"),
        nevisa.terminate_request(credentials, "t-1"),
        bahasakita_account.monitoring_request("T-SECRET"),
        bahasakita_account.sign_in_request("me@example.com", "P-SECRET"),
    ]
    requests.append(bahasakita_upload.content_request("u-1"))
    for request in requests:
        assert isinstance(request, Request)
        assert "SECRET" not in repr(request)
