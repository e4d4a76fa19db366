"""Participant and room state changes, and the server API acting on a room.

Metadata, name and attributes set by a participant (seen locally and by the
others, with the right events and old/new values); changes made through the
server's RoomService (room metadata, a participant's metadata, removing a
participant, deleting the room).
"""

from __future__ import annotations

import pytest

from livekit import api, rtc
from livekit_server import run, unique_room
from rooms import Peers

pytestmark = pytest.mark.room


async def _pair(peers: Peers, *, mutual: bool = False):
    """alice, then bob: bob sees alice from the start; with ``mutual``, also
    wait until alice sees bob (the server may take up to 3 s to tell her)."""
    alice = await peers.join("alice")
    bob = await peers.join("bob")
    if mutual:
        await alice.wait_for_remotes("bob")
    return alice, bob


def test_set_metadata_round_trip(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("ev-metadata")) as peers:
            alice, bob = await _pair(peers)

            await alice.lp.set_metadata("first")
            p, old, new = await alice.wait("participant_metadata_changed")
            assert p is alice.lp
            assert (old, new) == ("", "first")
            assert alice.lp.metadata == "first"
            p, old, new = await bob.wait("participant_metadata_changed")
            assert p is bob.room.remote_participants["alice"]
            assert (p.identity, old, new) == ("alice", "", "first")
            assert p.metadata == "first"

            n_alice, n_bob = len(alice.events), len(bob.events)
            await alice.lp.set_metadata("second")
            _, old, new = await alice.wait("participant_metadata_changed", since=n_alice)
            assert (old, new) == ("first", "second")
            _, old, new = await bob.wait("participant_metadata_changed", since=n_bob)
            assert (old, new) == ("first", "second")
            assert bob.room.remote_participants["alice"].metadata == "second"

            # Nothing else changed, and bob's own metadata is untouched.
            assert bob.lp.metadata == ""
            assert alice.of("participant_name_changed") == bob.of("participant_name_changed") == []
            assert all(args[0].identity == "alice" for args in bob.of("participant_metadata_changed"))

    run(main())


def test_set_name_round_trip(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("ev-name")) as peers:
            alice, bob = await _pair(peers)

            await alice.lp.set_name("Ally")
            p, old, new = await alice.wait("participant_name_changed")
            assert p is alice.lp
            assert (old, new) == ("", "Ally")
            assert alice.lp.name == "Ally"
            p, old, new = await bob.wait("participant_name_changed")
            assert p is bob.room.remote_participants["alice"]
            assert (p.identity, old, new) == ("alice", "", "Ally")
            assert p.name == "Ally"

            n = len(bob.events)
            await alice.lp.set_name("Alicia")
            _, old, new = await bob.wait("participant_name_changed", since=n)
            assert (old, new) == ("Ally", "Alicia")
            assert bob.room.remote_participants["alice"].name == "Alicia"
            assert bob.lp.name == ""
            assert alice.of("participant_metadata_changed") == bob.of("participant_metadata_changed") == []

    run(main())


def test_set_attributes_round_trip(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("ev-attrs")) as peers:
            alice, bob = await _pair(peers)

            await alice.lp.set_attributes({"color": "red", "size": "m"})
            changed, p = await alice.wait("participant_attributes_changed")
            assert p is alice.lp
            assert changed == {"color": "red", "size": "m"}
            assert alice.lp.attributes == {"color": "red", "size": "m"}
            changed, p = await bob.wait("participant_attributes_changed")
            assert p.identity == "alice"
            assert changed == {"color": "red", "size": "m"}
            assert bob.room.remote_participants["alice"].attributes == {"color": "red", "size": "m"}

            # An update carries only what changed; the rest stays.
            n_alice, n_bob = len(alice.events), len(bob.events)
            await alice.lp.set_attributes({"size": "l"})
            changed, _ = await alice.wait("participant_attributes_changed", since=n_alice)
            assert changed == {"size": "l"}
            changed, _ = await bob.wait("participant_attributes_changed", since=n_bob)
            assert changed == {"size": "l"}
            assert bob.room.remote_participants["alice"].attributes == {"color": "red", "size": "l"}

            # An empty value deletes the key.
            n_alice, n_bob = len(alice.events), len(bob.events)
            await alice.lp.set_attributes({"color": ""})
            changed, _ = await bob.wait("participant_attributes_changed", since=n_bob)
            assert changed == {"color": ""}
            assert bob.room.remote_participants["alice"].attributes == {"size": "l"}
            await alice.wait("participant_attributes_changed", since=n_alice)
            assert alice.lp.attributes == {"size": "l"}

    run(main())


