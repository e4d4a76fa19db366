"""A data-track participant in its own process, for the interop tests.

    python3 data_track_participant.py --url ws://127.0.0.1:PORT --token JWT [--lifetime S]

It joins with whichever library the environment selects (``LIVEKIT_LIB_PATH``;
the tests run it on the official one) and prints one JSON object per line:

* ``connected``;
* ``data_track_published`` (sid, name, publisher) for every remote data track;
  it subscribes to each at once and reports every frame as ``frame`` (sid,
  size, sha256, user_timestamp, first byte), and the end of the stream as
  ``stream_ended`` (sid, error);
* ``data_track_unpublished`` (sid).

Commands, one JSON object per line on stdin:

* ``{"cmd": "publish", "name": "..."}`` answers ``published`` (name, sid) or
  ``error``;
* ``{"cmd": "push", "name": "...", "sizes": [...], "interval": S,
  "timestamp": true, "repeat": N}`` pushes one frame per size (payload byte
  ``j`` of frame ``i`` is ``(i * 7 + j) % 256``; the sizes are pushed ``repeat``
  times), ``interval`` seconds apart, in the background; answers ``pushed``
  when done;
* ``{"cmd": "stop"}`` stops the pushing; ``{"cmd": "unpublish", "name":
  "..."}`` answers ``unpublished``; ``{"cmd": "quit"}``.

It leaves and exits after ``--lifetime`` seconds in any case (exit code 3).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time

from livekit import rtc


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def payload(index: int, size: int) -> bytes:
    return bytes((index * 7 + j) % 256 for j in range(size))


async def read_track(track: rtc.RemoteDataTrack) -> None:
    sid = track.info.sid
    error = None
    try:
        async for frame in track.subscribe(buffer_size=256):
            data = bytes(frame.payload)
            emit(
                "frame",
                sid=sid,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                user_timestamp=frame.user_timestamp,
                first=data[0] if data else None,
            )
    except Exception as e:  # noqa: BLE001 - reported to the test
        error = str(e)
    emit("stream_ended", sid=sid, error=error)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args()

    room = rtc.Room()
    tracks: dict[str, rtc.LocalDataTrack] = {}
    readers: list[asyncio.Task] = []
    pushing: list[asyncio.Task] = []

    @room.on("data_track_published")
    def _published(track: rtc.RemoteDataTrack) -> None:
        emit(
            "data_track_published",
            sid=track.info.sid,
            name=track.info.name,
            publisher=track.publisher_identity,
        )
        readers.append(asyncio.ensure_future(read_track(track)))

    @room.on("data_track_unpublished")
    def _unpublished(sid: str) -> None:
        emit("data_track_unpublished", sid=sid)

    try:
        await room.connect(args.url, args.token)
    except Exception as e:  # noqa: BLE001
        emit("error", message=str(e))
        return 2
    emit("connected", identity=room.local_participant.identity)

    async def push(cmd: dict) -> None:
        track = tracks[cmd["name"]]
        for _ in range(cmd.get("repeat", 1)):
            for i, size in enumerate(cmd["sizes"]):
                ts = int(time.time() * 1000) if cmd.get("timestamp") else None
                try:
                    track.try_push(rtc.DataTrackFrame(payload=payload(i, size), user_timestamp=ts))
                except rtc.PushFrameError as e:
                    emit("error", message=str(e))
                    return
                await asyncio.sleep(cmd.get("interval", 0.05))
        emit("pushed", name=cmd["name"])

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    deadline = loop.time() + args.lifetime
    code = 3
    while loop.time() < deadline:
        try:
            line = await asyncio.wait_for(reader.readline(), deadline - loop.time())
        except asyncio.TimeoutError:
            break
        if not line:
            break
        cmd = json.loads(line)
        op = cmd.get("cmd")
        if op == "quit":
            code = 0
            break
        if op == "publish":
            try:
                track = await room.local_participant.publish_data_track(name=cmd["name"])
                tracks[cmd["name"]] = track
                emit("published", name=cmd["name"], sid=track.info.sid)
            except Exception as e:  # noqa: BLE001
                emit("error", message=str(e))
        elif op == "push":
            pushing.append(asyncio.ensure_future(push(cmd)))
        elif op == "stop":
            for task in pushing:
                task.cancel()
            pushing.clear()
            emit("stopped")
        elif op == "unpublish":
            await tracks[cmd["name"]].unpublish()
            emit("unpublished", name=cmd["name"])

    for task in pushing + readers:
        task.cancel()
    await room.disconnect()
    emit("disconnected")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
