"""Data tracks through the SDK's public API: ``publish_data_track``,
``LocalDataTrack.try_push`` / ``unpublish``, the room's
``data_track_published`` / ``data_track_unpublished`` events, and
``RemoteDataTrack.subscribe`` streams.

Frames travel like media: a subscription takes a round trip to the server to
start, and frames pushed before it is up are not delivered. So each test first
pushes probe frames until one arrives, then checks the frames it cares about.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import time
from pathlib import Path

import pytest

from livekit import rtc
from livekit.rtc.participant import PublishDataTrackError
from livekit_server import run, unique_room
from rooms import ChildParticipant, Peers, official_env

pytestmark = pytest.mark.room

PROBE = b"\xeeprobe"


def now_ms() -> int:
    return int(time.time() * 1000)


class Reader:
    """Reads a DataTrackStream into a list until it ends."""

    def __init__(self, stream: rtc.DataTrackStream):
        self.stream = stream
        self.frames: list[rtc.DataTrackFrame] = []
        self.error: BaseException | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for frame in self.stream:
                self.frames.append(frame)
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            self.error = e

    def payloads(self) -> list[bytes]:
        return [bytes(f.payload) for f in self.frames if bytes(f.payload) != PROBE]

    async def until(self, cond, timeout: float = 15.0, what: str = "frames") -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not received; got {len(self.frames)} frames")
            await asyncio.sleep(0.02)


async def start_flow(track: rtc.LocalDataTrack, reader: Reader) -> None:
    """Push probes until the subscription delivers one."""
    deadline = time.monotonic() + 15
    while not reader.frames:
        assert time.monotonic() < deadline, f"no frame arrived after subscribing ({reader.error!r})"
        track.try_push(rtc.DataTrackFrame(payload=PROBE))
        await asyncio.sleep(0.03)
    # Let the last probes in flight land before the real frames.
    await asyncio.sleep(0.2)


def test_frames_arrive_in_order_with_timestamps_until_unpublished(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("dt-flow")) as peers:
            bob = await peers.join("bob")
            alice = await peers.join("alice")
            track = await alice.lp.publish_data_track(name="sensor")
            assert track.info.name == "sensor"
            assert track.info.sid.startswith("DTR_")
            assert track.info.uses_e2ee is False
            assert track.is_published()

            (remote,) = await bob.wait("data_track_published")
            assert isinstance(remote, rtc.RemoteDataTrack)
            assert remote.info.sid == track.info.sid
            assert remote.info.name == "sensor"
            assert remote.publisher_identity == "alice"
            assert remote.is_published()
            # The publisher hears nothing about its own track.
            assert alice.of("data_track_published") == []

            reader = Reader(remote.subscribe(buffer_size=64))
            await start_flow(track, reader)

            # Frames that fit one packet (16,000 bytes with the header).
            sizes = [1, 64, 1000, 8000, 15_000]
            sent = [bytes((i * 7 + j) % 256 for j in range(n)) for i, n in enumerate(sizes)]
            for payload in sent:
                track.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=now_ms()))
                await asyncio.sleep(0.05)
            await reader.until(lambda: len(reader.payloads()) >= len(sent), what="all frames")
            assert reader.payloads() == sent
            real = [f for f in reader.frames if bytes(f.payload) != PROBE]
            assert all(f.user_timestamp is not None for f in real)
            assert all(0 <= now_ms() - f.user_timestamp < 5000 for f in real)
            assert all(f.user_timestamp is None for f in reader.frames if bytes(f.payload) == PROBE)

            # Frames of several packets. The server drops a packet while the
            # subscriber's channel still holds too much of the previous one
            # (a latency guard that loosens as the track's bitrate grows),
            # so a large frame may take a few tries; whichever arrives is
            # whole.
            for size in (40_000, 100_000):
                payload = os.urandom(size)
                for _ in range(50):
                    track.try_push(rtc.DataTrackFrame(payload=payload))
                    try:
                        await reader.until(lambda: payload in reader.payloads(), timeout=0.3)
                        break
                    except AssertionError:
                        pass
                else:
                    raise AssertionError(f"no {size}-byte frame arrived in 50 tries")
            assert all(p in sent or len(p) in (40_000, 100_000) for p in reader.payloads())

            await track.unpublish()
            assert not track.is_published()
            with pytest.raises(rtc.PushFrameError):
                track.try_push(rtc.DataTrackFrame(payload=b"late"))
            (sid,) = await bob.wait("data_track_unpublished")
            assert sid == track.info.sid
            await asyncio.wait_for(reader.task, 10)
            assert reader.error is None, repr(reader.error)
            assert not remote.is_published()

    run(main(), timeout=90)


def test_two_streams_of_one_track_both_receive(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("dt-two")) as peers:
            bob = await peers.join("bob")
            alice = await peers.join("alice")
            track = await alice.lp.publish_data_track(name="shared")
            (remote,) = await bob.wait("data_track_published")
            remote.set_pipeline_options(max_partial_frames=4)
            first = Reader(remote.subscribe())
            await start_flow(track, first)
            second = Reader(remote.subscribe())
            await asyncio.sleep(0.2)
            for i in range(5):
                track.try_push(rtc.DataTrackFrame(payload=bytes([i]) * 10))
                await asyncio.sleep(0.05)
            expected = [bytes([i]) * 10 for i in range(5)]
            await first.until(lambda: len(first.payloads()) >= 5)
            await second.until(lambda: len(second.payloads()) >= 5)
            assert first.payloads() == expected
            assert second.payloads() == expected
            # Closing one stream leaves the other running.
            await second.stream.aclose()
            track.try_push(rtc.DataTrackFrame(payload=b"after"))
            await first.until(lambda: b"after" in first.payloads())
            await track.unpublish()
            await asyncio.wait_for(first.task, 10)

    run(main(), timeout=90)


def test_tracks_already_published_are_announced_and_leaving_unpublishes(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("dt-join")) as peers:
            alice = await peers.join("alice")
            a = await alice.lp.publish_data_track(name="a")
            b = await alice.lp.publish_data_track(name="b")
            carol = await peers.join("carol")
            await carol.wait_until(lambda: len(carol.of("data_track_published")) >= 2, what="two tracks")
            announced = {t.info.name: t for (t,) in carol.of("data_track_published")}
            assert set(announced) == {"a", "b"}
            assert announced["a"].info.sid == a.info.sid
            assert all(t.publisher_identity == "alice" for t in announced.values())

            await alice.disconnect()
            await carol.wait_until(lambda: len(carol.of("data_track_published")) >= 2)
            await carol.wait_until(
                lambda: {s for (s,) in carol.of("data_track_unpublished")} == {a.info.sid, b.info.sid},
                what="both tracks unpublished",
            )
            assert not announced["a"].is_published()

    run(main(), timeout=90)


def test_publish_refusals(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("dt-errors")) as peers:
            alice = await peers.join("alice")
            # Keep the track: dropping its last reference unpublishes it.
            taken = await alice.lp.publish_data_track(name="taken")
            with pytest.raises(PublishDataTrackError):
                await alice.lp.publish_data_track(name="taken")
            with pytest.raises(PublishDataTrackError):
                await alice.lp.publish_data_track(name="")
            quiet = await peers.join("quiet", can_publish_data=False)
            with pytest.raises(PublishDataTrackError):
                await quiet.lp.publish_data_track(name="nope")
            # A refused name does not block a later good one.
            ok = await alice.lp.publish_data_track(name="fine")
            assert ok.is_published()
            assert taken.is_published()

    run(main(), timeout=60)


def test_dropping_the_last_reference_unpublishes(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("dt-drop")) as peers:
            bob = await peers.join("bob")
            alice = await peers.join("alice")
            track = await alice.lp.publish_data_track(name="ephemeral")
            sid = track.info.sid
            (remote,) = await bob.wait("data_track_published")
            assert remote.info.sid == sid
            del track
            gc.collect()
            (gone,) = await bob.wait("data_track_unpublished")
            assert gone == sid
            # The name is free again.
            again = await alice.lp.publish_data_track(name="ephemeral")
            assert again.info.sid != sid

    run(main(), timeout=60)


# --------------------------------------------------------------------------
# Interop: the other participant runs the official library in its own process
# --------------------------------------------------------------------------

CHILD_SCRIPT = Path(__file__).resolve().parent / "data_track_participant.py"


def child_payload(index: int, size: int) -> bytes:
    """The payload data_track_participant.py pushes for frame ``index``."""
    return bytes((index * 7 + j) % 256 for j in range(size))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_frames_from_an_official_publisher(livekit_server):
    async def main():
        name = unique_room("dt-from-official")
        async with Peers(livekit_server, name) as peers:
            bob = await peers.join("bob")
            child = await ChildParticipant.start(
                livekit_server, "alice", name, env=official_env(), script=CHILD_SCRIPT
            )
            try:
                await child.wait("connected")
                await child.send(cmd="publish", name="telemetry")
                published = await child.wait("published")
                (remote,) = await bob.wait("data_track_published")
                assert remote.info.sid == published["sid"]
                assert remote.info.name == "telemetry"
                assert remote.publisher_identity == "alice"

                reader = Reader(remote.subscribe(buffer_size=64))
                await child.send(cmd="push", name="telemetry", sizes=[4], interval=0.03, repeat=500)
                await reader.until(lambda: reader.frames, what="a probe")
                await child.send(cmd="stop")
                await child.wait("stopped")
                await asyncio.sleep(0.3)
                seen = len(reader.frames)

                sizes = [1, 500, 15_000]
                await child.send(cmd="push", name="telemetry", sizes=sizes, timestamp=True)
                await reader.until(lambda: len(reader.frames) >= seen + len(sizes))
                got = reader.frames[seen:]
                assert [bytes(f.payload) for f in got] == [
                    child_payload(i, n) for i, n in enumerate(sizes)
                ]
                assert all(0 <= now_ms() - f.user_timestamp < 5000 for f in got)

                # A frame of several packets (retried: see the first test).
                big = child_payload(0, 40_000)
                await child.send(cmd="push", name="telemetry", sizes=[40_000], interval=0.3, repeat=50)
                await reader.until(lambda: any(bytes(f.payload) == big for f in reader.frames))
                await child.send(cmd="stop")

                await child.send(cmd="unpublish", name="telemetry")
                (sid,) = await bob.wait("data_track_unpublished")
                assert sid == published["sid"]
                await asyncio.wait_for(reader.task, 10)
                assert reader.error is None, repr(reader.error)
            finally:
                await child.close()

    run(main(), timeout=120)


def test_frames_to_an_official_subscriber(livekit_server):
    async def main():
        name = unique_room("dt-to-official")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            child = await ChildParticipant.start(
                livekit_server, "bob", name, env=official_env(), script=CHILD_SCRIPT
            )
            try:
                await child.wait("connected")
                track = await alice.lp.publish_data_track(name="pose")
                announced = await child.wait("data_track_published")
                assert announced["sid"] == track.info.sid
                assert announced["name"] == "pose"
                assert announced["publisher"] == "alice"

                deadline = time.monotonic() + 15
                while not child.seen("frame"):
                    assert time.monotonic() < deadline, "the official subscriber got no frame"
                    track.try_push(rtc.DataTrackFrame(payload=PROBE))
                    await asyncio.sleep(0.03)
                await asyncio.sleep(0.3)
                seen = len(child.seen("frame"))

                sizes = [1, 500, 15_000]
                sent = [child_payload(i, n) for i, n in enumerate(sizes)]
                for payload in sent:
                    track.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=now_ms()))
                    await asyncio.sleep(0.05)
                deadline = time.monotonic() + 15
                while len(child.seen("frame")) < seen + len(sent):
                    assert time.monotonic() < deadline, child.seen("frame")[seen:]
                    await asyncio.sleep(0.05)
                got = child.seen("frame")[seen:]
                assert [m["sha256"] for m in got] == [sha(p) for p in sent]
                assert all(0 <= now_ms() - m["user_timestamp"] < 5000 for m in got)

                # An empty frame, then a marker. The official library sends
                # nothing for an empty frame; ours sends one empty packet,
                # which the official receiver delivers as an empty frame.
                track.try_push(rtc.DataTrackFrame(payload=b""))
                await asyncio.sleep(0.05)
                track.try_push(rtc.DataTrackFrame(payload=b"marker"))
                marker = await child.wait("frame", lambda m: m["sha256"] == sha(b"marker"))
                empties = [m for m in child.seen("frame") if m["size"] == 0]
                ours = bool(os.environ.get("LIVEKIT_LIB_PATH"))
                assert len(empties) == (1 if ours else 0), (marker, empties)

                big = os.urandom(40_000)
                for _ in range(50):
                    track.try_push(rtc.DataTrackFrame(payload=big))
                    await asyncio.sleep(0.3)
                    if any(m["sha256"] == sha(big) for m in child.seen("frame")):
                        break
                else:
                    raise AssertionError("the official subscriber got no 40,000-byte frame")

                await track.unpublish()
                gone = await child.wait("data_track_unpublished")
                assert gone["sid"] == track.info.sid
                ended = await child.wait("stream_ended")
                assert ended["error"] is None
            finally:
                await child.close()

    run(main(), timeout=120)
