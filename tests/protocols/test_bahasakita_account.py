"""Pure tests of the Bahasakita account replies: no sockets, no event loop."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from dictation_app.core.errors import RemoteProtocolError
from dictation_app.protocols import bahasakita_account as p

UUID_A = "9b2f7d6e-0c1a-4e5b-8f3d-2a1c0b9e8d7f"
UUID_B = "1c4e8a2b-3d5f-4a6b-9c7d-8e0f1a2b3c4d"

# The vendor's example, written out as its documentation shows it.
EXAMPLE = """{
  "bk": {
    "data": {
      "username": "ayu",
      "inquery": [{"UUID_A": {"filename": "rapat.wav", "duration": 2530.5,
                          "created": "2024-05-01 09:12:00", "filesize": 38}}],
      "process": [{"UUID_B": {"filename": "wawancara.mp3", "duration": 905.4,
                          "created": "2024-05-01 08:55:10", "filesize": 12}}],
      "failed": [],
      "success": []
    },
    "msg_in": 1,
    "msg_out": 1,
    "message_status": "success"
  }
}""".replace("UUID_A", UUID_A).replace("UUID_B", UUID_B)


def body(data: dict[str, Any], **bk: Any) -> str:
    return json.dumps({"bk": {"data": data, **bk}})


def wire(raw: str | bytes) -> object:
    """A reply body as the transport hands it to a parser: decoded (ServiceHttp.reply_json
    refuses what is not JSON before any parser sees it), else left as it came."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def entry(uuid: str, **fields: Any) -> dict[str, Any]:
    return {uuid: {"filename": "f.wav", "duration": 1.0, "created": "2024-05-01 10:00:00",
                   "filesize": 1, **fields}}


def snapshot(**queues: list[str]) -> p.MonitoringSnapshot:
    data: dict[str, Any] = {"username": "ayu"}
    data.update({name: [entry(u) for u in uuids] for name, uuids in queues.items()})
    return p.parse_monitoring(wire(body(data)))


def test_the_documented_example() -> None:
    snap = p.parse_monitoring(wire(EXAMPLE))
    assert snap.username == "ayu"
    assert list(snap.queues) == ["inquery", "process", "failed", "success"]
    assert snap.queues["inquery"] == [p.QueueItem(UUID_A, "rapat.wav", 2530.5,
                                                  datetime(2024, 5, 1, 9, 12), 38.0)]
    assert snap.queues["process"][0].uuid == UUID_B
    assert snap.queues["failed"] == snap.queues["success"] == []
    assert (snap.msg_in, snap.msg_out, snap.message_status) == (1, 1, "success")


def test_counters_may_sit_in_data() -> None:
    snap = p.parse_monitoring(wire(body({"username": "ayu", "msg_in": 7, "msg_out": "3",
                                    "message_status": "success"})))
    assert (snap.msg_in, snap.msg_out, snap.message_status) == (7, 3, "success")


def test_missing_queues_and_counters_are_empty() -> None:
    snap = p.parse_monitoring(wire(body({"username": "ayu", "success": None})))
    assert snap.queues == {"inquery": [], "process": [], "failed": [], "success": []}
    assert (snap.msg_in, snap.msg_out, snap.message_status) == (None, None, None)


def test_numbers_as_strings_and_empty_optionals() -> None:
    snap = p.parse_monitoring(wire(body({"username": "ayu", "failed": [
        entry(UUID_A, duration="61.5", filesize="2", created="2024-05-01T10:00:00"),
        entry(UUID_B, duration="", filesize=None, created="", filename=None),
    ]}, msg_in="12")))
    first, second = snap.queues["failed"]
    assert (first.duration, first.filesize_mb, first.created) == (
        61.5, 2.0, datetime(2024, 5, 1, 10))
    assert (second.duration, second.filesize_mb, second.created, second.filename) == (
        None, None, None, "")
    assert snap.msg_in == 12


def test_bytes_bodies_are_decoded_by_the_transport_not_the_parser() -> None:
    assert p.parse_monitoring(wire(EXAMPLE.encode())).username == "ayu"
    with pytest.raises(RemoteProtocolError, match="'\\(body\\)' is not a JSON object"):
        p.parse_monitoring(EXAMPLE.encode())


