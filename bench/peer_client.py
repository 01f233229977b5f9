"""The benchmark's reference peer: only what the vendor's sample client does.

Reads raw 16 kHz mono s16le PCM, sends each 3200-byte chunk as base64 inside a
json.dumps'd audioStream message, prints every reply, sends audioStop and exits
on its reply. No resampling, no UI, default websockets options (as the sample).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys

import websockets


async def main(url: str, pcm_path: str) -> None:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"bk": {"service": "stt", "type": "audioConn"}}))
        reply = json.loads(await ws.recv())
        print("Response :", reply)
        sess_id = reply["bk"]["data"]["sess_id"]
        done = asyncio.Event()

        async def receive() -> None:
            async for raw in ws:
                reply = json.loads(raw)
                data = reply["bk"].get("data", {})
                if reply["bk"].get("type") == "audioStop":
                    print("end of stream audio")
                    done.set()
                    return
                if "final" in data:
                    print("Final :", data["final"])
                elif "partial" in data:
                    print("Partial :", data["partial"])

        receiver = asyncio.create_task(receive())
        with open(pcm_path, "rb") as f:
            while chunk := f.read(3200):
                msg = {"bk": {"service": "stt", "sess_id": sess_id, "type": "audioStream",
                              "data": {"audio": base64.b64encode(chunk).decode("utf-8")}}}
                await ws.send(json.dumps(msg))
        await ws.send(json.dumps({"bk": {"service": "stt", "sess_id": sess_id,
                                         "type": "audioStop"}}))
        await done.wait()
        await receiver


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
