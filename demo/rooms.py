"""Two participants in a LiveKit room through the official Python SDK.

alice and bob join a fresh room on the server named by LIVEKIT_URL (keys from
LIVEKIT_API_KEY / LIVEKIT_API_SECRET), print every room event as it happens,
exchange data both ways (messages with topics, reliable bursts, lossy
packets), change metadata, name and attributes, send DTMF, and leave: bob by
himself, alice when the room is deleted through the server API. Each
expectation is checked with a bounded wait; the exit status is non-zero if
any failed.

scripts/demo.sh starts a local server and runs this on our library. By hand:

    eval "$(scripts/livekit-server.sh start >/dev/null && scripts/livekit-server.sh env)"
    LIVEKIT_LIB_PATH=$PWD/target/release/liblivekit_ffi.so python3 demo/rooms.py

Without LIVEKIT_LIB_PATH the SDK loads the official library from its wheel.
The server announces joins and leaves of participants without tracks in
batches, about every 3 s, so those waits take up to ~3 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
import uuid
import warnings
from typing import Any, Callable, get_args

from livekit import api, rtc
from livekit.rtc.room import EventTypes

EVENT_TIMEOUT = 15.0  # a batched join/leave (3 s) on a loaded machine
CONNECT_TIMEOUT = 20.0
TOTAL_TIMEOUT = 180.0
BURST_COUNT = 200
BURST_SIZE = 1024
LOSSY_COUNT = 5

T0 = time.monotonic()


def log(who: str, what: str) -> None:
    print(f"[{time.monotonic() - T0:7.3f} s] {who:<6} {what}", flush=True)


def conn_state(s: int) -> str:
    return rtc.ConnectionState.Name(s).removeprefix("CONN_")


def reason(r: int) -> str:
    return rtc.DisconnectReason.Name(r)


def who(p: Any) -> str:
    return getattr(p, "identity", None) or "server"


def describe(name: str, args: tuple) -> str:
    """One line for an event, in the SDK's own terms."""
    match name, args:
        case ("participant_connected" | "participant_active", (p,)):
            extra = f" name={p.name!r}" if p.name else ""
            return f"{name}: {p.identity}{extra}"
        case ("participant_disconnected", (p,)):
            return f"{name}: {p.identity} (reason {reason(p.disconnect_reason)})"
        case ("connection_state_changed", (s,)):
            return f"{name}: {conn_state(s)}"
        case ("disconnected", (r,)):
            return f"{name}: reason {reason(r)}"
        case ("participant_metadata_changed", (p, old, new)):
            return f"{name}: {p.identity} {old!r} -> {new!r}"
        case ("participant_name_changed", (p, old, new)):
            return f"{name}: {p.identity} {old!r} -> {new!r}"
        case ("participant_attributes_changed", (changed, p)):
            return f"{name}: {p.identity} changed {changed} (now {p.attributes})"
        case ("room_metadata_changed", (old, new)):
            return f"{name}: {old!r} -> {new!r}"
        case ("data_received", (pkt,)):
            kind = rtc.DataPacketKind.Name(pkt.kind).removeprefix("KIND_").lower()
            body = pkt.data.decode(errors="replace")
            if len(body) > 60:
                body = body[:57] + "..."
            return f"{name}: from {who(pkt.participant)} topic={pkt.topic!r} {kind} {len(pkt.data)} B {body!r}"
        case ("sip_dtmf_received", (d,)):
            return f"{name}: from {who(d.participant)} digit {d.digit!r} code {d.code}"
        case ("active_speakers_changed", (speakers,)):
            return f"{name}: {[s.identity for s in speakers]}"
        case ("connection_quality_changed", (p, q)):
            return f"{name}: {p.identity} {getattr(q, 'name', q)}"
    shown = ", ".join(who(a) if isinstance(a, rtc.Participant) else repr(a) for a in args)
    return f"{name}: {shown}" if shown else name


