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

A third simulates a node failure: the server forgets the participant, so the
resume is refused with ``Leave{RECONNECT}`` and the room joins again (a full
reconnect). The room object and the local track stay; the publication gets a
new SID (``local_track_republished``), the other participant is seen leaving
and coming back on both sides, and audio and data flow again. The
subscription permissions the publisher set still hold on the new session
(the server starts a new participant with everyone allowed).
``SIMULATE_FULL_RECONNECT`` starts the same full reconnect from the client
side: the other participant is reported gone before ``reconnecting``.
"""

from __future__ import annotations

import asyncio

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


async def alice_and_bob(peers: Peers) -> tuple[Peer, Peer]:
    """Join alice, then bob, and wait until alice knows bob."""
    alice = await peers.join("alice")
    bob = await peers.join("bob")
    await alice.wait_for_remotes("bob")
    return alice, bob


def nobody_left(*peers: Peer) -> None:
    for peer in peers:
        assert peer.names("participant_disconnected", "disconnected") == [], peer.labelled()


def test_a_lost_signal_connection_resumes_with_data_and_audio(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("resume-signal")) as peers:
            alice, bob = await alice_and_bob(peers)
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
            alice, bob = await alice_and_bob(peers)
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


def test_a_node_failure_rejoins_the_room_and_republishes(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("full-reconnect")) as peers:
            alice, bob = await alice_and_bob(peers)
            sender = ToneSender()
            recorders: list[Recorder] = []
            try:
                pub = await sender.publish(alice.lp)
                old_sid = pub.sid
                track, _, _ = await bob.wait("track_subscribed", lambda t, p, rp: p.sid == old_sid)
                recorders.append(Recorder.of(track, sample_rate=48000, num_channels=1))
                await recorders[0].wait_for_tone(1.0, timeout=RESUME_TIMEOUT)
                alice_since, bob_since = len(alice.events), len(bob.events)

                events = await resume(alice, rtc.SimulateScenarioKind.SIMULATE_NODE_FAILURE)
                assert events == ONE_EPISODE

                # Alice saw bob go and come back, between the two.
                seen = [
                    e for e in alice.labelled()[alice_since:]
                    if e[0] in ("reconnecting", "participant_disconnected",
                                "participant_connected", "local_track_republished", "reconnected")
                ]
                assert [e[0] for e in seen] == [
                    "reconnecting", "participant_disconnected", "participant_connected",
                    "local_track_republished", "reconnected",
                ], seen
                assert seen[1][1] == "bob" and seen[2][1] == "bob", seen
                # The same publication object, under its new SID.
                (republished, previous_sid) = alice.of("local_track_republished")[-1]
                assert previous_sid == old_sid
                assert republished is pub and pub.sid != old_sid
                assert list(alice.lp.track_publications) == [pub.sid]
                assert pub.track is sender.track and sender.track.sid == pub.sid
                assert set(alice.room.remote_participants) == {"bob"}

                # Bob saw alice leave with her track, then come back with the new one.
                track, _, _ = await bob.wait("track_subscribed", lambda t, p, rp: p.sid == pub.sid,
                                             since=bob_since, timeout=RESUME_TIMEOUT)
                names = [n for n in bob.names()[bob_since:] if n in (
                    "track_unsubscribed", "track_unpublished", "participant_disconnected",
                    "participant_connected", "track_subscribed")]
                assert names[:3] == ["track_unsubscribed", "track_unpublished", "participant_disconnected"], names
                assert "participant_connected" in names[3:], names
                recorders.append(Recorder.of(track, sample_rate=48000, num_channels=1))
                await recorders[1].wait_for_tone(1.5, timeout=RESUME_TIMEOUT)

                await data_flows(alice, bob, "after-rejoin")
                await data_flows(bob, alice, "after-rejoin")
                assert alice.names("disconnected") == [] and bob.names("disconnected") == []
            finally:
                for rec in recorders:
                    await rec.aclose()
                await sender.aclose()

    run(main(), timeout=180)


def test_subscription_permissions_survive_a_full_reconnect(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("full-reconnect-perms")) as peers:
            alice, bob = await alice_and_bob(peers)
            sender = ToneSender()
            try:
                alice.lp.set_track_subscription_permissions(
                    allow_all_participants=False, participant_permissions=[]
                )
                pub = await sender.publish(alice.lp)
                await bob.wait("track_published", lambda p, rp: p.sid == pub.sid)
                old_sid = pub.sid

                await resume(alice, rtc.SimulateScenarioKind.SIMULATE_NODE_FAILURE)
                assert pub.sid != old_sid
                since = len(bob.events)
                await bob.wait("track_published", lambda p, rp: p.sid == pub.sid, timeout=RESUME_TIMEOUT)
                await asyncio.sleep(3.0)
                # Still denied: bob knows of the new track but gets no media.
                assert "track_subscribed" not in bob.names()[since:], bob.labelled()[since:]
            finally:
                await sender.aclose()

    run(main(), timeout=180)


def test_a_simulated_full_reconnect_rejoins(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("full-reconnect-simulated")) as peers:
            alice, bob = await alice_and_bob(peers)
            since = len(alice.events)
            await alice.room.simulate_scenario(rtc.SimulateScenarioKind.SIMULATE_FULL_RECONNECT)
            await alice.wait("reconnected", since=since, timeout=RESUME_TIMEOUT)
            names = [
                e for e in alice.labelled()[since:]
                if e[0] in CONNECTION_EVENTS + ("participant_disconnected", "participant_connected")
            ]
            assert names == [
                ("participant_disconnected", "bob"),
                *ONE_EPISODE[:2],
                ("participant_connected", "bob"),
                *ONE_EPISODE[2:],
            ], names
            await data_flows(alice, bob, "after-rejoin")
            await data_flows(bob, alice, "after-rejoin")

    run(main(), timeout=180)
