"""Leaving the interpreter while media flows.

A process that exits with rooms still connected, a track publishing and a
stream receiving must exit cleanly. The SDK's atexit hook disposes the
library; events delivered after that would enter a finalizing interpreter,
which ends the calling thread with ``pthread_exit`` and, through a runtime's
panic guard, aborted the process ("FATAL: exception not rethrown", exit 134).
"""

from __future__ import annotations

import pytest

from conftest import describe, run_python
from livekit_server import unique_room

pytestmark = pytest.mark.room

CHILD = """
import asyncio
from livekit import rtc
from audio_tracks import Recorder, ToneSender

URL, ALICE, BOB = {url!r}, {alice!r}, {bob!r}

async def main():
    alice, bob = rtc.Room(), rtc.Room()
    await alice.connect(URL, ALICE)
    subscribed = asyncio.get_running_loop().create_future()
    bob.on("track_subscribed", lambda track, *_: subscribed.done() or subscribed.set_result(track))
    await bob.connect(URL, BOB)
    sender = ToneSender().start()
    await sender.publish(alice.local_participant)
    track = await asyncio.wait_for(subscribed, 15)
    recorder = Recorder.of(track)
    await recorder.record(0.3, timeout=15)
    print("exiting with media flowing", flush=True)
    # No disconnect, no aclose: leave everything to interpreter exit.

asyncio.run(main())
"""


def test_exit_with_media_flowing_is_clean(livekit_server):
    room = unique_room("exit")
    for attempt in range(3):
        code = CHILD.format(
            url=livekit_server.url,
            alice=livekit_server.token(f"alice-{attempt}", room),
            bob=livekit_server.token(f"bob-{attempt}", room),
        )
        proc = run_python(code, timeout=60)
        assert "exiting with media flowing" in proc.stdout, describe(proc)
        assert proc.returncode == 0, describe(proc)
        assert "FATAL" not in proc.stderr, describe(proc)
