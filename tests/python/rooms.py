"""Helpers for the room tests: participants that record every event.

``Peer`` wraps an ``rtc.Room`` and records each event it emits, in order, with
its arguments, so a test can wait for an event (``await peer.wait(...)``) or
check the order afterwards. ``Peers`` is an async context manager that owns
the peers of one test and disconnects whatever is still connected at the end,
so a failing test does not leave rooms behind in the process-wide FFI client.

Timing: the server announces joins and leaves of participants that publish no
tracks in batches, every 3 seconds, so ``participant_connected`` and
``participant_disconnected`` can take up to ~3 s; metadata, name and
attribute changes and data are immediate. Waits default to ``EVENT_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, get_args

from livekit import rtc
from livekit.rtc.room import EventTypes

from livekit_server import LiveKitServer

#: Long enough for a batched participant update (3 s) on a loaded machine.
EVENT_TIMEOUT = 15.0
#: Connecting to a local server takes well under a second; this bounds a hang.
CONNECT_TIMEOUT = 20.0

ALL_EVENTS: tuple[str, ...] = get_args(EventTypes)

TESTS_DIR = Path(__file__).resolve().parent
PARTICIPANT_SCRIPT = TESTS_DIR / "room_participant.py"


@dataclass
class Event:
    name: str
    args: tuple
    at: float


def _label(x: Any) -> Any:
    """A short, comparable description of an event argument."""
    if isinstance(x, (rtc.LocalParticipant, rtc.RemoteParticipant)):
        return x.identity
    if isinstance(x, rtc.DataPacket):
        return ("data", x.participant.identity if x.participant else None, x.topic, len(x.data))
    return x


class Peer:
    """One participant: an ``rtc.Room`` plus the log of its events."""

    def __init__(self, server: LiveKitServer, identity: str, room_name: str, **token_kwargs: Any):
        self.server = server
        self.identity = identity
        self.room_name = room_name
        self.token = server.token(identity, room_name, **token_kwargs)
        self.room = rtc.Room()
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        for name in ALL_EVENTS:
            self.room.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.events.append(Event(name, args, time.monotonic()))
            self._changed.set()

        return record

    # -- connection ---------------------------------------------------------

    async def connect(self, options: Optional[rtc.RoomOptions] = None) -> "Peer":
        coro = self.room.connect(self.server.url, self.token, options or rtc.RoomOptions())
        await asyncio.wait_for(coro, CONNECT_TIMEOUT)
        return self

    async def disconnect(self) -> None:
        if self.room.isconnected():
            await asyncio.wait_for(self.room.disconnect(), CONNECT_TIMEOUT)

    @property
    def lp(self) -> rtc.LocalParticipant:
        return self.room.local_participant

    # -- events -------------------------------------------------------------

    def names(self, *only: str) -> list[str]:
        return [e.name for e in self.events if not only or e.name in only]

    def of(self, name: str) -> list[tuple]:
        return [e.args for e in self.events if e.name == name]

    def labelled(self, *only: str) -> list[tuple]:
        """(event, labelled args...) for the given events, in order."""
        return [
            (e.name, *[_label(a) for a in e.args])
            for e in self.events
            if not only or e.name in only
        ]

    async def wait(
        self,
        name: str,
        pred: Optional[Callable[..., bool]] = None,
        *,
        timeout: float = EVENT_TIMEOUT,
        since: int = 0,
    ) -> tuple:
        """Args of the first ``name`` event (from index ``since``) matching ``pred``."""
        deadline = time.monotonic() + timeout
        i = since
        while True:
            while i < len(self.events):
                e = self.events[i]
                i += 1
                if e.name == name and (pred is None or pred(*e.args)):
                    return e.args
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.identity}: no {name!r} event within {timeout} s; events so far: "
                    f"{self.labelled()}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def wait_until(
        self, cond: Callable[[], Any], *, timeout: float = EVENT_TIMEOUT, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = cond()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.identity}: {what} not met within {timeout} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.05)
            except asyncio.TimeoutError:
                pass

    async def wait_for_remotes(self, *identities: str, timeout: float = EVENT_TIMEOUT) -> None:
        """Until every identity is in remote_participants."""
        await self.wait_until(
            lambda: all(i in self.room.remote_participants for i in identities),
            timeout=timeout,
            what=f"remote participants {identities} visible (have {list(self.room.remote_participants)})",
        )

    def data(self, topic: Optional[str] = None) -> list[rtc.DataPacket]:
        return [
            args[0]
            for args in self.of("data_received")
            if topic is None or args[0].topic == topic
        ]


class Peers:
    """The participants of one test; disconnects them all on exit."""

    def __init__(self, server: LiveKitServer, room_name: str):
        self.server = server
        self.room_name = room_name
        self.peers: list[Peer] = []

    async def __aenter__(self) -> "Peers":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.gather(*(p.disconnect() for p in self.peers), return_exceptions=True)

    def peer(self, identity: str, **token_kwargs: Any) -> Peer:
        p = Peer(self.server, identity, self.room_name, **token_kwargs)
        self.peers.append(p)
        return p

    async def join(self, identity: str, *, options: Optional[rtc.RoomOptions] = None, **token_kwargs: Any) -> Peer:
        return await self.peer(identity, **token_kwargs).connect(options)

    async def join_all(self, *identities: str) -> list[Peer]:
        """Join one after the other, then wait until everyone sees everyone."""
        joined = [await self.join(i) for i in identities]
        for p in joined:
            await p.wait_for_remotes(*(i for i in identities if i != p.identity))
        return joined


# --------------------------------------------------------------------------
# Participants in other processes (room_participant.py)
# --------------------------------------------------------------------------


def official_env() -> dict[str, str]:
    """The environment of a child that loads the official library."""
    env = dict(os.environ)
    env.pop("LIVEKIT_LIB_PATH", None)
    return env


class ChildParticipant:
    """A participant in its own Python process, driven by room_participant.py.

    It prints one JSON object per line on stdout for each thing it sees;
    ``wait`` waits for one, ``send`` writes a command to its stdin.
    """

    def __init__(self, proc: asyncio.subprocess.Process, identity: str):
        self.proc = proc
        self.identity = identity
        self.messages: list[dict] = []
        self.stderr = b""
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self._err_reader = asyncio.create_task(self._read_err())

    @classmethod
    async def start(
        cls,
        server: LiveKitServer,
        identity: str,
        room_name: str,
        *,
        env: Optional[dict[str, str]] = None,
        lifetime: float = 90.0,
        script: Path = PARTICIPANT_SCRIPT,
        **token_kwargs: Any,
    ) -> "ChildParticipant":
        """``script`` is the child program (room_participant.py unless told;
        audio_participant.py takes the same arguments)."""
        token = server.token(identity, room_name, **token_kwargs)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            "--url",
            server.url,
            "--token",
            token,
            "--lifetime",
            str(lifetime),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env if env is not None else dict(os.environ),
            cwd=str(TESTS_DIR),
        )
        return cls(proc, identity)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith(b"{"):
                continue
            try:
                self.messages.append(json.loads(line))
            except ValueError:
                continue
            self._changed.set()
        self._changed.set()

    async def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = await self.proc.stderr.read()

    async def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def wait(
        self, event: str, pred: Optional[Callable[[dict], bool]] = None, *, timeout: float = EVENT_TIMEOUT
    ) -> dict:
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.messages):
                m = self.messages[i]
                i += 1
                if m.get("event") == event and (pred is None or pred(m)):
                    return m
            if self.proc.returncode is not None and self._reader.done():
                raise AssertionError(
                    f"child {self.identity} exited ({self.proc.returncode}) before {event!r}: "
                    f"{self.messages}\nstderr:\n{self.stderr.decode(errors='replace')[-3000:]}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"child {self.identity}: no {event!r} within {timeout} s: {self.messages}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
            except asyncio.TimeoutError:
                pass

    def seen(self, event: str) -> list[dict]:
        return [m for m in self.messages if m.get("event") == event]

    async def close(self, timeout: float = 20.0) -> int:
        """Ask it to leave, then wait for it to exit (killing it if it does not)."""
        if self.proc.returncode is None:
            try:
                await self.send(cmd="quit")
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await asyncio.gather(self._reader, self._err_reader, return_exceptions=True)
        return self.proc.returncode
