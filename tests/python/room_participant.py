"""A participant in its own process, for the multi-process and interop tests.

    python3 room_participant.py --url ws://127.0.0.1:PORT --token JWT [--lifetime S]

It joins the room with the public ``livekit.rtc`` API of whichever library the
environment selects (``LIVEKIT_LIB_PATH``), then:

* prints one JSON object per line on stdout for what it sees:
  ``connected`` (with its identity, sid, room name and the remote participants),
  ``participant_connected`` / ``participant_disconnected``, ``data``,
  ``participant_metadata_changed`` / ``participant_name_changed`` /
  ``participant_attributes_changed``, ``sent``, ``error``, ``disconnected``;
* echoes every data packet on topic ``echo`` back to its sender only, on topic
  ``echo-reply``, with the same payload and reliability;
* obeys one JSON command per line on stdin:
  ``{"cmd": "send", "text": "...", "topic": "...", "reliable": true,
  "to": ["identity"], "count": N}`` sends N packets ``text`` + ``:i``
  (just ``text`` when count is absent);
  ``{"cmd": "set_metadata" | "set_name", "value": "..."}``,
  ``{"cmd": "set_attributes", "value": {...}}``, ``{"cmd": "quit"}``;
* data streams, on command:
  ``{"cmd": "listen_streams", "topics": [...]}`` registers a text and a byte
  stream handler on each topic (answers ``listening``); each stream read to
  its end is reported as ``text_stream`` / ``byte_stream`` (sender, topic,
  id, name, size, sha256 and length of the content, its first 256
  characters, the number of chunks read, header and final attributes) or
  ``stream_error``;
  ``{"cmd": "send_text", "text": "...", "repeat": N, "topic": "...",
  "attributes": {...}, "to": [...]}`` sends ``text`` repeated N times with
  ``send_text`` (answers ``text_sent``);
  ``{"cmd": "stream_text", "parts": [...], "topic": "...", "attributes":
  {...}, "close_attributes": {...}, "reason": "..."}`` writes the parts with
  ``stream_text`` (answers ``text_streamed``);
  ``{"cmd": "send_bytes" | "send_file", "size": N, "seed": S,
  "compressible": false, "name": "...", "mime_type": "...", "topic": "...",
  "attributes": {...}, "to": [...]}`` sends N deterministic bytes with
  ``send_bytes`` or through a temporary file with ``send_file`` (answers
  ``bytes_sent`` with their sha256).

It leaves and exits after ``--lifetime`` seconds in any case (exit code 3), so
it never outlives a failed test for long. Exit code 0 after ``quit``, 2 when
the connection fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import tempfile

from livekit import rtc


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def describe(packet: rtc.DataPacket) -> dict:
    return {
        "from": packet.participant.identity if packet.participant else None,
        "topic": packet.topic,
        "reliable": packet.kind == rtc.DataPacketKind.KIND_RELIABLE,
        "size": len(packet.data),
        "sha256": hashlib.sha256(packet.data).hexdigest(),
        "text": packet.data.decode("utf-8", errors="replace") if len(packet.data) <= 256 else None,
    }


def payload(size: int, seed: int, compressible: bool) -> bytes:
    """The bytes a send_bytes / send_file command sends."""
    if compressible:
        unit = f"line {seed} of a compressible payload\n".encode()
        return (unit * (size // len(unit) + 1))[:size]
    return random.Random(seed).randbytes(size)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--lifetime", type=float, default=90.0)
    args = parser.parse_args()

    room = rtc.Room()
    done = asyncio.Event()
    pending: set[asyncio.Task] = set()

    def spawn(coro) -> None:
        task = asyncio.ensure_future(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def echo(packet: rtc.DataPacket) -> None:
        try:
            await room.local_participant.publish_data(
                packet.data,
                reliable=packet.kind == rtc.DataPacketKind.KIND_RELIABLE,
                topic="echo-reply",
                destination_identities=[packet.participant.identity] if packet.participant else [],
            )
        except Exception as e:  # reported, not fatal
            emit("error", where="echo", message=str(e))

    @room.on("data_received")
    def _on_data(packet: rtc.DataPacket) -> None:
        emit("data", **describe(packet))
        if packet.topic == "echo":
            spawn(echo(packet))

    @room.on("participant_connected")
    def _on_pc(p: rtc.RemoteParticipant) -> None:
        emit("participant_connected", identity=p.identity, sid=p.sid, name=p.name, metadata=p.metadata)

    @room.on("participant_disconnected")
    def _on_pd(p: rtc.RemoteParticipant) -> None:
        emit("participant_disconnected", identity=p.identity, reason=int(p.disconnect_reason or 0))

    @room.on("participant_metadata_changed")
    def _on_md(p, old, new) -> None:
        emit("participant_metadata_changed", identity=p.identity, old=old, new=new)

    @room.on("participant_name_changed")
    def _on_name(p, old, new) -> None:
        emit("participant_name_changed", identity=p.identity, old=old, new=new)

    @room.on("participant_attributes_changed")
    def _on_attrs(changed, p) -> None:
        emit("participant_attributes_changed", identity=p.identity, changed=dict(changed),
             attributes=dict(p.attributes))

    @room.on("disconnected")
    def _on_disconnected(reason) -> None:
        emit("disconnected", reason=int(reason))
        done.set()

    try:
        await asyncio.wait_for(room.connect(args.url, args.token), 30)
    except Exception as e:
        emit("error", where="connect", message=f"{type(e).__name__}: {getattr(e, 'message', e)}")
        return 2
    emit(
        "connected",
        identity=room.local_participant.identity,
        sid=room.local_participant.sid,
        room=room.name,
        room_sid=await asyncio.wait_for(room.sid, 10),
        remotes=sorted(room.remote_participants),
    )

    async def read_text(reader: rtc.TextStreamReader, sender: str, header_attributes: dict) -> None:
        parts = []
        try:
            async for part in reader:
                parts.append(part)
        except Exception as e:
            emit("stream_error", kind="text", topic=reader.info.topic, id=reader.info.stream_id,
                 message=str(e))
            return
        text = "".join(parts)
        emit("text_stream", **{"from": sender}, topic=reader.info.topic, id=reader.info.stream_id,
             size=reader.info.size, length=len(text.encode()),
             sha256=hashlib.sha256(text.encode()).hexdigest(), text=text[:256], chunks=len(parts),
             header_attributes=header_attributes, attributes=dict(reader.info.attributes or {}))

    async def read_bytes(reader: rtc.ByteStreamReader, sender: str, header_attributes: dict) -> None:
        digest = hashlib.sha256()
        length = 0
        chunks = 0
        try:
            async for part in reader:
                digest.update(part)
                length += len(part)
                chunks += 1
        except Exception as e:
            emit("stream_error", kind="bytes", topic=reader.info.topic, id=reader.info.stream_id,
                 message=str(e))
            return
        emit("byte_stream", **{"from": sender}, topic=reader.info.topic, id=reader.info.stream_id,
             name=reader.info.name, mime_type=reader.info.mime_type, size=reader.info.size,
             length=length, sha256=digest.hexdigest(), chunks=chunks,
             header_attributes=header_attributes, attributes=dict(reader.info.attributes or {}))

    def on_text(reader: rtc.TextStreamReader, sender: str) -> None:
        # The header's attributes, taken now: by the time the spawned task
        # runs, the trailer may have merged its attributes into the info.
        spawn(read_text(reader, sender, dict(reader.info.attributes or {})))

    def on_bytes(reader: rtc.ByteStreamReader, sender: str) -> None:
        spawn(read_bytes(reader, sender, dict(reader.info.attributes or {})))

    async def run_command(cmd: dict) -> None:
        lp = room.local_participant
        kind = cmd.get("cmd")
        if kind == "listen_streams":
            for topic in cmd.get("topics", []):
                room.register_text_stream_handler(topic, on_text)
                room.register_byte_stream_handler(topic, on_bytes)
            emit("listening", topics=cmd.get("topics", []))
        elif kind == "send_text":
            text = cmd.get("text", "") * int(cmd.get("repeat", 1))
            info = await lp.send_text(
                text,
                topic=cmd.get("topic", ""),
                attributes=cmd.get("attributes") or None,
                destination_identities=cmd.get("to") or None,
            )
            emit("text_sent", id=info.stream_id, length=len(text.encode()),
                 sha256=hashlib.sha256(text.encode()).hexdigest())
        elif kind == "stream_text":
            writer = await lp.stream_text(
                topic=cmd.get("topic", ""),
                attributes=cmd.get("attributes") or None,
                destination_identities=cmd.get("to") or None,
            )
            for part in cmd.get("parts", []):
                await writer.write(part)
            await writer.aclose(reason=cmd.get("reason", ""),
                                attributes=cmd.get("close_attributes") or None)
            emit("text_streamed", id=writer.info.stream_id)
        elif kind in ("send_bytes", "send_file"):
            data = payload(int(cmd["size"]), int(cmd.get("seed", 0)), bool(cmd.get("compressible")))
            common = dict(
                topic=cmd.get("topic", ""),
                attributes=cmd.get("attributes") or None,
                destination_identities=cmd.get("to") or None,
            )
            if kind == "send_bytes":
                info = await lp.send_bytes(data, name=cmd.get("name"), mime_type=cmd.get("mime_type"),
                                           **common)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, cmd.get("name") or "payload.bin")
                    with open(path, "wb") as f:
                        f.write(data)
                    info = await lp.send_file(path, **common)
            emit("bytes_sent", id=info.stream_id, name=info.name, size=len(data),
                 sha256=hashlib.sha256(data).hexdigest())
        elif kind == "send":
            count = cmd.get("count")
            for i in range(count or 1):
                text = cmd.get("text", "") + (f":{i}" if count else "")
                await lp.publish_data(
                    text.encode(),
                    reliable=cmd.get("reliable", True),
                    topic=cmd.get("topic", ""),
                    destination_identities=cmd.get("to", []),
                )
            emit("sent", count=count or 1, topic=cmd.get("topic", ""))
        elif kind == "set_metadata":
            await lp.set_metadata(cmd["value"])
        elif kind == "set_name":
            await lp.set_name(cmd["value"])
        elif kind == "set_attributes":
            await lp.set_attributes(cmd["value"])
        elif kind == "quit":
            done.set()
        else:
            emit("error", where="command", message=f"unknown command {cmd!r}")

    async def commands() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not done.is_set():
            line = await reader.readline()
            if not line:
                break
            try:
                await run_command(json.loads(line))
            except Exception as e:
                emit("error", where="command", message=f"{type(e).__name__}: {e}")

    cmd_task = asyncio.ensure_future(commands())
    try:
        await asyncio.wait_for(done.wait(), args.lifetime)
        code = 0
    except asyncio.TimeoutError:
        emit("error", where="lifetime", message=f"still running after {args.lifetime} s")
        code = 3
    cmd_task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    if room.isconnected():
        await asyncio.wait_for(room.disconnect(), 15)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