@pytest.mark.parametrize(("raw", "field"), [
    ("not json", "'(body)'"),  # the transport refuses it first: "reply is not JSON"
    ("[]", "'(body)'"),
    ('{"data": {}}', "'bk'"),
    ('{"bk": {"message_status": "token expired"}}', "'bk.data'"),
    (body({"inquery": []}), "'bk.data.username'"),
    (body({"username": "ayu", "process": {"x": {}}}), "'bk.data.process'"),
    (body({"username": "ayu", "failed": [{"uuid": "a", "filename": "b"}]}),
     "'bk.data.failed[0]'"),
    (body({"username": "ayu", "failed": ["abc"]}), "'bk.data.failed[0]'"),
    (body({"username": "ayu", "success": [{"": {}}]}), "'bk.data.success[0]'"),
    (body({"username": "ayu", "success": [{UUID_A: "done"}]}), f"'bk.data.success[0].{UUID_A}'"),
    (body({"username": "ayu", "inquery": [entry(UUID_A, duration="long")]}),
     f"'bk.data.inquery[0].{UUID_A}.duration'"),
    (body({"username": "ayu", "inquery": [entry(UUID_A, duration=True)]}),
     f"'bk.data.inquery[0].{UUID_A}.duration'"),
    (body({"username": "ayu", "inquery": [entry(UUID_A, filesize="NaN")]}),
     f"'bk.data.inquery[0].{UUID_A}.filesize'"),
    (body({"username": "ayu", "inquery": [entry(UUID_A, created="yesterday")]}),
     f"'bk.data.inquery[0].{UUID_A}.created'"),
    (body({"username": "ayu", "inquery": [entry(UUID_A, filename=["a"])]}),
     f"'bk.data.inquery[0].{UUID_A}.filename'"),
    (body({"username": "ayu"}, msg_in=1.5), "'bk.msg_in'"),
    (body({"username": "ayu", "msg_out": "many"}), "'bk.data.msg_out'"),
    (body({"username": "ayu"}, message_status={"a": 1}), "'bk.message_status'"),
])
def test_rejections_name_the_service_the_endpoint_and_the_field(raw: str, field: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        p.parse_monitoring(wire(raw))
    message = str(caught.value)
    assert message.startswith("Bahasakita monitoring: GET /v2/prod/stt/monitoring reply")
    assert field in message


def test_a_reply_without_data_quotes_the_service() -> None:
    with pytest.raises(RemoteProtocolError, match="the service said: 'token expired'"):
        p.parse_monitoring({"bk": {"message_status": "token expired"}})


# --- diff ----------------------------------------------------------------------


def test_diff_from_nothing_reports_every_job_as_new() -> None:
    current = snapshot(inquery=[UUID_A], success=[UUID_B])
    assert p.diff(None, current) == {UUID_A: (None, "inquery"), UUID_B: (None, "success")}


def test_diff_reports_moves_and_new_jobs_only() -> None:
    before = snapshot(inquery=[UUID_A, "gone"], process=[UUID_B])
    after = snapshot(process=[UUID_A, UUID_B], success=["new"])
    assert p.diff(before, after) == {UUID_A: ("inquery", "process"), "new": (None, "success")}
    assert p.diff(after, after) == {}


def test_a_job_listed_twice_counts_in_its_later_queue() -> None:
    snap = snapshot(process=[UUID_A], success=[UUID_A])
    assert snap.queue_of() == {UUID_A: "success"}


# --- sign-in -------------------------------------------------------------------


def token_reply(**fields: Any) -> str:
    credits = {"token": "abc.def", "expire_date": "2025-12-31 23:59:59", "quota": 600,
               "type": "prepaid", **fields}
    return json.dumps({"bk": {"diktein_credits_token": credits}})


def test_token_reply() -> None:
    token = p.parse_token_response(wire(token_reply()))
    assert token == p.ServiceToken("abc.def", datetime(2025, 12, 31, 23, 59, 59), 600, "prepaid")


@pytest.mark.parametrize(("expire", "expected"), [
    ("2025-12-31", datetime(2025, 12, 31)),
    ("2025-12-31T23:59:59", datetime(2025, 12, 31, 23, 59, 59)),
    ("2025-12-31T23:59:59Z", datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
    (1767225599, datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
    ("in a while", None),
    (None, None),
])
def test_token_expiry_is_read_leniently(expire: object, expected: datetime | None) -> None:
    assert p.parse_token_response(wire(token_reply(expire_date=expire))).expire_date == expected


@pytest.mark.parametrize(("quota", "expected"), [
    ("600", 600), ("12.5", 12.5), (3, 3), ("unlimited", "unlimited"), (None, None),
])
def test_token_quota_as_given(quota: object, expected: object) -> None:
    assert p.parse_token_response(wire(token_reply(quota=quota))).quota == expected


def test_token_reply_under_data_is_accepted() -> None:
    reply = json.dumps({"bk": {"data": {"diktein_credits_token": {"token": "xyz"}}}})
    assert p.parse_token_response(wire(reply)) == p.ServiceToken("xyz", None, None, None)


@pytest.mark.parametrize("raw", [
    '{"bk": {"message": "wrong password"}}',
    json.dumps({"bk": {"diktein_credits_token": {"token": ""}}}),
    json.dumps({"bk": {"diktein_credits_token": {"token": 12345678}}}),
    "<html>",
])
def test_token_reply_rejections(raw: str) -> None:
    with pytest.raises(RemoteProtocolError,
                       match="Bahasakita sign-in: GET /v2/prod/getTokenServices"):
        p.parse_token_response(wire(raw))


def test_token_values_stay_out_of_messages_and_reprs() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        p.parse_token_response({"bk": {"diktein_credits_token": {"token": 987654}}})
    assert "987654" not in str(caught.value)
    assert "abc.def" not in repr(p.parse_token_response(wire(token_reply())))


# --- error bodies --------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"bk": {"status": 401, "message_status": "Token expired"}}',
     p.ErrorReply(401, "Token expired")),
    ('{"bk": {"status": "403", "message": "Forbidden"}}', p.ErrorReply(403, "Forbidden")),
    ('{"status": 500, "message": "boom"}', p.ErrorReply(500, "boom")),
    ('{"bk": {"message_status": "", "message": "quota used up"}}',
     p.ErrorReply(None, "quota used up")),
    ("<html>Bad gateway</html>", p.ErrorReply(None, None)),
    ("", p.ErrorReply(None, None)),
    ("[1]", p.ErrorReply(None, None)),
])
def test_error_bodies(raw: str, expected: p.ErrorReply) -> None:
    # As the transport hands them over: the JSON value, or None for a body that is not JSON.
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    assert p.parse_error(decoded) == expected
    assert p.parse_error(raw) == p.ErrorReply(None, None)  # text is no error envelope


# --- presentation --------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (None, ""), (0, "0:00:00"), (59.6, "0:01:00"), (2530.5, "0:42:10"), (3725, "1:02:05"),
    (36000, "10:00:00"),
])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert p.format_duration(seconds) == text
