"""Botlhale async upload: client memory and throughput of the presigned POST, vs curl.

A 1 GiB WAV (48 kHz stereo noise, 93 minutes: an async job Botlhale takes as it is)
goes through `BotlhaleService.run()` in a child process, against a loopback server in
another process that answers the four API calls and streams the presigned POST's body
into a 1 MiB buffer it discards. `curl -F` posts the same fields and file to the same
endpoint in the same run. The server times each upload from its headers to the body's
last byte, so both clients are measured alike; the child samples its own RSS every 5 ms.
Best of 3 for throughput, worst of 3 for memory. For comparison, the same client also
runs with httpx's own 64 KiB reads instead of the service's 2 MiB ones.

Targets: RSS growth < 50 MB; throughput >= 80% of curl's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "bench_upload.md"
SIZE = 1 << 30
RATE, CHANNELS = 48_000, 2
RUNS = 3
RSS_TARGET_MB = 50.0
THROUGHPUT_TARGET = 0.8
FIELDS = {"key": "BenchOrg/bench.wav", "policy": "eyJiZW5jaCI6IHRydWV9",
          "x-amz-signature": "0123456789abcdef"}

# A raw-socket HTTP/1.1 server: one thread per connection, keep-alive, bodies read with
# recv_into() into one 1 MiB buffer. Prints one JSON line per presigned POST.
SERVER = r"""
import json, socket, sys, threading, time
FIELDS = json.loads(sys.argv[1])
CHUNK = 1 << 20

def reply(conn, status, body=b"", kind="application/json"):
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += f"Content-Type: {kind}\r\n"
    conn.sendall(head.encode() + b"\r\n" + body)

def handle(conn, port):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    view = memoryview(bytearray(CHUNK))
    pending = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            start = time.perf_counter()
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower() or (
                    method == "POST" and "content-length" not in headers):
                reply(conn, "411 Length Required")
                return
            length = int(headers.get("content-length", "0"))
            if headers.get("expect", "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body, pending = pending[:length], pending[length:]
            remaining = length - len(body)
            keep = not target.startswith("/bucket")
            while remaining:
                n = conn.recv_into(view[:min(CHUNK, remaining)])
                if not n:
                    return
                if keep or len(body) < 4096:
                    body += bytes(view[:min(n, 4096)] if not keep else view[:n])
                remaining -= n
            path = target.split("?", 1)[0]
            if path == "/bucket":
                seconds = time.perf_counter() - start
                first = body[:4096]  # the fields, then the file
                print(json.dumps({"bytes": length, "seconds": seconds,
                                  "authorization": "authorization" in headers,
                                  "fields_first": all(f'name="{k}"'.encode() in first
                                                      for k in FIELDS)}), flush=True)
                reply(conn, "204 No Content")
            elif path == "/asr/async/upload":
                reply(conn, "200 OK", json.dumps(
                    {"upload_url": f"http://127.0.0.1:{port}/bucket", "fields": FIELDS}).encode())
            elif path == "/asr/async/status":
                reply(conn, "200 OK", b'{"status": "completed"}')
            elif path == "/asr/async/data":
                reply(conn, "200 OK", b'{"audio_length": 5580.0, "timestamps": []}')
            else:
                reply(conn, "404 Not Found", b'{"message": "no such path"}')

listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
print(port, flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn, port), daemon=True).start()
"""

# The app's own path: probe, prepare (untouched: a WAV at 48 kHz), upload request,
# presigned POST through ServiceHttp + ProgressFile, status, data.
CLIENT = r"""
import asyncio, json, sys, threading, time
sys.path.insert(0, sys.argv[3])
from pathlib import Path
import psutil
from dictation_app.jobs.model import JobOptions
from dictation_app.transport.progress_file import ProgressFile
from dictation_app.services.botlhale import BotlhaleService
from dictation_app.services.poll_policy import PollPolicy
# The service imports its audio probe and transcoder on first use (a start-up cost the
# CLI need not pay); the app has them loaded before any job runs, so they are imported
# here, before the baseline, and the growth measured is the job's own.
import dictation_app.audio.files, dictation_app.audio.transcode
if len(sys.argv) > 4:  # the read size to compare with (0: httpx's own 64 KiB)
    ProgressFile.READ_SIZE = int(sys.argv[4])

class Context:
    job_id = 1
    options = JobOptions()
    remote = {}
    def __init__(self, file):
        self.file = Path(file)
        self.reports = 0
    def report(self, state, progress=None):
        self.reports += 1
    async def remember(self, **values):
        self.remote = dict(values)

async def main(context):
    service = BotlhaleService(base_url=sys.argv[1], token="bench-token", org_id="BenchOrg",
                              poll=PollPolicy(initial=0.01))
    try:
        return await service.run(context)
    finally:
        await service.aclose()

