"""Soak: one hour of live audio at 20x through a loopback server that drops the
connection every few minutes of audio and once stops reading.

The session is the app's own `LiveSession`, fed 100 ms blocks of noise on a schedule
20 times faster than real time, with every wall-clock setting of the take (send and
reply deadlines, backoff, the final's latency) divided by 20 too, so the run is the
hour compressed, not a different hour. The server runs in its own process and writes
what each session received to disk at the end; the bench stitches the sessions
together, takes out the resent overlaps and compares the result with the input,
which it generates again from the seed. Measured in the client: RSS growth after a
minute of warm-up, open file descriptors and asyncio tasks at every drop.

`SOAK_MINUTES` shortens the run (for a try; the result reported is the full hour).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dictation_app.audio.convert import ChunkPipeline  # noqa: E402
from dictation_app.core.errors import DictationError  # noqa: E402
from dictation_app.protocols.bahasakita_stream import ProtocolVersion  # noqa: E402
from dictation_app.services.live_session import (  # noqa: E402
    LiveSession,
    LiveTarget,
    Phase,
    ReconnectPolicy,
)
from dictation_app.transport.stream_connection import (  # noqa: E402
    StreamConnection,
    TranscriptListener,
)
from tests.servers.bahasakita_server import Session  # noqa: E402
from tests.support.streaming import stitch  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "60"))
SPEED = 20
RATE = 16_000
BLOCK = 1600  # 100 ms
CHUNK = 3200
SEED = 11
DROP_EVERY = 1800  # chunks: every 3 minutes of audio
STOP_READING_AFTER = 1000  # once, 100 s into the first session

SERVER = """
import sys, pathlib
sys.path.insert(0, {root!r})
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
out = pathlib.Path(sys.argv[1])
behaviour = Behaviour(partial_every=5, final_every=12, drop_every={drop},
                      stop_reading_after={stop})
with FakeBahasakita(behaviour) as server:
    print(server.url, flush=True)
    sys.stdin.read()
    for i, session in enumerate(server.sessions):
        (out / f"{{i:04d}}.pcm").write_bytes(bytes(session.audio))
        (out / f"{{i:04d}}.finals").write_text("\\n".join(session.finals))
