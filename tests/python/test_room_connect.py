"""Connecting to and leaving a room, against a local LiveKit server.

Several participants in one process, each with its own ``rtc.Room``; only the
SDK's public API. The server announces joins and leaves of participants
without tracks in 3-second batches, so the waits allow for that.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import time

import pytest

from conftest import ON_OFFICIAL
from livekit import api, rtc
from livekit_server import run, unique_room
from rooms import CONNECT_TIMEOUT, Peers

pytestmark = pytest.mark.room

CONNECTED = rtc.ConnectionState.CONN_CONNECTED
DISCONNECTED = rtc.ConnectionState.CONN_DISCONNECTED


def test_connect_and_disconnect_one_participant(livekit_server):
    async def main():
        name = unique_room("connect-one")
        async with Peers(livekit_server, name) as peers:
            alice = peers.peer("alice")
            assert alice.room.connection_state == DISCONNECTED
            assert not alice.room.isconnected()

            await alice.connect()
            assert alice.room.isconnected()
            assert alice.room.connection_state == CONNECTED
            assert alice.room.name == name
            assert alice.lp.identity == "alice"
            assert alice.lp.sid.startswith("PA_")
            assert dict(alice.room.remote_participants) == {}
            room_sid = await asyncio.wait_for(alice.room.sid, 10)
            assert room_sid.startswith("RM_")

            # The server agrees on who is there.
            listed = await livekit_server.list_participants(name)
            assert [(p.identity, p.sid) for p in listed] == [("alice", alice.lp.sid)]
            async with livekit_server.api() as lk:
                rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[name]))
                assert [r.sid for r in rooms.rooms] == [room_sid]

            await alice.wait("connection_state_changed", lambda s: s == CONNECTED)
            await alice.disconnect()
            assert not alice.room.isconnected()
            assert alice.room.connection_state == DISCONNECTED
            assert [s for (s,) in alice.of("connection_state_changed")] == [CONNECTED, DISCONNECTED]
            disconnected = alice.of("disconnected")
            if ON_OFFICIAL:
                # The official library sometimes ends the event stream with
                # only the state change, and the SDK then emits no event.
                assert disconnected in ([], [(rtc.DisconnectReason.CLIENT_INITIATED,)])
            else:
                assert disconnected == [(rtc.DisconnectReason.CLIENT_INITIATED,)]

            # A second disconnect is a no-op.
            n = len(alice.events)
            await alice.room.disconnect()
            assert len(alice.events) == n

    run(main())


def test_two_participants_see_each_other(livekit_server):
    async def main():
        name = unique_room("connect-two")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")

            # The later joiner knows the earlier one as soon as connect returns,
            # without a participant_connected event for it.
            assert list(bob.room.remote_participants) == ["alice"]
            remote_alice = bob.room.remote_participants["alice"]
            assert isinstance(remote_alice, rtc.RemoteParticipant)
            assert remote_alice.identity == "alice"
            assert remote_alice.sid == alice.lp.sid

            # The earlier one is told.
            (p,) = await alice.wait("participant_connected")
            assert isinstance(p, rtc.RemoteParticipant)
            assert (p.identity, p.sid) == ("bob", bob.lp.sid)
            assert alice.room.remote_participants["bob"] is p
            assert bob.of("participant_connected") == []

            # Same room, same sid, different participants.
            assert bob.room.name == alice.room.name == name
            assert await asyncio.wait_for(bob.room.sid, 10) == await asyncio.wait_for(alice.room.sid, 10)
            assert alice.lp.sid != bob.lp.sid

            await bob.disconnect()
            (gone,) = await alice.wait("participant_disconnected")
            assert gone.identity == "bob"
            assert gone.disconnect_reason == rtc.DisconnectReason.CLIENT_INITIATED
            assert "bob" not in alice.room.remote_participants
            assert alice.room.isconnected()

    run(main())


def test_three_participants_join_and_leave_in_order(livekit_server):
    async def main():
        name = unique_room("connect-three")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            await alice.wait_for_remotes("bob")
            carol = await peers.join("carol")

            assert sorted(carol.room.remote_participants) == ["alice", "bob"]
            await alice.wait_for_remotes("bob", "carol")
            await bob.wait_for_remotes("alice", "carol")
            for p in (alice, bob, carol):
                assert len(p.room.remote_participants) == 2
                assert p.lp.identity not in p.room.remote_participants
                sids = {i: rp.sid for i, rp in p.room.remote_participants.items()}
                expected = {x.identity: x.lp.sid for x in (alice, bob, carol) if x is not p}
                assert sids == expected

            # Leaves, one at a time.
            await carol.disconnect()
            await alice.wait("participant_disconnected", lambda p: p.identity == "carol")
            await bob.wait("participant_disconnected", lambda p: p.identity == "carol")
            await bob.disconnect()
            await alice.wait("participant_disconnected", lambda p: p.identity == "bob")
            assert dict(alice.room.remote_participants) == {}

            # What each saw, in order.
            joins_leaves = ("participant_connected", "participant_disconnected")
            assert alice.labelled(*joins_leaves) == [
                ("participant_connected", "bob"),
                ("participant_connected", "carol"),
                ("participant_disconnected", "carol"),
                ("participant_disconnected", "bob"),
            ]
            assert bob.labelled(*joins_leaves) == [
                ("participant_connected", "carol"),
                ("participant_disconnected", "carol"),
            ]
            assert carol.labelled(*joins_leaves) == []
            # Connection state: connected once, then (for the leavers) disconnected.
            assert [s for (s,) in carol.of("connection_state_changed")] == [CONNECTED, DISCONNECTED]
            assert [s for (s,) in alice.of("connection_state_changed")] == [CONNECTED]

    run(main())


def test_identity_name_metadata_attributes_from_the_token(livekit_server):
    async def main():
        name = unique_room("connect-token")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join(
                "alice",
                name="Alice A.",
                metadata='{"role": "host"}',
                attributes={"team": "red", "seat": "1"},
            )
            bob = await peers.join("bob")
            assert alice.lp.name == "Alice A."
            assert alice.lp.metadata == '{"role": "host"}'
            assert alice.lp.attributes == {"team": "red", "seat": "1"}
            seen = bob.room.remote_participants["alice"]
            assert seen.name == "Alice A."
            assert seen.metadata == '{"role": "host"}'
            assert seen.attributes == {"team": "red", "seat": "1"}
            assert bob.lp.name == ""
            assert bob.lp.metadata == ""
            assert bob.lp.attributes == {}

    run(main())


def test_duplicate_identity_disconnects_the_older_participant(livekit_server):
    async def main():
        name = unique_room("connect-dup")
        async with Peers(livekit_server, name) as peers:
            old = await peers.join("alice")
            bob = await peers.join("bob")
            old_sid = old.lp.sid

            new = await peers.join("alice")
            (reason,) = await old.wait("disconnected")
            assert reason == rtc.DisconnectReason.DUPLICATE_IDENTITY
            assert old.room.connection_state == DISCONNECTED
            assert not old.room.isconnected()
            assert old.of("disconnected") == [(rtc.DisconnectReason.DUPLICATE_IDENTITY,)]

            assert new.room.isconnected()
            assert new.lp.identity == "alice"
            assert new.lp.sid != old_sid
            assert list(new.room.remote_participants) == ["bob"]

            # Bob sees the old session leave and the new one arrive.
            await bob.wait("participant_connected", lambda p: p.identity == "alice")
            assert bob.labelled("participant_connected", "participant_disconnected") == [
                ("participant_disconnected", "alice"),
                ("participant_connected", "alice"),
            ]
            assert bob.room.remote_participants["alice"].sid == new.lp.sid
            listed = await livekit_server.list_participants(name)
            assert sorted((p.identity, p.sid) for p in listed) == sorted(
                [("alice", new.lp.sid), ("bob", bob.lp.sid)]
            )

    run(main())


def test_rejoin_after_leaving(livekit_server):
    async def main():
        name = unique_room("connect-rejoin")
        async with Peers(livekit_server, name) as peers:
            first = await peers.join("alice")
            first_sid = first.lp.sid
            await first.disconnect()
            second = await peers.join("alice")
            assert second.room.isconnected()
            assert second.lp.sid != first_sid
            assert second.room.name == name

    run(main())


# --------------------------------------------------------------------------
# Failures: a ConnectError, quickly, never a hang.
# --------------------------------------------------------------------------


def _expired(server, identity, room):
    return server.token(identity, room, ttl=datetime.timedelta(seconds=-120))


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda s, i, r: s.token(i, r, api_secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda s, i, r: "not-a-jwt", id="garbage"),
        pytest.param(_expired, id="expired"),
    ],
)
def test_bad_token_is_a_connect_error(livekit_server, make_token):
    async def main():
        room = rtc.Room()
        token = make_token(livekit_server, "mallory", unique_room("bad-token"))
        start = time.monotonic()
        with pytest.raises(rtc.ConnectError) as err:
            await asyncio.wait_for(room.connect(livekit_server.url, token), CONNECT_TIMEOUT)
        elapsed = time.monotonic() - start
        assert elapsed < 10, f"took {elapsed:.1f} s"
        message = err.value.message.lower()
        assert "401" in message or "unauthorized" in message, err.value.message
        assert not room.isconnected()
        assert room.connection_state == DISCONNECTED

    run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_port_is_a_connect_error(livekit_server):
    async def main():
        room = rtc.Room()
        url = f"ws://127.0.0.1:{_free_port()}"
        start = time.monotonic()
        with pytest.raises(rtc.ConnectError) as err:
            await asyncio.wait_for(room.connect(url, livekit_server.token("x", "r")), CONNECT_TIMEOUT)
        elapsed = time.monotonic() - start
        assert elapsed < 10, f"took {elapsed:.1f} s"
        assert "refused" in err.value.message.lower(), err.value.message
        assert not room.isconnected()

    run(main())


def test_silent_server_times_out(livekit_server):
    """A server that accepts the TCP connection and never answers: a
    ConnectError once the (short) connect timeout has run out, not a hang."""

    async def main():
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            url = f"ws://127.0.0.1:{silent.getsockname()[1]}"
            room = rtc.Room()
            start = time.monotonic()
            with pytest.raises(rtc.ConnectError) as err:
                await asyncio.wait_for(
                    room.connect(url, livekit_server.token("x", "r"), rtc.RoomOptions(connect_timeout=1.0)),
                    45,
                )
            elapsed = time.monotonic() - start
            assert elapsed < 45
            # The official library retries (about 16 s in all) and then says
            # "transport timed out".
            message = err.value.message.lower()
            assert "timed out" in message or "timeout" in message, err.value.message
            assert not room.isconnected()

    run(main(), timeout=60)
