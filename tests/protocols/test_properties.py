"""Property tests: every parser in protocols/, fed any input, returns its typed result or
raises the app's own error (a DictationError), never anything else.

The inputs are any JSON value, and values shaped like the replies each parser reads:
objects whose keys are the field names found in the parser's own module, so that the
properties reach past the first "is not an object" check into the field readers. Text
parsers also get arbitrary text and bytes. The example count comes from the profile in
tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictation_app.core.errors import DictationError
from dictation_app.protocols import (
    bahasakita_account,
    bahasakita_stream,
    bahasakita_upload,
    botlhale,
    nevisa,
    reply_fields,
    transcript,
)
from dictation_app.protocols.bahasakita_stream import MessageType, ProtocolVersion, StreamClient

SESS = "a" * 32

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10 ** 400),
                                                                  max_value=10 ** 400)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["", " ", "200", "400", "12.5", "00:01:02",
                                                    "1e999", "NaN", "-3", "true", SESS]))


def field_names(module: ModuleType) -> list[str]:
    """The string literals of `module` that look like field names: what its replies hold."""
    names = re.findall(r'"([A-Za-z_][A-Za-z0-9_]{0,40})"', inspect.getsource(module))
    return sorted(set(names))


def shaped(module: ModuleType) -> st.SearchStrategy[Any]:
    """JSON values whose objects use `module`'s field names as keys (mostly)."""
    keys = st.sampled_from(field_names(module)) | st.text(max_size=6)
    return st.recursive(
        SCALARS,
        lambda inner: (st.lists(inner, max_size=4)
                       | st.dictionaries(keys, inner, max_size=6)),
        max_leaves=24)


def any_json() -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                        max_leaves=16)


def holds(parse: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """`parse(*args)` returns, or raises a DictationError; anything else fails the test."""
    with contextlib.suppress(DictationError):
        parse(*args, **kwargs)


def values(module: ModuleType) -> st.SearchStrategy[Any]:
    return shaped(module) | any_json()


# --- decoded-JSON entry points --------------------------------------------------------

JSON_PARSERS: list[tuple[ModuleType, Callable[[Any], object]]] = [
    (bahasakita_account, bahasakita_account.parse_monitoring),
    (bahasakita_account, bahasakita_account.parse_token_response),
    (bahasakita_account, bahasakita_account.parse_error),
    (bahasakita_upload, bahasakita_upload.parse_upload_reply),
    (bahasakita_upload, lambda body: bahasakita_upload.parse_content_reply(body, uuid="u-1")),
    (bahasakita_upload, bahasakita_upload.parse_change_priority_reply),
    (botlhale, botlhale.parse_token_reply),
    (botlhale, botlhale.parse_sync_reply),
    (botlhale, botlhale.parse_upload_reply),
    (botlhale, botlhale.parse_status_reply),
    (botlhale, lambda body: botlhale.parse_data_reply(body, version=botlhale.ApiVersion.V1)),
    (botlhale, lambda body: botlhale.parse_data_reply(body, version=botlhale.ApiVersion.V2)),
    (botlhale, botlhale.parse_error_reply),
    (nevisa, nevisa.parse_login_reply),
    (nevisa, nevisa.parse_recognize_reply),
    (nevisa, nevisa.parse_progress_reply),
    (nevisa, nevisa.parse_error_reply),
    (transcript, transcript.from_store_dict),
]


@pytest.mark.parametrize("module, parse", JSON_PARSERS,
                         ids=[f"{m.__name__.rsplit('.', 1)[1]}.{i}"
                              for i, (m, _) in enumerate(JSON_PARSERS)])
def test_every_decoded_json_parser_returns_or_raises_our_error(
        module: ModuleType, parse: Callable[[Any], object]) -> None:
    @given(values(module))
    def check(body: Any) -> None:
        holds(parse, body)

    check()


def wrapped(module: ModuleType) -> st.SearchStrategy[Any]:
    """Replies as Bahasakita nests them: {"bk": {..., "data": {...}}}."""
    body = st.dictionaries(st.sampled_from(field_names(module)), shaped(module), max_size=6)
    return st.builds(lambda bk, data: {"bk": {**bk, "data": data}}, body, shaped(module))


@given(st.data())
def test_bahasakita_parsers_survive_replies_in_their_envelope(data: st.DataObject) -> None:
    module, parse = data.draw(st.sampled_from(JSON_PARSERS[:6]), label="parser")
    holds(parse, data.draw(wrapped(module), label="body"))


# --- text entry points ----------------------------------------------------------------


def frames() -> st.SearchStrategy[str | bytes]:
    """What a WebSocket peer may send: JSON of any shape, near-JSON text, any bytes."""
    stream_json = wrapped(bahasakita_stream) | shaped(bahasakita_stream)
    typed = st.builds(
        lambda kind, status, rest: {"bk": {"type": kind, "status": status, **rest}},
        st.sampled_from([t.value for t in MessageType] + ["AudioStream", "audiostop", "x"]),
        SCALARS, st.dictionaries(st.sampled_from(field_names(bahasakita_stream)),
                                 shaped(bahasakita_stream), max_size=4))
    as_text = (stream_json | typed).map(lambda v: json.dumps(v, allow_nan=True))
    return (as_text | as_text.map(str.encode) | st.text(max_size=40) | st.binary(max_size=40)
            | st.sampled_from(["[" * 5000, "{" * 3000, '{"bk": ' * 200, "[1e999]", "-0"]))


@given(st.sampled_from(list(ProtocolVersion)), st.integers(0, 3),
       st.lists(frames(), min_size=1, max_size=4))
def test_the_stream_client_returns_events_or_raises_our_error(
        version: ProtocolVersion, stage: int, replies: list[str | bytes]) -> None:
    client = StreamClient(version=version)
    if stage >= 1:
        client.open()  # OPENING
    if stage >= 2:
        data = {"data": {"sess_id": SESS}} if version is ProtocolVersion.V1 else {}
        client.receive(json.dumps({"bk": {"type": "audioConn", "status": 200, **data}}))
    if stage >= 3:
        client.stop()  # STOPPING
    for frame in replies:
        holds(client.receive, frame)


@given(frames())
def test_parse_request_returns_a_request_or_raises_our_error(frame: str | bytes) -> None:
    holds(bahasakita_stream.parse_request, frame)


@given(st.text(max_size=60) | st.binary(max_size=60) | any_json().map(json.dumps))
def test_decode_json_returns_a_value_or_raises_our_error(data: str | bytes) -> None:
    holds(reply_fields.decode_json, data, "Test: GET / reply")


@given(st.integers(1, 3_000))
def test_decode_json_refuses_any_nesting_past_the_bound_without_recursing(depth: int) -> None:
    text = "[" * depth + "]" * depth
    limit = sys.getrecursionlimit()
    try:
        value = reply_fields.decode_json(text, "Test: GET / reply")
    except DictationError as exc:
        assert depth > reply_fields.MAX_DEPTH and "nests deeper" in str(exc)
    else:
        assert depth <= reply_fields.MAX_DEPTH and isinstance(value, list)
    assert sys.getrecursionlimit() == limit
