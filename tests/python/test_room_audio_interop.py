"""Audio between two processes, and between the two libraries.

A child interpreter runs ``audio_participant.py`` while this process holds
the other participant; a 440 Hz sine (amplitude 0.3) goes each way and the
receiver checks frequency, level and dropouts (``audio_checks.py``):

* child publishes, this process receives (events, then the tone), then the
  child unpublishes (track_unsubscribed, track_unpublished here);
* this process publishes, the child measures and reports (JSON), this
  process asserts, then unpublishes and the child sees it.

Which library each side loads, as in test_room_interop.py:

* ``official``: the child loads the official library from the wheel, this
  process the library under test (ours with ``LIVEKIT_LIB_PATH``). On an
  official run both sides are official;
* ``same``: the child inherits the environment (ours in both processes);
  skipped on an official run, where it would repeat ``official``;
* ``child-lib``: with ``LIVEKIT_TEST_CHILD_LIB_PATH`` set, the child loads
  that library (e.g. ours while this process runs the official one).
"""

from __future__ import annotations

import os

import pytest

from audio_checks import sine_level_dbfs, tone_problems
from audio_tracks import AMPLITUDE, TONE_HZ, Recorder, ToneSender
from conftest import ON_OFFICIAL, TESTS_DIR
from livekit import rtc
from livekit_server import run, unique_room
from rooms import ChildParticipant, Peers, official_env

pytestmark = pytest.mark.room

AUDIO_PARTICIPANT = TESTS_DIR / "audio_participant.py"
CHILD_LIB = os.environ.get("LIVEKIT_TEST_CHILD_LIB_PATH", "").strip()
LEVEL = sine_level_dbfs(AMPLITUDE)
MICROPHONE = int(rtc.TrackSource.SOURCE_MICROPHONE)
AUDIO = int(rtc.TrackKind.KIND_AUDIO)


def _child_env(kind: str) -> dict[str, str]:
    if kind == "same":
        return dict(os.environ)
    if kind == "official":
        return official_env()
    return dict(os.environ, LIVEKIT_LIB_PATH=CHILD_LIB)


CHILD_KINDS = [
    "official",
    pytest.param("same", marks=pytest.mark.skipif(ON_OFFICIAL, reason="same as 'official' on the official library")),
    pytest.param(
        "child-lib",
        marks=pytest.mark.skipif(not CHILD_LIB, reason="LIVEKIT_TEST_CHILD_LIB_PATH not set"),
    ),
]


async def _start_child(server, name: str, kind: str) -> ChildParticipant:
    child = await ChildParticipant.start(server, "bob", name, env=_child_env(kind), script=AUDIO_PARTICIPANT)
    hello = await child.wait("connected", timeout=30)
    assert hello["remotes"] == ["alice"]
    return child


async def _close(child: ChildParticipant) -> None:
    code = await child.close()
    assert code == 0, f"child exit code {code}\n{child.stderr.decode(errors='replace')[-3000:]}"
    assert child.seen("error") == []


@pytest.mark.parametrize("child_kind", CHILD_KINDS)
def test_child_publishes_tone(livekit_server, child_kind):
    async def main():
        name = unique_room(f"audio-interop-pub-{child_kind}")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            bob = await _start_child(livekit_server, name, child_kind)
            rec = None
            try:
                await bob.send(cmd="publish", freq=TONE_HZ, amplitude=AMPLITUDE, name="child-tone")
                sid = (await bob.wait("published"))["sid"]

                rpub, rp = await alice.wait("track_published")
                assert (rp.identity, rpub.sid, rpub.name, rpub.kind, rpub.source) == (
                    "bob", sid, "child-tone", AUDIO, MICROPHONE)
                track, spub, _ = await alice.wait("track_subscribed")
                assert isinstance(track, rtc.RemoteAudioTrack)
                assert spub is rpub and track.sid == sid

                rec = Recorder.of(track)
                await rec.wait_for_tone(2.0)
                assert rec.formats() == {(48000, 1, 480)}
                m = rec.analyze()
                assert tone_problems(m, freq=TONE_HZ, level=LEVEL, min_tone_s=1.5) == [], m

                n = len(alice.events)
                await bob.send(cmd="unpublish")
                await bob.wait("unpublished")
                await alice.wait("track_unpublished", since=n)
                names = [e.name for e in alice.events[n:] if e.name.startswith("track_")]
                assert names == ["track_unsubscribed", "track_unpublished"]
                await _close(bob)
            finally:
                if rec is not None:
                    await rec.aclose()
                await bob.close()

    run(main(), timeout=90)


@pytest.mark.parametrize("child_kind", CHILD_KINDS)
def test_child_receives_tone(livekit_server, child_kind):
    async def main():
        name = unique_room(f"audio-interop-sub-{child_kind}")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            bob = await _start_child(livekit_server, name, child_kind)
            sender = ToneSender()
            try:
                await bob.send(cmd="measure", **{"from": "alice"}, seconds=2.0, sample_rate=48000, num_channels=1)
                pub = await sender.publish(alice.lp)

                m = await bob.wait("track_subscribed", timeout=20)
                assert (m["from"], m["sid"], m["name"], m["kind"], m["source"]) == (
                    "alice", pub.sid, "tone", AUDIO, MICROPHONE)
                m = await bob.wait("measurement", timeout=30)
                assert m["sid"] == pub.sid
                assert m["formats"] == [[48000, 1, 480]]
                problems = tone_problems(m["analysis"], freq=TONE_HZ, level=LEVEL, min_tone_s=1.5)
                assert problems == [], m

                await alice.lp.unpublish_track(pub.sid)
                await bob.wait("track_unpublished")
                names = [x["event"] for x in bob.messages if x["event"].startswith("track_")]
                assert names == ["track_published", "track_subscribed", "track_unsubscribed", "track_unpublished"]
                await _close(bob)
            finally:
                await sender.aclose()
                await bob.close()

    run(main(), timeout=90)
