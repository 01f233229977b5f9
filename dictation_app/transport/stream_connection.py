"""One live streaming session over WebSocket, driving the pure Bahasakita protocol.

`StreamConnection` owns the socket; `StreamClient` (protocols/) decides what the
frames mean. Library errors become the app's error tree here, at the edge, with the
token redacted from every message.

Every wait has a deadline, so a peer that goes quiet ends in a `ConnectionFailed`
that says how, never in a hang: opening (`open_timeout`), each send (`send_timeout`:
a peer that stopped reading fills the socket's buffers and the send waits on them),
keepalive pings (`ping_interval`, `ping_timeout`), replies while audio flows
(`reply_timeout`: a peer that reads but never answers has stalled), the audioStop
confirmation (`stop_timeout`) and the close itself (`close_timeout`). The socket's
send buffer is kept small (`send_buffer`), so what a stalled peer has swallowed
without reading is a bounded amount of audio that the live session can resend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from dictation_app.core.deadline import within
from dictation_app.core.errors import (
    LIVE_TOKEN,
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    DictationError,
    Fix,
    Remedy,
    RemoteProtocolError,
    ServiceRejected,
)
from dictation_app.core.redaction import redact_url, redacting_logger
from dictation_app.protocols.bahasakita_stream import (
    MAX_FRAME_BYTES,
    SERVICE,
    Event,
    FinalTranscript,
    ForeignReply,
    PartialTranscript,
    ProtocolVersion,
    RequestRejected,
    SessionOpened,
    SessionStopped,
    State,
    StreamClient,
    with_token,
)
from dictation_app.protocols.reply_fields import excerpt
from dictation_app.transport.loopback import is_loopback_host

log = logging.getLogger(__name__)
# websockets logs the request line at DEBUG, and our token travels in its query string.
_ws_log = redacting_logger("dictation_app.websockets")

TranscriptListener = Callable[[PartialTranscript | FinalTranscript], None]


class StreamConnection:
    """Connect, open a session, send chunks, stop; transcripts go to `on_transcript`.

    Usage::

        conn = StreamConnection(url, token=token, on_transcript=show)
        await conn.open()
        for chunk in chunks:
            await conn.send_audio(chunk)
        await conn.stop()          # waits for the audioStop reply
    """

    # How long nothing may follow the audioStop reply before the session counts as ended
    # (see _confirm_stop); each stop() waits this much longer.
    after_stop_quiet = 0.2

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        version: ProtocolVersion = ProtocolVersion.V1,
        language: str = "id",
        on_transcript: TranscriptListener | None = None,
        open_timeout: float = 10.0,
        stop_timeout: float = 30.0,
        service: str = SERVICE,
        send_timeout: float = 10.0,
        reply_timeout: float | None = 20.0,
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 2.0,
        send_buffer: int | None = 64 * 1024,
    ):
        scheme = urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ConfigurationError(
                f"{service}: the URL must start with ws:// or wss://, got {redact_url(url)!r}"
            )
        self._url = with_token(url, token)
        self.display_url = redact_url(self._url)
        self.service = service
        self.protocol = StreamClient(version=version, language=language)
        # Every transcript is a reply, so it restarts the stall clock on its way out.
        self._transcript_listener = on_transcript
        self._on_transcript: TranscriptListener | None = self._on_reply_transcript
        self._open_timeout = open_timeout
        self._stop_timeout = stop_timeout
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._opened: asyncio.Future[SessionOpened] | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._failure: DictationError | None = None
        self._send_timeout = send_timeout
        self._reply_timeout = reply_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._send_buffer = send_buffer
        # When the oldest audio still waiting for any reply was sent (None: none waits).
        self._unanswered_since: float | None = None

    async def open(self) -> SessionOpened:
        """Connect and open a session; raise a DictationError saying why if we cannot."""
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()
        self._stopped = loop.create_future()
        log.info("connecting to %s", self.display_url)
        try:
            self._ws = await within(self._connect(), self._open_timeout)
        except asyncio.TimeoutError as exc:
            raise ConnectionFailed(
                f"{self.service}: no answer from {self.display_url} within "
                f"{self._open_timeout:g} s. Check the network and the URL."
            ) from exc
        self._limit_send_buffer()
        self._reader = asyncio.create_task(self._read(), name="stream-reader")
        try:
            await self._ws.send(self.protocol.open())
            return await within(asyncio.shield(self._opened), self._open_timeout)
        except asyncio.TimeoutError as exc:
            await self.close()
            raise ConnectionFailed(
                f"{self.service}: the server accepted the connection but did not open a "
                f"session within {self._open_timeout:g} s."
            ) from exc
        except ConnectionClosed as exc:
            failure = self._failure  # the reader's word, before close() has its own
            await self.close()
            raise failure or self._dropped(exc) from exc
        except DictationError:
            await self.close()
            raise

    async def send_audio(self, chunk: bytes) -> None:
        """Send one 3200-byte chunk; raises if the session has failed meanwhile.

        Raises ConnectionFailed when the send waits longer than `send_timeout` (the
        peer stopped reading) or no reply came for `reply_timeout` while audio was
        sent (the peer stalled).
        """
        self._raise_failure()
        assert self._ws is not None, "open() first"
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._unanswered_since is None:
            self._unanswered_since = now
        elif self._reply_timeout is not None and now - self._unanswered_since > self._reply_timeout:
            await self._give_up(ConnectionFailed(
                f"{self.service}: the server stopped answering: no reply for "
                f"{now - self._unanswered_since:.0f} s while audio was sent."))
        frame = self.protocol.audio(chunk)
        try:
            await within(self._ws.send(frame), self._send_timeout)
        except asyncio.TimeoutError:
            await self._give_up(ConnectionFailed(
                f"{self.service}: the server stopped reading: a send waited "
                f"{self._send_timeout:g} s."))
        except ConnectionClosed as exc:
            self._raise_failure(exc)
            raise self._dropped(exc) from exc

    async def stop(self) -> None:
        """Send audioStop and wait until the server has answered it (finals come first)."""
        self._raise_failure()
        assert self._ws is not None and self._stopped is not None, "open() first"
        try:
            await within(self._ws.send(self.protocol.stop()), self._send_timeout)
            await within(asyncio.shield(self._stopped), self._stop_timeout)
        except asyncio.TimeoutError as exc:
            raise ConnectionFailed(
                f"{self.service}: the server did not confirm the end of the session within "
                f"{self._stop_timeout:g} s; the last words may be missing."
            ) from exc
        except ConnectionClosed as exc:
            self._raise_failure(exc)
            raise self._dropped(exc) from exc
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the socket without the audioStop handshake (idempotent)."""
        if self._failure is None:
            # Ours, not the peer's: the reader, seeing the socket end, has nothing to report.
            self._failure = ConnectionFailed(f"{self.service}: the connection was closed.")
        if self._ws is not None:
            # The closing handshake needs a peer that reads; one that stopped is cut off.
            with contextlib.suppress(Exception):
                await within(self._ws.close(), self._close_timeout)
            if self._ws.transport is not None and not self._ws.transport.is_closing():
                self._ws.transport.abort()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for future in (self._opened, self._stopped):
            if future is not None and not future.done():
                future.cancel()

    # internals

    async def _connect(self) -> ClientConnection:
        host = urlsplit(self._url).hostname or ""
        try:
            return await connect(
                self._url,
                # Base64 PCM barely compresses; deflate would cost CPU and latency per chunk.
                compression=None,
                proxy=None if is_loopback_host(host) else True,
                open_timeout=None,  # the caller's wait_for bounds the whole open
                max_queue=None,  # the reader task drains replies as they come
                # A bigger frame closes the connection with 1009, which _dropped() words.
                max_size=MAX_FRAME_BYTES,
                logger=_ws_log,
                **self._keepalive_options(),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                # Whose token, and so where to fix it, the caller's front end knows.
                raise AuthenticationFailed(
                    f"{self.service} refused the token (HTTP {status}).",
                    fix=Fix(None, (LIVE_TOKEN,), Remedy.RENEW)) from exc
            raise ConnectionFailed(
                f"{self.service}: the server refused the WebSocket connection with HTTP {status}."
            ) from exc
        except InvalidURI as exc:
            raise ConfigurationError(f"{self.service}: invalid URL {self.display_url!r}") from exc
        except InvalidHandshake as exc:
            raise ConnectionFailed(
                f"{self.service}: {self.display_url} did not complete a WebSocket handshake "
                f"({type(exc).__name__})."
            ) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ConnectionFailed(
                f"{self.service}: cannot connect to {self.display_url}: {reason}. "
                "Check the network and the URL."
            ) from exc

    def _keepalive_options(self) -> dict[str, Any]:
        return {"ping_interval": self._ping_interval, "ping_timeout": self._ping_timeout,
                "close_timeout": self._close_timeout}

    def _limit_send_buffer(self) -> None:
        # The kernel grows a send buffer to megabytes; audio parked there when the peer
        # stops reading is lost with the socket, so keep it to a few seconds' worth.
        if self._send_buffer is None or self._ws is None:
            return
        sock = self._ws.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)

    def _on_reply_transcript(self, event: PartialTranscript | FinalTranscript) -> None:
        self._unanswered_since = None  # the audio sent so far has been answered
        if self._transcript_listener is not None:
            self._transcript_listener(event)

    def _raise_failure(self, exc: ConnectionClosed | None = None) -> None:
        """Raise why the session ended, if it has: the reader's error, or a missed pong."""
        ws = self._ws
        sent = ws.protocol.close_sent if ws is not None else None
        if sent is not None and sent.reason == "keepalive ping timeout":
            raise ConnectionFailed(
                f"{self.service}: the server stopped answering keepalive pings "
                f"(no pong within {self._ping_timeout:g} s); the connection is lost.") from exc
        if self._failure is not None:
            raise self._failure from exc

    async def _give_up(self, error: ConnectionFailed) -> None:
        """End a connection that stopped making progress, and raise `error`."""
        log.warning("%s", error)
        if self._failure is None:
            self._failure = error
        # A peer that stopped reading or answering would not take part in a closing
        # handshake either: cut the socket rather than wait `close_timeout` for it.
        if self._ws is not None and self._ws.transport is not None:
            self._ws.transport.abort()
        await self.close()
        raise error

    async def _read(self) -> None:
        """Feed every reply to the protocol until the session ends; any failure, of the
        connection or of a reply, is handed to `_fail()` at once, waking every waiter."""
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if not isinstance(frame, str):
                    raise RemoteProtocolError(
                        f"{self.service}: the server sent a binary frame ({len(frame):,} "
                        f"byte{'s' if len(frame) != 1 else ''}) where a text reply belongs: "
                        f"{excerpt(frame)}. The session "
                        "was ended; the words shown so far are kept.")
                for event in self.protocol.receive(frame):
                    self._dispatch(event)
                if self.protocol.state is State.STOPPED:
                    await self._confirm_stop()
                    return
        except ConnectionClosed as exc:
            self._fail(self._dropped(exc))
            return
        except DictationError as exc:
            self._fail(exc)
        except Exception as exc:  # a reply no parser foresaw must still wake the waiters
            log.exception("%s: reading a reply failed", self.service)
            self._fail(RemoteProtocolError(
                f"{self.service}: a reply from the server could not be read "
                f"({type(exc).__name__}). The session was ended; the words shown so far "
                "are kept."))
        else:
            if self.protocol.state is not State.STOPPED:
                self._fail(self._dropped(None))
            return
        # The server broke the protocol: end the connection too, so it stops sending
        # and a send blocked on it returns.
        with contextlib.suppress(Exception):
            await self._ws.close(1002, "protocol error")

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, (PartialTranscript, FinalTranscript)):
            if self._on_transcript is not None:
                self._on_transcript(event)
        elif isinstance(event, SessionOpened):
            log.info("session opened (%s)", event.session_id or "no session id")
            assert self._opened is not None
            if not self._opened.done():
                self._opened.set_result(event)
        elif isinstance(event, SessionStopped):
            pass  # stop() is woken by _confirm_stop(), once nothing follows the reply
        elif isinstance(event, ForeignReply):
            log.warning("%s: ignored an %s reply for another session (sess_id %r; ours is "
                        "%r)", self.service, event.operation.value, event.session_id,
                        self.protocol.session_id)
        elif isinstance(event, RequestRejected):
            self._fail(ServiceRejected(event.message, service=self.service,
                                       operation=event.operation.value, status=event.status))

    async def _confirm_stop(self) -> None:
        """Wake stop() once the audioStop reply is followed by nothing.

        Sent fast, all the audio and our audioStop may be out before the server answers
        the first chunks, so an audioStop it sends on its own looks like the answer to
        ours. What gives it away is what follows: a session that has ended sends no more.
        """
        assert self._ws is not None and self._stopped is not None
        try:
            more = await within(self._ws.recv(), self.after_stop_quiet)
        except (asyncio.TimeoutError, ConnectionClosed):
            if not self._stopped.done():
                self._stopped.set_result(None)
            return
        self._fail(RemoteProtocolError(
            f"{self.service}: the server ended the session early (its audioStop reply came "
            f"before it had answered all the audio, then it sent {excerpt(more)}); what "
            "was said after the last final is missing. Start again to dictate the rest."))

    def _fail(self, error: DictationError) -> None:
        if self._failure is None:
            self._failure = error
            log.warning("%s", error)
        for future in (self._opened, self._stopped):
            if future is not None and not future.done():
                future.set_exception(error)
                # Retrieved here so an unobserved failure is not reported as never awaited.
                future.exception()

    def _dropped(self, exc: ConnectionClosed | None) -> DictationError:
        sent = exc.sent.code if exc is not None and exc.sent is not None else None
        if sent == 1009:  # websockets refused a frame over max_size
            return RemoteProtocolError(
                f"{self.service}: the server sent a reply larger than {MAX_FRAME_BYTES:,} "
                "bytes, which no transcript needs; the connection was closed. The words "
                "shown so far are kept.")
        if sent == 1007:  # websockets refused a text frame that is not UTF-8
            return RemoteProtocolError(
                f"{self.service}: the server sent a text frame that is not valid UTF-8; "
                "the connection was closed. The words shown so far are kept.")
        detail = ""
        if exc is not None and exc.rcvd is not None:
            reason = f": {exc.rcvd.reason}" if exc.rcvd.reason else ""
            detail = f" (close code {exc.rcvd.code}{reason})"
        return ConnectionFailed(f"{self.service}: the connection dropped{detail}.")
