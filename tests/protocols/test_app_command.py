"""The instance socket's command messages, without a socket: what a client sends, what
the app answers, and what either side refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.protocols.app_command import (
    COMMAND_START,
    MAX_COMMAND_BYTES,
    CommandReply,
    LiveState,
    RecordAction,
    RecordCommand,
    encode_command,
    encode_reply,
    parse_command,
    parse_reply,
)


@pytest.mark.parametrize("action", list(RecordAction))
def test_a_command_is_one_json_line_the_app_reads_back(action: RecordAction) -> None:
    line = encode_command(RecordCommand(action))
    assert line.startswith(COMMAND_START) and line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"v": 1, "command": "record", "action": action.value}
    assert parse_command(line) == RecordCommand(action)


@pytest.mark.parametrize("reply", [
    CommandReply(True, LiveState.RECORDING),
    CommandReply(True, LiveState.IDLE),
    CommandReply(False, LiveState.IDLE, "The microphone is not open."),
    CommandReply(False, error="Unknown command 'x'."),
])
def test_an_answer_round_trips(reply: CommandReply) -> None:
    line = encode_reply(reply)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_reply(line) == reply


def test_a_long_error_is_cut_so_the_answer_still_fits_its_line() -> None:
    line = encode_reply(CommandReply(False, error="é" * 10_000))
    assert len(line) < MAX_COMMAND_BYTES
    assert parse_reply(line).error.startswith("é")


@pytest.mark.parametrize(("line", "says"), [
    (b'{"v": 2, "command": "record", "action": "start"}', "version 2 is not supported"),
    (b'{"command": "record", "action": "start"}', "version None is not supported"),
    (b'{"v": 1, "command": "dance", "action": "start"}', "Unknown command 'dance'"),
    (b'{"v": 1, "command": "record", "action": "pause"}', "Unknown record action 'pause'"),
    (b'{"v": 1, "command": "record", "action": ["start"]}', "Unknown record action"),
    (b'{"v": 1, "command": "record"', "is not JSON"),
    (b'[1, 2]', "is not a JSON object"),
    (b'{"v": NaN}', "is not JSON"),
    (b"{" + b"[" * 100, "nests deeper"),
    (b"{\xff\xfe", "is not JSON"),
    (b'{"a": "' + b"x" * MAX_COMMAND_BYTES + b'"}', "too long"),
])
def test_a_bad_command_is_refused_with_what_was_wrong(line: bytes, says: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_command(line)
    assert says in str(caught.value)


@pytest.mark.parametrize("line", [
    b'{"v": 2, "ok": true}',
    b'{"v": 1, "ok": "yes"}',
    b'{"v": 1, "ok": true, "state": "dancing"}',
    b'{"v": 1, "ok": false, "error": 3}',
    b"not json",
])
def test_an_answer_the_client_cannot_read_is_refused(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="dictation-app"):
        parse_reply(line)


@given(st.binary(max_size=600))
def test_any_bytes_give_a_command_or_our_error(data: bytes) -> None:
    try:
        command = parse_command(data)
    except RemoteProtocolError:
        return
    assert isinstance(command.action, RecordAction)
