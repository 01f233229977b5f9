"""Client CPU time per second of audio: `stream --pace fast` against the vendor-style peer.

Both clients stream the same 10-minute recording to the same loopback server (a
separate process, so its CPU is not counted) in the same run. Ours reads a 48 kHz
stereo WAV, downmixes and resamples it; the peer reads ready-made 16 kHz mono PCM.
For information, ours also reads the same audio as 16 kHz mono WAV and as 48 kHz
stereo FLAC (FLAC decoding is libsndfile's cost, not resampling's). CPU time is
user + system of the client process, start-up and imports included, median of 3.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 600
RUNS = 3
PEER = "vendor-style peer, 16 kHz mono PCM"

SERVER = """
import sys, threading
sys.path.insert(0, {root!r})
from tests.servers.bahasakita_server import Behaviour, FakeBahasakita
with FakeBahasakita(Behaviour(partial_every=5, final_every=50)) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def make_audio(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    t = np.arange(SECONDS * 48000) / 48000
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    stereo = np.stack([voice, voice * 0.8], axis=1) + rng.normal(0, 0.01, (len(t), 2))
    files = {name: folder / name for name in ("48k.wav", "48k.flac", "16k.wav", "16k.pcm")}
    soundfile.write(files["48k.wav"], stereo.astype(np.float32), 48000, subtype="PCM_16")
    soundfile.write(files["48k.flac"], stereo.astype(np.float32), 48000, subtype="PCM_16")
    mono = soundfile.read(files["48k.wav"], dtype="float32")[0].mean(axis=1)
    import soxr

    pcm = np.clip(np.rint(soxr.resample(mono, 48000, 16000) * 32768), -32768, 32767)
    files["16k.pcm"].write_bytes(pcm.astype("<i2").tobytes())
    soundfile.write(files["16k.wav"], pcm.astype(np.int16), 16000, subtype="PCM_16")
    return files


def cpu_seconds(cmd: list[str]) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:4]} failed: {stderr}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = make_audio(Path(tmp))
        server = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT))],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        rows = {
            "dictation-app, 48 kHz stereo WAV (downmix + resample)": "48k.wav",
            "dictation-app, 16 kHz mono WAV": "16k.wav",
            "dictation-app, 48 kHz stereo FLAC (decode + resample)": "48k.flac",
        }
        times: dict[str, list[float]] = {label: [] for label in [*rows, PEER]}
        try:
            for _ in range(RUNS):
                for label, name in rows.items():
                    times[label].append(cpu_seconds(
                        [sys.executable, "-m", "dictation_app", "stream", str(files[name]),
                         "--url", url, "--pace", "fast"]))
                times[PEER].append(cpu_seconds(
                    [sys.executable, str(ROOT / "bench" / "peer_client.py"), url,
                     str(files["16k.pcm"])]))
        finally:
            server.communicate("")
    peer = statistics.median(times[PEER])
    print(f"## Streaming client CPU ({SECONDS // 60}-minute file, median of {RUNS})\n")
    print("| client and input | CPU s | CPU ms per audio s | vs peer |")
    print("|---|---|---|---|")
    for label, values in times.items():
        cpu = statistics.median(values)
        print(f"| {label} | {cpu:.2f} | {1000 * cpu / SECONDS:.2f} | {cpu / peer:.2f}x |")
    ratio = statistics.median(times[next(iter(rows))]) / peer
    print(f"\nTarget: the first row at most 1.0x the peer: **{ratio:.2f}x**.")


if __name__ == "__main__":
    main()
