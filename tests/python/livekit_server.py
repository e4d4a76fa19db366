"""A local LiveKit server for the room tests, and helpers to talk to it.

The session fixture ``livekit_server`` (registered in conftest.py) starts one
``livekit-server --dev`` for the whole run through ``scripts/livekit-server.sh``
(which installs it on first use: Go is needed once), on 127.0.0.1 with free
ports, and stops it at the end. A watchdog in the script stops it too if the
test process dies without cleaning up.

Set ``LIVEKIT_TEST_SERVER_URL`` (ws://host:port, dev keys devkey/secret unless
``LIVEKIT_TEST_API_KEY`` / ``LIVEKIT_TEST_API_SECRET`` say otherwise) to use a
server that is already running instead.

Everything here uses only the public API of the ``livekit`` and
``livekit-api`` packages.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from livekit import api

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "livekit-server.sh"

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"


def unique_room(prefix: str = "room") -> str:
    """A room name no other test (or earlier run on the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class LiveKitServer:
    """A running server: where it is and how to get tokens for it."""

    url: str  # ws://127.0.0.1:PORT
    api_key: str = DEV_API_KEY
    api_secret: str = DEV_API_SECRET
    log_path: Optional[Path] = None

    @property
    def http_url(self) -> str:
        return "http" + self.url[len("ws") :] if self.url.startswith("ws") else self.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def token(
        self,
        identity: str,
        room: str,
        *,
        name: Optional[str] = None,
        metadata: Optional[str] = None,
        attributes: Optional[dict[str, str]] = None,
        can_update_own_metadata: bool = True,
        can_publish_data: bool = True,
        hidden: Optional[bool] = None,
        kind: Optional[str] = None,
        ttl: Optional[datetime.timedelta] = None,
        api_secret: Optional[str] = None,
    ) -> str:
        """A join token for ``identity`` in ``room``.

        ``can_update_own_metadata`` defaults to True (the server's default is
        False) so set_metadata / set_name / set_attributes work.
        ``kind`` is the participant kind ("agent": the server forwards
        transcriptions only from agents). ``api_secret`` signs with another
        secret (to make a bad token).
        """
        tok = (
            api.AccessToken(self.api_key, api_secret or self.api_secret)
            .with_identity(identity)
            .with_grants(
                api.VideoGrants(
                    room_join=True,
                    room=room,
                    can_update_own_metadata=can_update_own_metadata,
                    can_publish_data=can_publish_data,
                    hidden=hidden,
                )
            )
        )
        if name is not None:
            tok = tok.with_name(name)
        if metadata is not None:
            tok = tok.with_metadata(metadata)
        if attributes is not None:
            tok = tok.with_attributes(attributes)
        if kind is not None:
            tok = tok.with_kind(kind)
        if ttl is not None:
            tok = tok.with_ttl(ttl)
        return tok.to_jwt()

    def api(self) -> api.LiveKitAPI:
        """The server API client (RoomService and friends), over aiohttp.

        Create it inside the running event loop and close it there::

            async with server.api() as lk:
                await lk.room.delete_room(api.DeleteRoomRequest(room=name))
        """
        return api.LiveKitAPI(self.http_url, self.api_key, self.api_secret)

    # Shortcuts for the RoomService calls the tests use.

    async def remove_participant(self, room: str, identity: str) -> None:
        async with self.api() as lk:
            await lk.room.remove_participant(api.RoomParticipantIdentity(room=room, identity=identity))

    async def delete_room(self, room: str) -> None:
        async with self.api() as lk:
            await lk.room.delete_room(api.DeleteRoomRequest(room=room))

    async def update_room_metadata(self, room: str, metadata: str) -> None:
        async with self.api() as lk:
            await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=room, metadata=metadata))

    async def list_participants(self, room: str) -> list:
        async with self.api() as lk:
            resp = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            return list(resp.participants)

    def tail_log(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")


def _script(*args: str, state_dir: Path, timeout: float) -> str:
    env = dict(os.environ, LIVEKIT_SERVER_STATE_DIR=str(state_dir))
    proc = subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scripts/livekit-server.sh {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory):
    """One LiveKit server for the session (see the module docstring)."""
    external = os.environ.get("LIVEKIT_TEST_SERVER_URL", "").strip()
    if external:
        yield LiveKitServer(
            url=external,
            api_key=os.environ.get("LIVEKIT_TEST_API_KEY", DEV_API_KEY),
            api_secret=os.environ.get("LIVEKIT_TEST_API_SECRET", DEV_API_SECRET),
        )
        return

    state_dir = tmp_path_factory.mktemp("livekit-server")
    # The first install builds the server with Go: allow it time.
    _script("install", state_dir=state_dir, timeout=1800)
    url = _script("start", "--parent", str(os.getpid()), state_dir=state_dir, timeout=120)
    server = LiveKitServer(url=url, log_path=state_dir / "server.log")
    try:
        yield server
    finally:
        _script("stop", state_dir=state_dir, timeout=60)


def run(coro, timeout: float = 60.0):
    """Run a coroutine in a fresh event loop, bounded by ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