def test_room_metadata_from_the_server_api(livekit_server):
    async def main():
        name = unique_room("ev-room-metadata")
        async with Peers(livekit_server, name) as peers:
            alice, bob = await _pair(peers)
            assert alice.room.metadata == bob.room.metadata == ""

            await livekit_server.update_room_metadata(name, "lights: on")
            for p in (alice, bob):
                old, new = await p.wait("room_metadata_changed")
                assert (old, new) == ("", "lights: on")
                assert p.room.metadata == "lights: on"

            await livekit_server.update_room_metadata(name, "lights: off")
            for p in (alice, bob):
                old, new = await p.wait("room_metadata_changed", lambda o, n: n == "lights: off")
                assert old == "lights: on"

            # A later joiner gets it with the room.
            carol = await peers.join("carol")
            assert carol.room.metadata == "lights: off"

    run(main())


def test_participant_update_from_the_server_api(livekit_server):
    async def main():
        name = unique_room("ev-update-participant")
        async with Peers(livekit_server, name) as peers:
            alice, bob = await _pair(peers)
            async with livekit_server.api() as lk:
                await lk.room.update_participant(
                    api.UpdateParticipantRequest(
                        room=name,
                        identity="alice",
                        metadata="set by the server",
                        name="Alice (server)",
                        attributes={"k": "v"},
                    )
                )
            for p, who in ((alice, alice.lp), (bob, None)):
                _, _, new = await p.wait("participant_metadata_changed")
                assert new == "set by the server"
                _, _, new = await p.wait("participant_name_changed")
                assert new == "Alice (server)"
                changed, participant = await p.wait("participant_attributes_changed")
                assert changed == {"k": "v"}
                assert participant.identity == "alice"
                if who is not None:
                    assert participant is who
            assert alice.lp.metadata == "set by the server"
            assert alice.lp.name == "Alice (server)"
            assert alice.lp.attributes == {"k": "v"}
            remote = bob.room.remote_participants["alice"]
            assert (remote.metadata, remote.name, remote.attributes) == (
                "set by the server",
                "Alice (server)",
                {"k": "v"},
            )

    run(main())


def test_removed_participant_is_disconnected(livekit_server):
    async def main():
        name = unique_room("ev-remove")
        async with Peers(livekit_server, name) as peers:
            alice, bob = await _pair(peers, mutual=True)

            await livekit_server.remove_participant(name, "bob")
            (reason,) = await bob.wait("disconnected")
            assert reason == rtc.DisconnectReason.PARTICIPANT_REMOVED
            assert not bob.room.isconnected()
            assert bob.room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED
            assert bob.of("disconnected") == [(rtc.DisconnectReason.PARTICIPANT_REMOVED,)]

            (gone,) = await alice.wait("participant_disconnected")
            assert gone.identity == "bob"
            assert gone.disconnect_reason == rtc.DisconnectReason.PARTICIPANT_REMOVED
            assert "bob" not in alice.room.remote_participants
            assert alice.room.isconnected()
            assert [p.identity for p in await livekit_server.list_participants(name)] == ["alice"]

    run(main())


def test_deleted_room_disconnects_everyone(livekit_server):
    async def main():
        name = unique_room("ev-delete")
        async with Peers(livekit_server, name) as peers:
            alice, bob = await _pair(peers)

            await livekit_server.delete_room(name)
            for p in (alice, bob):
                (reason,) = await p.wait("disconnected")
                assert reason == rtc.DisconnectReason.ROOM_DELETED
                await p.wait_until(lambda p=p: not p.room.isconnected(), what="room disconnected")
                assert p.room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED
                assert len(p.of("disconnected")) == 1

            async with livekit_server.api() as lk:
                rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[name]))
                assert list(rooms.rooms) == []

    run(main())