process = psutil.Process()
peak, stop = [0], threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        stop.wait(0.005)
context = Context(sys.argv[2])
baseline = process.memory_info().rss
sampler = threading.Thread(target=sample)
sampler.start()
began = time.perf_counter()
try:
    asyncio.run(main(context))
finally:
    stop.set()
    sampler.join()
wall = time.perf_counter() - began
peak[0] = max(peak[0], process.memory_info().rss)
print(json.dumps({"growth": peak[0] - baseline, "baseline": baseline, "wall": wall,
                  "reports": context.reports, "remembered": sorted(context.remote)}))
"""


def make_wav(path: Path) -> None:
    rng = np.random.default_rng(11)
    frames = (SIZE - 44) // (2 * CHANNELS)
    block = 1 << 20
    with soundfile.SoundFile(path, "w", samplerate=RATE, channels=CHANNELS,
                             format="WAV", subtype="PCM_16") as sink:
        for start in range(0, frames, block):
            count = min(block, frames - start)
            sink.write(rng.integers(-8000, 8000, (count, CHANNELS), dtype=np.int16))


def ours(url: str, wav: Path, server: subprocess.Popen[str], *extra: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CLIENT, url, str(wav), str(ROOT), *extra],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"our client failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout)
    return {**result, **upload_line(server)}


def curl(url: str, wav: Path, server: subprocess.Popen[str]) -> dict[str, Any]:
    form = [arg for name, value in FIELDS.items() for arg in ("-F", f"{name}={value}")]
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *form,
                          "-F", f"file=@{wav};filename=bench.wav;type=audio/wav",
                          f"{url}/bucket"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or out.stdout != "204":
        raise SystemExit(f"curl failed ({out.stdout}): {out.stderr}")
    return upload_line(server)


def upload_line(server: subprocess.Popen[str]) -> dict[str, Any]:
    assert server.stdout is not None
    line: dict[str, Any] = json.loads(server.stdout.readline())
    if line["authorization"] or not line["fields_first"]:
        raise SystemExit(f"bad presigned POST: {line}")
    return line


def mb_per_s(run: dict[str, Any]) -> float:
    return float(run["bytes"]) / run["seconds"] / 1e6


def main() -> None:
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed: it is the reference this benchmark needs")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        wav = Path(tmp) / "bench.wav"
        make_wav(wav)
        server = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(FIELDS)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
            runs: dict[str, list[dict[str, Any]]] = {"ours": [], "curl": [], "64k": []}
            for _ in range(RUNS):
                runs["ours"].append(ours(url, wav, server))
                runs["curl"].append(curl(url, wav, server))
                runs["64k"].append(ours(url, wav, server, "0"))
        finally:
            server.kill()
            server.wait()
        size = wav.stat().st_size
    best = {name: max(results, key=mb_per_s) for name, results in runs.items()}
    growth = max(r["growth"] for r in runs["ours"]) / 1e6
    ratio = mb_per_s(best["ours"]) / mb_per_s(best["curl"])

    def row(label: str, name: str) -> str:
        results = runs[name]
        return (f"| {label} | {mb_per_s(best[name]):.0f} "
                f"({', '.join(f'{mb_per_s(r):.0f}' for r in results)}) | "
                f"{mb_per_s(best[name]) / mb_per_s(best['curl']):.2f}x | "
                + (f"{min(r['wall'] for r in results):.2f} | "
                   f"{max(r['growth'] for r in results) / 1e6:.1f} |" if name != "curl"
                   else "- | - |"))

    lines = [
        f"## Botlhale async upload: {size / 2**30:.2f} GiB WAV over loopback "
        f"(best of {RUNS} for throughput, worst for memory)",
        "",
        "| client | upload MB/s (each run) | vs curl | job wall s | RSS growth MB |",
        "|---|---|---|---|---|",
        row("dictation-app `BotlhaleService.run()`, 2 MiB reads", "ours"),
        row("curl -F", "curl"),
        row("for comparison: the same with httpx's own 64 KiB reads", "64k"),
        "",
        f"Upload time is measured by the server, headers to last body byte. RSS growth: "
        f"peak during `run()` minus the RSS after imports (baseline "
        f"{runs['ours'][0]['baseline'] / 1e6:.0f} MB); {runs['ours'][0]['reports']} "
        "progress reports per job.",
        "",
        f"Targets: RSS growth < {RSS_TARGET_MB:.0f} MB: **{growth:.1f} MB**; throughput "
        f">= {THROUGHPUT_TARGET:.0%} of curl: **{ratio:.0%}**. "
        + ("PASS" if growth < RSS_TARGET_MB and ratio >= THROUGHPUT_TARGET else "FAIL"),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
