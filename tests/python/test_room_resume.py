"""Resuming a room after a lost signal connection, through the SDK's public
``Room.simulate_scenario``.

``SIMULATE_SIGNAL_RECONNECT`` drops the participant's signal WebSocket; the
room resumes the session (``reconnect=1``, SyncState, ICE restarts) instead of
closing. Pinned down here, as the official library behaves:

* the room emits ``connection_state_changed(CONN_RECONNECTING)``,
  ``reconnecting``, ``connection_state_changed(CONN_CONNECTED)`` and
  ``reconnected``, in that order, and ``connection_state`` ends CONNECTED;
* nobody leaves: neither side sees ``participant_disconnected`` and the
  publication keeps its SID;
* data flows both ways afterwards, and a published tone keeps arriving at
  the other participant, whichever of the two resumed.

A second test arms ``SIMULATE_DISCONNECT_SIGNAL_ON_RESUME`` first, so the
server drops the signal again while the room resumes: the room still comes
back (the official library may escalate to a full reconnect there, ours
retries the resume), with one ``reconnecting`` and one ``reconnected``.
"""

from __future__ import annotations

import pytest

from audio_tracks import ToneSender, Recorder
from livekit import rtc
from livekit_server import run, unique_room
from rooms import Peer, Peers

pytestmark = pytest.mark.room

RESUME_TIMEOUT = 60.0
CONNECTION_EVENTS = ("connection_state_changed", "reconnecting", "reconnected", "disconnected")
ONE_EPISODE = [
    ("connection_state_changed", rtc.ConnectionState.CONN_RECONNECTING),
    ("reconnecting",),
    ("connection_state_changed", rtc.ConnectionState.CONN_CONNECTED),
    ("reconnected",),
]


async def resume(peer: Peer, *scenarios: int) -> list[tuple]:
    """Run the scenarios on ``peer``; return its connection events from then
    on, once it has reconnected."""
    since = len(peer.events)
    for scenario in scenarios:
        await peer.room.simulate_scenario(scenario)
    await peer.wait("reconnected", since=since, timeout=RESUME_TIMEOUT)
    assert peer.room.connection_state == rtc.ConnectionState.CONN_CONNECTED
    assert peer.room.isconnected()
    return [
        (e.name, *e.args) for e in peer.events[since:] if e.name in CONNECTION_EVENTS
    ]


async def data_flows(sender: Peer, receiver: Peer, topic: str) -> None:
    payload = f"{sender.identity} to {receiver.identity} on {topic}".encode()
    await sender.lp.publish_data(payload, topic=topic)
    await receiver.wait_until(
        lambda: [p.data for p in receiver.data(topic)] == [payload],
        timeout=RESUME_TIMEOUT,
        what=f"data on {topic}",
    )
    (packet,) = receiver.data(topic)
    assert packet.participant.identity == sender.identity


def nobody_left(*peers: Peer) -> None:
    for peer in peers:
        assert peer.names("participant_disconnected", "disconnected") == [], peer.labelled()


def test_a_lost_signal_connection_resumes_with_data_and_audio(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("resume-signal")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            await alice.wait_for_remotes("bob")
            sender = ToneSender()
            rec = None
            try:
                pub = await sender.publish(alice.lp)
                track, rpub, _ = await bob.wait("track_subscribed", lambda t, p, rp: p.sid == pub.sid)
                rec = Recorder.of(track, sample_rate=48000, num_channels=1)
                await rec.wait_for_tone(1.0, timeout=RESUME_TIMEOUT)

                # The publisher resumes.
                events = await resume(alice, rtc.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT)
                assert events == ONE_EPISODE
                await data_flows(alice, bob, "after-alice")
                await data_flows(bob, alice, "after-alice")
                await rec.wait_for_tone(1.5, since=rec.mark(), timeout=RESUME_TIMEOUT)

                # The subscriber resumes.
                events = await resume(bob, rtc.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT)
                assert events == ONE_EPISODE
                await data_flows(alice, bob, "after-bob")
                await data_flows(bob, alice, "after-bob")
                await rec.wait_for_tone(1.5, since=rec.mark(), timeout=RESUME_TIMEOUT)

                nobody_left(alice, bob)
                assert list(alice.lp.track_publications) == [pub.sid]
                assert bob.room.remote_participants["alice"].track_publications[pub.sid] is rpub
            finally:
                if rec is not None:
                    await rec.aclose()
                await sender.aclose()

    run(main(), timeout=180)


def test_a_signal_dropped_during_the_resume_still_comes_back(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("resume-twice")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            await alice.wait_for_remotes("bob")
            await data_flows(alice, bob, "before")

            events = await resume(
                alice,
                rtc.SimulateScenarioKind.SIMULATE_DISCONNECT_SIGNAL_ON_RESUME,
                rtc.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT,
            )
            names = [e[0] for e in events]
            assert names.count("reconnecting") == 1, events
            assert names.count("reconnected") == 1, events
            assert events[-2:] == ONE_EPISODE[-2:]
            await alice.wait_for_remotes("bob", timeout=RESUME_TIMEOUT)
            await data_flows(alice, bob, "after")
            await data_flows(bob, alice, "after")

    run(main(), timeout=180)
