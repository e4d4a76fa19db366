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
  ``{"cmd": "set_attributes", "value": {...}}``, ``{"cmd": "quit"}``.

It leaves and exits after ``--lifetime`` seconds in any case (exit code 3), so
it never outlives a failed test for long. Exit code 0 after ``quit``, 2 when
the connection fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys

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

    async def run_command(cmd: dict) -> None:
        lp = room.local_participant
        kind = cmd.get("cmd")
        if kind == "send":
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