"""


def blocks(count: int) -> Iterator[np.ndarray]:
    """The same noise every time: the bench makes it again to compare."""
    rng = np.random.default_rng(SEED)
    for _ in range(count):
        yield rng.integers(-20000, 20000, (BLOCK, 1)).astype(np.int16)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Listener:
    def __init__(self) -> None:
        self.finals: list[str] = []
        self.statuses: list[str] = []
        self.reconnects_seen = 0

    def on_session_state(self, phase: Phase, busy: bool) -> None:
        pass

    def on_session_status(self, kind: str, message: str) -> None:
        if message.startswith("Reconnecting") and (
                not self.statuses or not self.statuses[-1].startswith("Reconnecting")):
            self.reconnects_seen += 1
        self.statuses.append(message)

    def on_session_partial(self, text: str) -> None:
        pass

    def on_session_final(self, text: str, service: str) -> None:
        self.finals.append(text)

    def on_session_error(self, error: DictationError) -> None:
        print(f"error: {error}", file=sys.stderr)


async def soak(url: str) -> dict[str, Any]:
    scale = 1 / SPEED
    policy = ReconnectPolicy(initial_delay=0.5 * scale, max_delay=10 * scale,
                             give_up_after=120 * scale, final_latency=0.5 * scale)

    def connect(target: LiveTarget, url: str, on_transcript: TranscriptListener
                ) -> StreamConnection:
        return StreamConnection(url, on_transcript=on_transcript, service=target.service,
                                send_timeout=10 * scale, reply_timeout=20 * scale,
                                stop_timeout=30, open_timeout=10)

    listener = Listener()
    captured = 0

    def record(chunk: bytes) -> None:
        nonlocal captured
        captured += 1

    session = LiveSession(listener, connect=connect, pre_roll_seconds=0, policy=policy,
                          recorder=record)
    session.set_source(RATE, 1)
    fds_before, tasks_before = open_fds(), len(asyncio.all_tasks())
    session.start(LiveTarget(url, None, ProtocolVersion.V1, "id", "loopback"))
    loop = asyncio.get_running_loop()
    total = int(MINUTES * 60 * RATE / BLOCK)
    started = loop.time()
    samples: list[tuple[float, float, int, int]] = []  # audio minute, rss, fds, tasks
    warm_rss = 0.0
    max_behind = 0.0
    for i, block in enumerate(blocks(total)):
        delay = started + i * BLOCK / RATE / SPEED - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        session.feed(block)
        max_behind = max(max_behind, session.behind_seconds)
        if i % 3000 == 1500:  # every 5 minutes of audio, between drops
            samples.append((i * BLOCK / RATE / 60, rss_mb(), open_fds(),
                            len(asyncio.all_tasks())))
        if i == 600:  # one minute in
            warm_rss = rss_mb()
    session.stop()
    await session.finished()
    end_rss = rss_mb()
    before_take = (fds_before, tasks_before)
    after_take = (open_fds(), len(asyncio.all_tasks()))
    return {"session": session, "listener": listener, "captured": captured,
            "warm_rss": warm_rss, "end_rss": end_rss, "samples": samples,
            "before_take": before_take, "after_take": after_take,
            "wall": loop.time() - started, "max_behind": max_behind}


def expected_wire(total_blocks: int) -> bytes:
    pipeline = ChunkPipeline(RATE, 1)
    out = bytearray()
    for block in blocks(total_blocks):
        for chunk in pipeline.push(block):
            out += chunk
    for chunk in pipeline.finish():
        out += chunk
    return bytes(out)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(root=str(ROOT), drop=DROP_EVERY,
                                                 stop=STOP_READING_AFTER), str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        try:
            result = asyncio.run(soak(url))
        finally:
            server.communicate("", timeout=120)
        sessions = [Session(audio=bytearray(p.read_bytes()))
                    for p in sorted(out.glob("*.pcm"))]
        server_finals = [line for p in sorted(out.glob("*.finals"))
                         for line in p.read_text().splitlines()]
    session: LiveSession = result["session"]
    listener: Listener = result["listener"]
    total_blocks = int(MINUTES * 60 * RATE / BLOCK)
    wire = expected_wire(total_blocks)
    union, overlaps = stitch(sessions)
    lost = len(wire) - len(union) if wire.startswith(union) else None
    same = union == wire
    resent_s = [o / CHUNK / 10 for o in overlaps]
    samples = result["samples"]
    fds = [s[2] for s in samples]
    tasks = [s[3] for s in samples]
    rss_growth = result["end_rss"] - result["warm_rss"]

    print(f"## Soak: {MINUTES:g} minutes of live audio at {SPEED}x, drops and a stall\n")
    print(f"Server: drops every {DROP_EVERY / 600:g} minutes of audio, once stops reading "
          f"({STOP_READING_AFTER / 600:.1f} min in); finals every 1.2 s of audio. "
          f"Wall time {result['wall']:.0f} s.\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| sessions (reconnects) | {len(sessions)} ({session.reconnects}) | |")
    print(f"| samples lost | {'0' if same else lost} "
          f"({'identical' if same else 'DIFFERENT'}: {len(union) // 2} of {len(wire) // 2}) "
          "| 0 |")
    print(f"| chunks captured / recorded by the hook | {len(wire) // CHUNK} / "
          f"{result['captured']} | equal |")
    if resent_s:
        print(f"| received twice per reconnect, max / mean | {max(resent_s):.1f} s / "
              f"{sum(resent_s) / len(resent_s):.1f} s | at most 2 s |")
    print(f"| resent by the client, total | {session.chunks_resent / 10:.1f} s | |")
    print(f"| finals shown / sent by the servers | {len(listener.finals)} / "
          f"{len(server_finals)} | equal, in order: "
          f"{'yes' if listener.finals == server_finals else 'NO'} |")
    print(f"| most audio behind (queued) | {result['max_behind']:.1f} s | |")
    print(f"| chunks that waited on disk | {session.chunks_spilled} | |")
    print(f"| RSS growth after the first minute | {rss_growth:.1f} MB "
          f"({result['warm_rss']:.0f} -> {result['end_rss']:.0f} MB) | under 20 MB |")
    (fds0, tasks0), (fds1, tasks1) = result["before_take"], result["after_take"]
    print(f"| open file descriptors while streaming, every 5 min | {min(fds)}-{max(fds)} "
          f"(before the take {fds0}, after {fds1}) | flat |")
    print(f"| asyncio tasks while streaming, every 5 min | {min(tasks)}-{max(tasks)} "
          f"(before the take {tasks0}, after {tasks1}) | flat |")
    ok = (same and (not resent_s or max(resent_s) <= 2.0) and rss_growth < 20
          # A sample may catch a keepalive ping's or a close's short-lived task: flat
          # means no growth, within one, and all gone after the take.
          and max(fds) - min(fds) <= 1 and max(tasks) - min(tasks) <= 1
          and (fds1, tasks1) == (fds0, tasks0) and listener.finals == server_finals)
    print(f"\nAll targets met: **{'yes' if ok else 'no'}**.")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
