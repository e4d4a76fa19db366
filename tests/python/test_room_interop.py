"""Participants in separate processes, and the two libraries in one room.

A child interpreter runs ``room_participant.py`` (one participant, driven over
stdin/stdout as JSON lines) while this process holds another participant:

* ``same``: the child loads the library under test too (it inherits the
  environment): participants in separate processes;
* ``official``: the child loads the official library from the wheel while this
  process runs the library under test: events and data must cross both ways.
  On an official run (LIVEKIT_LIB_PATH unset) both sides are official;
* ``child-lib``: with ``LIVEKIT_TEST_CHILD_LIB_PATH`` set, the child loads that
  library (e.g. ours while this process runs the official one).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from livekit import rtc
from livekit_server import run, unique_room
from rooms import ChildParticipant, Peers, official_env

pytestmark = pytest.mark.room

CHILD_LIB = os.environ.get("LIVEKIT_TEST_CHILD_LIB_PATH", "").strip()


def _child_env(kind: str) -> dict[str, str]:
    if kind == "same":
        return dict(os.environ)
    if kind == "official":
        return official_env()
    return dict(os.environ, LIVEKIT_LIB_PATH=CHILD_LIB)


CHILD_KINDS = [
    "same",
    "official",
    pytest.param(
        "child-lib",
        marks=pytest.mark.skipif(not CHILD_LIB, reason="LIVEKIT_TEST_CHILD_LIB_PATH not set"),
    ),
]


@pytest.mark.parametrize("child_kind", CHILD_KINDS)
def test_events_and_data_with_a_participant_in_another_process(livekit_server, child_kind):
    async def main():
        name = unique_room(f"interop-{child_kind}")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            bob = await ChildParticipant.start(livekit_server, "bob", name, env=_child_env(child_kind))
            try:
                hello = await bob.wait("connected", timeout=30)
                assert hello["identity"] == "bob"
                assert hello["room"] == name
                assert hello["room_sid"] == await asyncio.wait_for(alice.room.sid, 10)
                assert hello["remotes"] == ["alice"]

                # Join seen here, with the sid the child reports.
                (p,) = await alice.wait("participant_connected")
                assert (p.identity, p.sid) == ("bob", hello["sid"])

                # Here -> there -> here: the child echoes topic "echo" to the sender.
                for i in range(3):
                    await alice.lp.publish_data(f"echo {i}".encode(), topic="echo")
                await alice.wait_until(lambda: len(alice.data("echo-reply")) >= 3, what="3 echoes")
                assert [x.data for x in alice.data("echo-reply")] == [b"echo 0", b"echo 1", b"echo 2"]
                assert all(x.participant.identity == "bob" for x in alice.data("echo-reply"))

                # A reliable burst each way, in order.
                for i in range(200):
                    await alice.lp.publish_data(f"a:{i}".encode(), topic="burst")
                await bob.send(cmd="send", text="b", count=200, topic="burst", to=["alice"])
                await bob.wait("sent", timeout=30)
                await alice.wait_until(lambda: len(alice.data("burst")) >= 200, timeout=30, what="burst")
                assert [x.data for x in alice.data("burst")] == [f"b:{i}".encode() for i in range(200)]
                await bob.wait("data", lambda m: m["text"] == "a:199", timeout=30)
                got = [m["text"] for m in bob.seen("data") if m["topic"] == "burst"]
                assert got == [f"a:{i}" for i in range(200)]
                assert {m["from"] for m in bob.seen("data")} == {"alice"}

                # Lossy, one packet each way.
                await alice.lp.publish_data(b"lossy here", reliable=False, topic="lossy")
                await bob.wait("data", lambda m: m["topic"] == "lossy")
                await bob.send(cmd="send", text="lossy there", reliable=False, topic="lossy")
                (pkt,) = await alice.wait("data_received", lambda x: x.topic == "lossy")
                assert (pkt.data, pkt.kind) == (b"lossy there", rtc.DataPacketKind.KIND_LOSSY)

                # State changes, both ways.
                await bob.send(cmd="set_metadata", value="from the child")
                rp, old, new = await alice.wait("participant_metadata_changed")
                assert (rp.identity, old, new) == ("bob", "", "from the child")
                await bob.send(cmd="set_name", value="Bob (child)")
                rp, _, new = await alice.wait("participant_name_changed")
                assert (rp.identity, new) == ("bob", "Bob (child)")
                await alice.lp.set_attributes({"from": "parent"})
                m = await bob.wait("participant_attributes_changed", lambda m: m["identity"] == "alice")
                assert (m["identity"], m["changed"], m["attributes"]) == ("alice", {"from": "parent"}, {"from": "parent"})
                await alice.lp.set_metadata("from the parent")
                m = await bob.wait("participant_metadata_changed", lambda m: m["identity"] == "alice")
                assert (m["old"], m["new"]) == ("", "from the parent")
                # The child saw its own changes as such.
                m = await bob.wait("participant_metadata_changed", lambda m: m["identity"] == "bob")
                assert m["new"] == "from the child"

                # The child leaves.
                assert await bob.close() == 0, bob.stderr.decode(errors="replace")[-3000:]
                assert bob.seen("error") == []
                (gone,) = await alice.wait("participant_disconnected")
                assert gone.identity == "bob"
                assert gone.disconnect_reason == rtc.DisconnectReason.CLIENT_INITIATED
            finally:
                await bob.close()

    run(main(), timeout=120)


@pytest.mark.parametrize("second", ["same", "official"])
def test_two_other_processes_talk_to_each_other(livekit_server, second):
    """No participant in this process: two children exchange data."""

    async def main():
        name = unique_room("interop-children")
        carol = await ChildParticipant.start(livekit_server, "carol", name)
        dave = None
        try:
            await carol.wait("connected", timeout=30)
            dave = await ChildParticipant.start(livekit_server, "dave", name, env=_child_env(second))
            hello = await dave.wait("connected", timeout=30)
            assert hello["remotes"] == ["carol"]
            await carol.wait("participant_connected", lambda m: m["identity"] == "dave")

            await carol.send(cmd="send", text="c", count=50, topic="x", to=["dave"])
            await dave.wait("data", lambda m: m["text"] == "c:49", timeout=30)
            assert [m["text"] for m in dave.seen("data")] == [f"c:{i}" for i in range(50)]
            await dave.send(cmd="send", text="d", count=50, topic="y")
            await carol.wait("data", lambda m: m["text"] == "d:49", timeout=30)
            assert [m["text"] for m in carol.seen("data")] == [f"d:{i}" for i in range(50)]
            assert {m["from"] for m in carol.seen("data")} == {"dave"}

            assert await dave.close() == 0
            m = await carol.wait("participant_disconnected")
            assert m["identity"] == "dave"
            assert await carol.close() == 0
        finally:
            await carol.close()
            if dave is not None:
                await dave.close()

    run(main(), timeout=120)
