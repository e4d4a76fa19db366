"""Data streams between participants: send_text, stream_text, send_bytes,
send_file and stream_bytes, with topics, attributes, destinations, large
multi-byte text, abnormal ends, and a participant in another process running
the official library (interop both ways, which exercises the official
library's inline and compressed streams on receipt).

Receivers register their stream handlers before anything is sent; a stream
on a topic without a handler is dropped by the SDK. Each test's receiver
collects what its readers produced into a queue (``Inbox``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from livekit import rtc
from livekit_server import run, unique_room
from rooms import ChildParticipant, Peers, official_env

pytestmark = pytest.mark.room

#: Chunk size of the stream protocol.
CHUNK = 15_000

#: Three- and four-byte characters, so chunk limits fall inside characters.
MULTIBYTE = "héllo wörld € 😀 ✓ "


@dataclass
class Received:
    sender: str
    info: Any
    header_attributes: dict
    chunks: list = field(default_factory=list)
    error: Optional[Exception] = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


class Inbox:
    """Stream handlers on a room that read each stream to its end."""

    def __init__(self, room: rtc.Room):
        self.room = room
        self.done: asyncio.Queue[Received] = asyncio.Queue()
        self.opened: asyncio.Queue[Received] = asyncio.Queue()
        self.tasks: list[asyncio.Task] = []

    def _reader(self, reader, sender: str) -> None:
        got = Received(sender, reader.info, dict(reader.info.attributes or {}))
        self.opened.put_nowait(got)

        async def read() -> None:
            try:
                async for chunk in reader:
                    got.chunks.append(chunk)
            except Exception as e:  # StreamError
                got.error = e
            self.done.put_nowait(got)

        self.tasks.append(asyncio.ensure_future(read()))

    def text(self, topic: str) -> "Inbox":
        self.room.register_text_stream_handler(topic, self._reader)
        return self

    def bytes(self, topic: str) -> "Inbox":
        self.room.register_byte_stream_handler(topic, self._reader)
        return self

    async def next(self, timeout: float = 20) -> Received:
        return await asyncio.wait_for(self.done.get(), timeout)


def test_send_text_with_topic_and_attributes(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("streams-text")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).text("notes")

            # No handler on this topic: dropped, and later streams still work.
            await alice.lp.send_text("nobody listens", topic="unhandled")
            info = await alice.lp.send_text("hello, bob", topic="notes", attributes={"k": "v", "n": "1"})
            assert info.topic == "notes"
            assert info.attributes == {"k": "v", "n": "1"}
            assert info.mime_type == "text/plain"
            assert len(info.stream_id) == 36

            got = await inbox.next()
            assert got.error is None
            assert (got.sender, got.text) == ("alice", "hello, bob")
            assert got.info.stream_id == info.stream_id
            assert got.info.topic == "notes"
            assert got.info.mime_type == "text/plain"
            assert got.info.attributes == {"k": "v", "n": "1"}
            assert got.info.size == len("hello, bob")
            assert got.info.timestamp == info.timestamp
            assert inbox.done.empty()

            # An empty text is a stream too.
            await alice.lp.send_text("", topic="notes")
            got = await inbox.next()
            assert (got.text, got.error) == ("", None)
            await asyncio.gather(*inbox.tasks)

    run(main())


@pytest.mark.parametrize("how", ["send_text", "stream_text"])
def test_large_multibyte_text_arrives_intact(livekit_server, how):
    async def main():
        async with Peers(livekit_server, unique_room("streams-large")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).text("big")
            text = "".join(f"{i:05d} {MULTIBYTE}" for i in range(4000))
            size = len(text.encode())
            assert size > 4 * CHUNK
            if how == "send_text":
                # Uncompressed, so the chunking shows on the receiving side.
                info = await alice.lp.send_text(text, topic="big", compress=False)
                assert info.size == size
            else:
                writer = await alice.lp.stream_text(topic="big")
                third = len(text) // 3
                for part in (text[:third], text[third : 2 * third], text[2 * third :]):
                    await writer.write(part)
                await writer.aclose()
                info = writer.info
            got = await inbox.next(30)
            assert got.error is None
            assert got.info.stream_id == info.stream_id
            assert len(got.text) == len(text)
            assert got.text == text
            # It came in several chunks, none split inside a character.
            assert len(got.chunks) >= math.ceil(size / CHUNK)
            assert all(len(c.encode()) <= CHUNK for c in got.chunks)
            if how == "send_text":
                assert got.info.size == size

    run(main(), timeout=90)


def test_stream_text_is_incremental_with_topic_and_attributes(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("streams-incr")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).text("live")

            writer = await alice.lp.stream_text(topic="live", attributes={"kind": "transcript"})
            assert writer.info.topic == "live"
            opened = await asyncio.wait_for(inbox.opened.get(), 15)
            assert opened.info.stream_id == writer.info.stream_id
            assert opened.info.topic == "live"
            assert opened.header_attributes == {"kind": "transcript"}

            # Each write arrives before the next is made.
            for i, part in enumerate(["first ", "second ", "third"]):
                await writer.write(part)
                for _ in range(300):
                    if len(opened.chunks) > i:
                        break
                    await asyncio.sleep(0.05)
                assert "".join(opened.chunks).endswith(part), (i, opened.chunks)
            assert inbox.done.empty()

            await writer.aclose(attributes={"final": "yes"})
            got = await inbox.next()
            assert got is opened
            assert got.error is None
            assert got.text == "first second third"
            # The trailer's attributes are merged into the header's.
            assert got.info.attributes == {"kind": "transcript", "final": "yes"}
            with pytest.raises(RuntimeError):
                await writer.write("after close")

    run(main())


@pytest.mark.parametrize("how", ["send_file", "send_bytes", "stream_bytes"])
def test_byte_streams(livekit_server, tmp_path, how):
    async def main():
        async with Peers(livekit_server, unique_room("streams-bytes")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).bytes("files")
            data = os.urandom(100_000)
            attributes = {"origin": "test"}
            if how == "send_file":
                path = tmp_path / "photo.png"
                path.write_bytes(data)
                info = await alice.lp.send_file(str(path), topic="files", attributes=attributes)
                name, mime = "photo.png", "image/png"
            elif how == "send_bytes":
                info = await alice.lp.send_bytes(
                    data, topic="files", name="blob.bin", mime_type="application/x-test",
                    attributes=attributes,
                )
                name, mime = "blob.bin", "application/x-test"
            else:
                writer = await alice.lp.stream_bytes(
                    "parts.bin", total_size=len(data), topic="files", attributes=attributes
                )
                for i in range(0, len(data), 40_000):
                    await writer.write(data[i : i + 40_000])
                await writer.aclose()
                info = writer.info
                name, mime = "parts.bin", "application/octet-stream"
            assert (info.name, info.mime_type, info.topic) == (name, mime, "files")

            got = await inbox.next(30)
            assert got.error is None
            assert got.sender == "alice"
            assert got.data == data
            assert got.info.stream_id == info.stream_id
            assert (got.info.name, got.info.mime_type) == (name, mime)
            assert got.info.size == len(data)
            assert got.info.attributes == attributes

    run(main(), timeout=90)


def test_destinations(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("streams-dest")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            carol = await peers.join("carol")
            bob_inbox = Inbox(bob.room).text("dm").bytes("dm")
            carol_inbox = Inbox(carol.room).text("dm").bytes("dm")

            await alice.lp.send_text("for bob " * 3000, topic="dm", destination_identities=["bob"])
            await alice.lp.send_bytes(b"bytes for bob", topic="dm", destination_identities=["bob"])
            # A broadcast sentinel: once carol has it, she would have the rest.
            await alice.lp.send_text("everyone", topic="dm")

            # Reader tasks finish in whatever order asyncio runs them; the
            # order the library delivered the streams in is the order opened.
            for _ in range(3):
                await bob_inbox.next()
            got = [bob_inbox.opened.get_nowait() for _ in range(3)]
            assert [g.text if isinstance(g.info, rtc.TextStreamInfo) else g.data for g in got] == [
                "for bob " * 3000, b"bytes for bob", "everyone"
            ]
            sentinel = await carol_inbox.next()
            assert sentinel.text == "everyone"
            await asyncio.sleep(0.5)
            assert carol_inbox.done.empty()

    run(main())


def test_abnormal_ends(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("streams-abort")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).text("t").bytes("b")

            # Closed with a reason: the reader raises StreamError, after the
            # content that did arrive.
            writer = await alice.lp.stream_text(topic="t")
            await writer.write("partial")
            await writer.aclose(reason="cancelled by the user")
            got = await inbox.next()
            assert got.text == "partial"
            assert isinstance(got.error, rtc.StreamError)
            assert "cancelled by the user" in str(got.error)

            # A byte stream that ends short of its announced size.
            writer = await alice.lp.stream_bytes("short.bin", total_size=1000, topic="b")
            await writer.write(b"x" * 10)
            await writer.aclose()
            got = await inbox.next()
            assert isinstance(got.error, rtc.StreamError)

            assert inbox.done.empty()

    run(main())


def test_many_streams_at_once_stay_separate(livekit_server):
    async def main():
        async with Peers(livekit_server, unique_room("streams-many")) as peers:
            alice = await peers.join("alice")
            bob = await peers.join("bob")
            inbox = Inbox(bob.room).text("multi")
            texts = [f"stream {i} " * (500 * (i + 1)) for i in range(6)]
            infos = await asyncio.gather(*(alice.lp.send_text(t, topic="multi") for t in texts))
            got = {}
            for _ in texts:
                r = await inbox.next(30)
                assert r.error is None
                got[r.info.stream_id] = r.text
            assert got == {info.stream_id: t for info, t in zip(infos, texts)}

    run(main(), timeout=90)


# ---------------------------------------------------------------------------
# With a participant in another process (the official library, or ours)
# ---------------------------------------------------------------------------


CHILD_LIB = os.environ.get("LIVEKIT_TEST_CHILD_LIB_PATH", "").strip()

CHILD_KINDS = [
    "official",
    "same",
    pytest.param(
        "child-lib",
        marks=pytest.mark.skipif(not CHILD_LIB, reason="LIVEKIT_TEST_CHILD_LIB_PATH not set"),
    ),
]


def _child_env(kind: str) -> dict[str, str]:
    """As in test_room_interop: the library under test, the official one, or
    the one LIVEKIT_TEST_CHILD_LIB_PATH names."""
    if kind == "same":
        return dict(os.environ)
    if kind == "official":
        return official_env()
    return dict(os.environ, LIVEKIT_LIB_PATH=CHILD_LIB)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("child_kind", CHILD_KINDS)
def test_streams_with_a_participant_in_another_process(livekit_server, tmp_path, child_kind):
    async def main():
        name = unique_room(f"streams-interop-{child_kind}")
        async with Peers(livekit_server, name) as peers:
            alice = await peers.join("alice")
            inbox = Inbox(alice.room).text("to-parent").bytes("to-parent")
            bob = await ChildParticipant.start(livekit_server, "bob", name, env=_child_env(child_kind))
            try:
                await bob.wait("connected", timeout=30)
                await bob.send(cmd="listen_streams", topics=["to-child"])
                await bob.wait("listening")

                # Here -> there: large multi-byte text.
                text = "".join(f"{i:05d} {MULTIBYTE}" for i in range(3000))
                info = await alice.lp.send_text(text, topic="to-child", attributes={"a": "1"},
                                                compress=False)
                m = await bob.wait("text_stream", lambda m: m["id"] == info.stream_id, timeout=30)
                assert m["from"] == "alice"
                assert (m["length"], m["sha256"]) == (len(text.encode()), _sha(text.encode()))
                assert m["size"] == len(text.encode())
                assert m["attributes"] == {"a": "1"}
                assert m["chunks"] >= math.ceil(len(text.encode()) / CHUNK)

                # Here -> there: incremental text, attributes on close.
                writer = await alice.lp.stream_text(topic="to-child", attributes={"h": "1"})
                for part in ("one ", "two ", "three"):
                    await writer.write(part)
                await writer.aclose(attributes={"t": "2"})
                m = await bob.wait("text_stream", lambda m: m["id"] == writer.info.stream_id)
                assert m["text"] == "one two three"
                assert m["header_attributes"] == {"h": "1"}
                assert m["attributes"] == {"h": "1", "t": "2"}

                # Here -> there: a file.
                data = os.urandom(70_000)
                path = tmp_path / "report.pdf"
                path.write_bytes(data)
                info = await alice.lp.send_file(str(path), topic="to-child")
                m = await bob.wait("byte_stream", lambda m: m["id"] == info.stream_id, timeout=30)
                assert (m["name"], m["mime_type"]) == ("report.pdf", "application/pdf")
                assert (m["length"], m["sha256"]) == (len(data), _sha(data))

                # There -> here: large text (compressible).
                await bob.send(cmd="send_text", text=MULTIBYTE, repeat=4000, topic="to-parent",
                               attributes={"from": "child"})
                sent = await bob.wait("text_sent", timeout=30)
                got = await inbox.next(30)
                assert got.error is None
                assert got.sender == "bob"
                assert got.info.stream_id == sent["id"]
                assert got.text == MULTIBYTE * 4000
                assert got.info.attributes == {"from": "child"}

                # There -> here: small bytes (a single packet where the
                # official library inlines), then large compressible and
                # incompressible bytes, and a file.
                for cmd, size, compressible in [
                    ("send_bytes", 100, True),
                    ("send_bytes", 300_000, True),
                    ("send_bytes", 40_000, False),
                    ("send_file", 200_000, True),
                ]:
                    await bob.send(cmd=cmd, size=size, seed=size, compressible=compressible,
                                   topic="to-parent", name="data.bin")
                    sent = await bob.wait("bytes_sent", lambda m, s=size: m["size"] == s, timeout=30)
                    got = await inbox.next(30)
                    assert got.error is None, (cmd, size, got.error)
                    assert got.info.stream_id == sent["id"]
                    assert got.info.name == "data.bin"
                    assert (len(got.data), _sha(got.data)) == (size, sent["sha256"]), (cmd, size)

                # There -> here: incremental text with attributes on close.
                await bob.send(cmd="stream_text", parts=["α ", "β ", "γ"], topic="to-parent",
                               attributes={"h": "x"}, close_attributes={"done": "1"})
                sent = await bob.wait("text_streamed")
                got = await inbox.next()
                assert got.info.stream_id == sent["id"]
                assert (got.text, got.error) == ("α β γ", None)
                assert got.info.attributes == {"h": "x", "done": "1"}

                assert bob.seen("error") == [] and bob.seen("stream_error") == []
                assert await bob.close() == 0, bob.stderr.decode(errors="replace")[-3000:]
            finally:
                await bob.close()

    run(main(), timeout=150)