class Participant:
    """An rtc.Room that prints and records every event it emits."""

    def __init__(self, identity: str, room_name: str, url: str, key: str, secret: str, **grant: Any):
        self.identity = identity
        self.url = url
        self.token = (
            api.AccessToken(key, secret)
            .with_identity(identity)
            .with_name(identity.capitalize())
            .with_grants(
                api.VideoGrants(
                    room_join=True,
                    room=room_name,
                    can_publish_data=True,
                    can_update_own_metadata=True,  # set_metadata / set_name / set_attributes
                )
            )
            .to_jwt()
        )
        self.room = rtc.Room()
        self.events: list[tuple[str, tuple]] = []
        self.quiet_topics: set[str] = set()  # data on these is recorded, not printed
        self._changed = asyncio.Event()
        for name in get_args(EventTypes):
            self.room.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.events.append((name, args))
            self._changed.set()
            if name == "data_received" and args[0].topic in self.quiet_topics:
                return
            log(self.identity, describe(name, args))

        return record

    @property
    def lp(self) -> rtc.LocalParticipant:
        return self.room.local_participant

    async def connect(self) -> None:
        await asyncio.wait_for(self.room.connect(self.url, self.token), CONNECT_TIMEOUT)

    async def leave(self) -> None:
        if self.room.isconnected():
            await asyncio.wait_for(self.room.disconnect(), CONNECT_TIMEOUT)

    def of(self, name: str) -> list[tuple]:
        return [args for n, args in self.events if n == name]

    def data(self, topic: str) -> list[rtc.DataPacket]:
        return [a[0] for a in self.of("data_received") if a[0].topic == topic]

    async def until(self, cond: Callable[[], Any], timeout: float = EVENT_TIMEOUT) -> bool:
        """Wait until cond() is true (re-checked on every event); False on timeout."""
        deadline = time.monotonic() + timeout
        while not cond():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except asyncio.TimeoutError:
                pass
        return True


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.passed = 0

    def __call__(self, ok: bool, what: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            log("CHECK", f"FAILED: {what}")
        return ok


async def burst(check: Checks, src: Participant, dst: Participant) -> None:
    topic = f"burst-{src.identity}"
    dst.quiet_topics.add(topic)
    payloads = [i.to_bytes(4, "big") + bytes([i % 251]) * (BURST_SIZE - 4) for i in range(BURST_COUNT)]
    log(src.identity, f"sending {BURST_COUNT} reliable messages of {BURST_SIZE} B on {topic!r}")
    start = time.monotonic()
    for p in payloads:
        await src.lp.publish_data(p, topic=topic)
    sent = time.monotonic() - start
    arrived = await dst.until(lambda: len(dst.data(topic)) >= BURST_COUNT)
    took = time.monotonic() - start
    got = [pkt.data for pkt in dst.data(topic)]
    if check(arrived and got == payloads,
             f"{dst.identity} got all {BURST_COUNT} burst messages from {src.identity} intact and in order "
             f"(got {len(got)}, in order: {got == payloads[: len(got)]})"):
        mb = BURST_COUNT * BURST_SIZE / took / 1e6
        log(dst.identity, f"received {len(got)}/{BURST_COUNT} in order: sent in {sent * 1000:.0f} ms, "
            f"all received after {took * 1000:.0f} ms = {BURST_COUNT / took:.0f} msg/s, {mb:.2f} MB/s")


async def scenario(check: Checks, url: str, key: str, secret: str) -> None:
    room_name = f"demo-{uuid.uuid4().hex[:8]}"
    lib = os.environ.get("LIVEKIT_LIB_PATH") or "the official one bundled in the wheel"
    log("demo", f"library: {lib}")
    log("demo", f"server {url}, room {room_name!r}")
    alice = Participant("alice", room_name, url, key, secret)
    bob = Participant("bob", room_name, url, key, secret)
    try:
        await run(check, alice, bob, room_name, url, key, secret)
    finally:
        for p in (bob, alice):
            try:
                await p.leave()
            except Exception as e:  # noqa: BLE001 - best-effort cleanup
                log(p.identity, f"disconnect during cleanup failed: {e!r}")


async def run(check: Checks, alice: Participant, bob: Participant,
              room_name: str, url: str, key: str, secret: str) -> None:
    # --- join ------------------------------------------------------------
    log("alice", "connecting")
    t = time.monotonic()
    await alice.connect()
    log("alice", f"connected in {(time.monotonic() - t) * 1000:.0f} ms: room sid {await alice.room.sid}, "
        f"participant sid {alice.lp.sid}")
    check(alice.room.connection_state == rtc.ConnectionState.CONN_CONNECTED, "alice is connected")

    log("bob", "connecting")
    t = time.monotonic()
    await bob.connect()
    log("bob", f"connected in {(time.monotonic() - t) * 1000:.0f} ms, "
        f"already in the room: {sorted(bob.room.remote_participants)}")
    check("alice" in bob.room.remote_participants, "bob sees alice on joining")
    log("alice", "waiting for the server to announce bob (joins are batched, ~3 s)")
    check(await alice.until(lambda: any(a[0].identity == "bob" for a in alice.of("participant_connected"))),
          "alice gets participant_connected for bob")

    # --- messages with topics, both ways ------------------------------------
    log("demo", "-- data with topics, both ways")
    await alice.lp.publish_data("hello bob", topic="chat")
    await bob.lp.publish_data("hi alice", topic="chat")
    await alice.lp.publish_data(json.dumps({"x": 1, "y": [2, 3]}), topic="state")
    await bob.lp.publish_data(b"\x00\x01\x02 only for alice", topic="private", destination_identities=["alice"])
    check(await bob.until(lambda: len(bob.data("chat")) >= 1 and len(bob.data("state")) >= 1),
          "bob gets alice's messages on 'chat' and 'state'")
    check(await alice.until(lambda: len(alice.data("chat")) >= 1 and len(alice.data("private")) >= 1),
          "alice gets bob's messages on 'chat' and 'private'")
    if bob.data("chat"):
        pkt = bob.data("chat")[0]
        check(pkt.data == b"hello bob" and who(pkt.participant) == "alice", "bob's 'chat' message is alice's")
    if bob.data("state"):
        check(json.loads(bob.data("state")[0].data) == {"x": 1, "y": [2, 3]}, "the JSON on 'state' round-trips")

    # --- reliable bursts, both ways -------------------------------------------
    log("demo", "-- reliable bursts")
    await burst(check, alice, bob)
    await burst(check, bob, alice)

    # --- lossy ----------------------------------------------------------------
    log("demo", "-- lossy data")
    for i in range(LOSSY_COUNT):
        await alice.lp.publish_data(f"lossy #{i}", reliable=False, topic="lossy")
    await bob.until(lambda: len(bob.data("lossy")) >= LOSSY_COUNT, timeout=3)
    lossy = bob.data("lossy")
    log("bob", f"{len(lossy)}/{LOSSY_COUNT} lossy packets arrived")
    check(len(lossy) >= 1 and all(p.kind == rtc.DataPacketKind.KIND_LOSSY for p in lossy),
          "bob gets lossy packets, marked lossy")

    # --- metadata, name, attributes ---------------------------------------------
    log("demo", "-- metadata, attributes, name")
    await alice.lp.set_metadata(json.dumps({"mood": "curious"}))
    check(await bob.until(lambda: bob.of("participant_metadata_changed")), "bob sees alice's new metadata")
    check(await alice.until(lambda: alice.lp.metadata == json.dumps({"mood": "curious"})),
          "alice's own metadata is updated")

    await bob.lp.set_attributes({"role": "listener", "seat": "2"})
    check(await alice.until(lambda: alice.of("participant_attributes_changed")
                            and alice.room.remote_participants["bob"].attributes == {"role": "listener", "seat": "2"}),
          "alice sees bob's attributes")
    await bob.lp.set_attributes({"seat": ""})  # an empty value deletes the key
    check(await alice.until(lambda: alice.room.remote_participants["bob"].attributes == {"role": "listener"}),
          "alice sees bob's attribute 'seat' removed")

    await alice.lp.set_name("Alice Liddell")
    check(await bob.until(lambda: bob.room.remote_participants["alice"].name == "Alice Liddell"),
          "bob sees alice's new name")

    # --- room metadata through the server API -------------------------------------
    log("server", "setting the room metadata through the server API")
    async with api.LiveKitAPI(http_url(url), key, secret) as lk:
        await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=room_name, metadata="topic: rabbits"))
    for p in (alice, bob):
        check(await p.until(lambda: p.room.metadata == "topic: rabbits"), f"{p.identity} sees the room metadata")

    # --- DTMF --------------------------------------------------------------------
    log("demo", "-- SIP DTMF")
    for code, digit in ((1, "1"), (11, "#")):
        await alice.lp.publish_dtmf(code=code, digit=digit)
    check(await bob.until(lambda: len(bob.of("sip_dtmf_received")) >= 2), "bob gets alice's DTMF 1 and #")
    check([(d[0].digit, d[0].code) for d in bob.of("sip_dtmf_received")] == [("1", 1), ("#", 11)],
          "DTMF digits and codes as sent")

    # --- leave -------------------------------------------------------------------
    log("demo", "-- leaving")
    log("bob", "leaving")
    await bob.leave()
    check(bob.of("disconnected") == [(rtc.DisconnectReason.CLIENT_INITIATED,)],
          f"bob's own disconnect reason is CLIENT_INITIATED (got {bob.of('disconnected')})")
    log("alice", "waiting for the server to announce bob's leaving (batched, ~3 s)")
    ok = await alice.until(lambda: alice.of("participant_disconnected"))
    if check(ok, "alice gets participant_disconnected for bob"):
        gone = alice.of("participant_disconnected")[0][0]
        check(gone.identity == "bob" and gone.disconnect_reason == rtc.DisconnectReason.CLIENT_INITIATED,
              f"bob left with reason CLIENT_INITIATED (got {reason(gone.disconnect_reason)})")

    log("server", f"deleting room {room_name!r}")
    async with api.LiveKitAPI(http_url(url), key, secret) as lk:
        await lk.room.delete_room(api.DeleteRoomRequest(room=room_name))
    check(await alice.until(lambda: alice.of("disconnected")), "alice is disconnected when the room is deleted")
    if alice.of("disconnected"):
        (r,) = alice.of("disconnected")[0]
        check(r == rtc.DisconnectReason.ROOM_DELETED, f"alice's disconnect reason is ROOM_DELETED (got {reason(r)})")
        check(alice.room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED, "alice's room is disconnected")

    speakers = alice.of("active_speakers_changed") + bob.of("active_speakers_changed")
    log("demo", f"active_speakers_changed events: {len(speakers)} (no audio tracks published here)")


def http_url(url: str) -> str:
    return "http" + url[2:] if url.startswith("ws") else url


def main() -> int:
    env = {k: os.environ.get(k, "").strip() for k in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")}
    missing = [k for k, v in env.items() if not v]
    if missing:
        print(f"rooms.py: set {', '.join(missing)} (scripts/livekit-server.sh env prints them "
              f"for the local server)", file=sys.stderr)
        return 2
    # The dev secret is short; PyJWT warns about that on every token.
    warnings.filterwarnings("ignore", message=".*HMAC key.*")
    check = Checks()
    try:
        asyncio.run(asyncio.wait_for(
            scenario(check, env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]),
            TOTAL_TIMEOUT))
    except Exception as e:  # noqa: BLE001 - report any failure as a failed run
        if not isinstance(e, (rtc.ConnectError, asyncio.TimeoutError)):
            traceback.print_exc()
        check(False, f"the demo stopped: {type(e).__name__}: {e}")
    if check.failed:
        log("demo", f"{len(check.failed)} of {check.passed + len(check.failed)} checks FAILED:")
        for f in check.failed:
            print(f"  - {f}", flush=True)
        return 1
    log("demo", f"all {check.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
