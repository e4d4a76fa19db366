"""A participant in its own process that publishes or measures a tone.

    python3 audio_participant.py --url ws://127.0.0.1:PORT --token JWT [--lifetime S]

The audio counterpart of ``room_participant.py`` (same arguments, same JSON
lines protocol, driven by ``rooms.ChildParticipant`` with
``script=AUDIO_PARTICIPANT``), for test_room_audio_interop.py. It joins with
the public ``livekit.rtc`` API of whichever library the environment selects
(``LIVEKIT_LIB_PATH``), then:

* prints one JSON object per line on stdout: ``connected`` (identity, sid,
  room, remotes), ``track_published`` / ``track_subscribed`` /
  ``track_unsubscribed`` / ``track_unpublished`` (from, sid, name, kind,
  source), ``published`` / ``unpublished`` (sid), ``measurement``, ``error``,
  ``disconnected``;
* obeys one JSON command per line on stdin:
  ``{"cmd": "publish", "freq": 440, "amplitude": 0.3, "name": "tone"}``
  publishes a sine as a microphone track (``audio_tracks.ToneSender``);
  ``{"cmd": "unpublish"}``;
  ``{"cmd": "measure", "from": "identity", "seconds": 2.0, "sample_rate":
  48000, "num_channels": 1}`` waits for that participant's audio track to be
  subscribed, reads it with an ``rtc.AudioStream`` until the tone has played
  for ``seconds`` after its onset, and answers ``measurement``: the
  ``audio_checks.analyze`` result plus ``formats`` (the frames' [rate,
  channels, samples_per_channel]) and ``frames``;
  ``{"cmd": "quit"}``.

Exit codes: 0 after ``quit``, 2 when the connection fails, 3 after
``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Optional

from audio_tracks import Recorder, ToneSender
from livekit import rtc


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def describe(publication, participant) -> dict:
    return {"from": participant.identity, "sid": publication.sid, "name": publication.name,
            "kind": int(publication.kind), "source": int(publication.source)}


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--lifetime", type=float, default=90.0)
    args = parser.parse_args()

    room = rtc.Room()
    done = asyncio.Event()
    tracks: dict[str, rtc.RemoteAudioTrack] = {}  # identity -> subscribed audio track
    tracks_changed = asyncio.Event()
    sender: Optional[ToneSender] = None
    publication: Optional[rtc.LocalTrackPublication] = None

    @room.on("track_published")
    def _on_published(pub, p) -> None:
        emit("track_published", **describe(pub, p))

    @room.on("track_subscribed")
    def _on_subscribed(track, pub, p) -> None:
        emit("track_subscribed", **describe(pub, p))
        if isinstance(track, rtc.RemoteAudioTrack):
            tracks[p.identity] = track
            tracks_changed.set()

    @room.on("track_unsubscribed")
    def _on_unsubscribed(track, pub, p) -> None:
        emit("track_unsubscribed", **describe(pub, p))
        if tracks.get(p.identity) is track:
            del tracks[p.identity]

    @room.on("track_unpublished")
    def _on_unpublished(pub, p) -> None:
        emit("track_unpublished", **describe(pub, p))

    @room.on("disconnected")
    def _on_disconnected(reason) -> None:
        emit("disconnected", reason=int(reason))
        done.set()

    try:
        await asyncio.wait_for(room.connect(args.url, args.token), 30)
    except Exception as e:
        emit("error", where="connect", message=f"{type(e).__name__}: {getattr(e, 'message', e)}")
        return 2
    emit("connected", identity=room.local_participant.identity, sid=room.local_participant.sid,
         room=room.name, remotes=sorted(room.remote_participants))

    async def measure(cmd: dict) -> None:
        who = cmd["from"]
        while who not in tracks:
            tracks_changed.clear()
            await asyncio.wait_for(tracks_changed.wait(), float(cmd.get("timeout", 20)))
        kwargs = {k: cmd[k] for k in ("sample_rate", "num_channels", "frame_size_ms") if k in cmd}
        rec = Recorder.of(tracks[who], **kwargs)
        try:
            await rec.wait_for_tone(float(cmd.get("seconds", 2.0)), timeout=float(cmd.get("timeout", 20)))
            emit("measurement", **{"from": who}, sid=tracks[who].sid, frames=len(rec.frames),
                 formats=sorted(rec.formats()), analysis=rec.analyze())
        finally:
            await rec.aclose()

    async def run_command(cmd: dict) -> None:
        nonlocal sender, publication
        kind = cmd.get("cmd")
        if kind == "publish":
            sender = ToneSender(float(cmd.get("freq", 440.0)), amplitude=float(cmd.get("amplitude", 0.3)),
                                name=cmd.get("name", "tone"))
            publication = await sender.publish(room.local_participant)
            emit("published", sid=publication.sid)
        elif kind == "unpublish":
            assert publication is not None and sender is not None, "nothing published"
            await room.local_participant.unpublish_track(publication.sid)
            await sender.aclose()
            emit("unpublished", sid=publication.sid)
            sender = publication = None
        elif kind == "measure":
            await measure(cmd)
        elif kind == "quit":
            done.set()
        else:
            emit("error", where="command", message=f"unknown command {cmd!r}")

    pending: set[asyncio.Task] = set()

    async def guarded(cmd: dict) -> None:
        try:
            await run_command(cmd)
        except Exception as e:
            emit("error", where=str(cmd.get("cmd")), message=f"{type(e).__name__}: {e}")

    async def commands() -> None:
        # A measurement runs alongside later commands.
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not done.is_set():
            line = await reader.readline()
            if not line:
                break
            task = asyncio.ensure_future(guarded(json.loads(line)))
            pending.add(task)
            task.add_done_callback(pending.discard)

    cmd_task = asyncio.ensure_future(commands())
    try:
        await asyncio.wait_for(done.wait(), args.lifetime)
        code = 0
    except asyncio.TimeoutError:
        emit("error", where="lifetime", message=f"still running after {args.lifetime} s")
        code = 3
    cmd_task.cancel()
    for task in list(pending):
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if sender is not None:
        await sender.aclose()
    if room.isconnected():
        await asyncio.wait_for(room.disconnect(), 15)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
