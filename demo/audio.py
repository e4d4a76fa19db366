"""Audio through a LiveKit room with the official Python SDK: alice talks, bob listens.

alice and bob join a fresh room on the server named by LIVEKIT_URL (keys from
LIVEKIT_API_KEY / LIVEKIT_API_SECRET). alice publishes a microphone track and
plays the shared fixture ../shared/fixtures/test_audio.wav (speech, about 8 s;
converted to 48 kHz mono with rtc.AudioResampler if it is not already) into it
in real time: 10 ms frames through an AudioSource with a 100 ms queue, paced
by the awaited capture_frame calls. bob subscribes, reads the track through an
AudioStream (48 kHz mono) and prints, for every second of audio he receives,
its level (dBFS) and dominant frequency; at the end a summary compares what
arrived with what was sent (duration, level, dominant frequency, and the
correlation of the two 10 ms loudness envelopes at their best alignment,
which is near 1 when the speech came through intact).

Exit status: 0 when audio arrived (at least 1 s of it above -50 dBFS, with an
envelope correlation of at least 0.5), 1 otherwise, 2 without server
settings. Every wait is bounded. The whole run takes about 10 s.

scripts/demo.sh runs this after demo/rooms.py, on our library. By hand:

    eval "$(scripts/livekit-server.sh start >/dev/null && scripts/livekit-server.sh env)"
    LIVEKIT_LIB_PATH=$PWD/target/release/liblivekit_ffi.so python3 demo/audio.py

Without LIVEKIT_LIB_PATH the SDK loads the official library from its wheel.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
import uuid
import warnings
import wave
from pathlib import Path

import numpy as np
from livekit import api, rtc

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "test_audio.wav"
RATE = 48000
FRAME = RATE // 100  # 10 ms
QUEUE_MS = 100
TIMEOUT = 20.0  # any single wait
TOTAL_TIMEOUT = 90.0
TAIL = 1.0  # s bob keeps listening after alice's audio has played out
AUDIBLE_DBFS = -50.0
MIN_AUDIBLE_S = 1.0
MIN_ENVELOPE_CORR = 0.5

T0 = time.monotonic()
STAGE = ["starting"]  # what the scenario is doing, for the failure message


def log(who: str, what: str) -> None:
    print(f"[{time.monotonic() - T0:7.3f} s] {who:<6} {what}", flush=True)


def level_dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    return 20 * np.log10(max(rms, 1e-3) / 32768)


def dominant_hz(x: np.ndarray) -> float:
    if len(x) < 2:
        return 0.0
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    spectrum[0] = 0
    return float(np.argmax(spectrum) * RATE / len(x))


def envelope(x: np.ndarray) -> np.ndarray:
    """RMS per 10 ms block."""
    n = len(x) // FRAME * FRAME
    return np.sqrt(np.mean(x[:n].astype(np.float64).reshape(-1, FRAME) ** 2, axis=1))


def best_correlation(sent: np.ndarray, got: np.ndarray, min_overlap: int = 100) -> tuple[float, int]:
    """Highest Pearson correlation of `got` against `sent` over every shift
    that overlaps at least min_overlap blocks: (correlation, shift in blocks)."""
    best, best_shift = -1.0, 0
    for shift in range(-len(sent) + min_overlap, len(got) - min_overlap + 1):
        a = sent[max(0, -shift):]
        b = got[max(0, shift):]
        n = min(len(a), len(b))
        if n < min_overlap:
            continue
        a, b = a[:n], b[:n]
        if a.std() == 0 or b.std() == 0:
            continue
        c = float(np.corrcoef(a, b)[0, 1])
        if c > best:
            best, best_shift = c, shift
    return best, best_shift


def load_speech() -> tuple[np.ndarray, str]:
    """The fixture as 48 kHz mono int16, and a description of where it came from."""
    if not FIXTURE.exists():
        # Not expected in this project's layout; keep the demo runnable anyway.
        t = np.arange(8 * RATE) / RATE
        freq = np.repeat([300.0, 450.0, 600.0, 800.0], 2 * RATE)
        x = (0.3 * 32767 * np.sin(2 * np.pi * np.cumsum(freq) / RATE) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)))
        return x.astype(np.int16), f"generated tones ({FIXTURE} not found)"
    with wave.open(str(FIXTURE)) as w:
        if w.getsampwidth() != 2:
            raise RuntimeError(f"{FIXTURE}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, channels)
    mono = x.mean(axis=1).astype(np.int16) if channels > 1 else x[:, 0].copy()
    what = f"{FIXTURE.name} ({rate} Hz, {channels} ch"
    if rate != RATE:
        resampler = rtc.AudioResampler(rate, RATE, num_channels=1, quality=rtc.AudioResamplerQuality.HIGH)
        out = [np.frombuffer(f.data, dtype=np.int16) for f in resampler.push(bytearray(mono.tobytes()))]
        out += [np.frombuffer(f.data, dtype=np.int16) for f in resampler.flush()]
        mono = np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
        what += f", resampled to {RATE} Hz"
    return mono, what + (", mixed to mono)" if channels > 1 else ")")


def grant(key: str, secret: str, identity: str, room: str) -> str:
    return (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_name(identity.capitalize())
        .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True))
        .to_jwt()
    )


class Listener:
    """bob's side: an AudioStream on the first audio track he is subscribed to;
    prints a line for every second of audio received."""

    def __init__(self, room: rtc.Room):
        self.room = room
        self.chunks: list[np.ndarray] = []
        self.samples = 0
        self.frames = 0
        self.pending: list[np.ndarray] = []  # the current, not yet reported second
        self.seconds = 0
        self.subscribed = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.error: str | None = None
        room.on("track_subscribed", self._on_track)

    def _on_track(self, track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
        log("bob", f"track_subscribed: {p.identity}'s {rtc.TrackKind.Name(track.kind).removeprefix('KIND_').lower()} "
            f"track {pub.name!r} ({pub.sid}), mime {pub.mime_type or '?'}")
        if track.kind == rtc.TrackKind.KIND_AUDIO and self.task is None:
            stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
            self.task = asyncio.get_running_loop().create_task(self._consume(stream))
            self.subscribed.set()

    async def _consume(self, stream: rtc.AudioStream) -> None:
        try:
            async for ev in stream:
                x = np.frombuffer(ev.frame.data, dtype=np.int16).copy()
                if self.frames == 0:
                    log("bob", f"first audio frame: {ev.frame.samples_per_channel} samples, "
                        f"{ev.frame.sample_rate} Hz, {ev.frame.num_channels} ch")
                self.frames += 1
                self.samples += len(x)
                self.chunks.append(x)
                self.pending.append(x)
                if sum(len(c) for c in self.pending) >= RATE:
                    self.report()
        except Exception as e:  # noqa: BLE001 - reported in the summary
            self.error = f"AudioStream: {type(e).__name__}: {e}"
        finally:
            await stream.aclose()

    def report(self) -> None:
        if not self.pending:
            return
        x = np.concatenate(self.pending)
        self.pending = []
        self.seconds += 1
        lvl = level_dbfs(x)
        freq = f"dominant {dominant_hz(x):5.0f} Hz" if lvl > AUDIBLE_DBFS else "silence"
        log("bob", f"second {self.seconds:2d}: received {len(x) / RATE:4.2f} s, level {lvl:6.1f} dBFS, {freq}")

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)


async def scenario(url: str, key: str, secret: str, failures: list[str]) -> None:
    room_name = f"audio-demo-{uuid.uuid4().hex[:8]}"
    lib = os.environ.get("LIVEKIT_LIB_PATH") or "the official one bundled in the wheel"
    log("demo", f"library: {lib}")
    log("demo", f"server {url}, room {room_name!r}")
    speech, what = load_speech()
    log("alice", f"will play {what}: {len(speech) / RATE:.2f} s, level {level_dbfs(speech):.1f} dBFS, "
        f"dominant {dominant_hz(speech):.0f} Hz")

    alice, bob = rtc.Room(), rtc.Room()
    listener = Listener(bob)
    try:
        STAGE[0] = "connecting"
        await asyncio.wait_for(alice.connect(url, grant(key, secret, "alice", room_name)), TIMEOUT)
        log("alice", "connected")
        await asyncio.wait_for(bob.connect(url, grant(key, secret, "bob", room_name)), TIMEOUT)
        log("bob", "connected")

        STAGE[0] = "publishing alice's track"
        source = rtc.AudioSource(RATE, 1, queue_size_ms=QUEUE_MS)
        track = rtc.LocalAudioTrack.create_audio_track("speech", source)
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        pub = await asyncio.wait_for(alice.local_participant.publish_track(track, opts), TIMEOUT)
        log("alice", f"published track {pub.name!r} ({pub.sid})")
        STAGE[0] = "waiting for bob's subscription"
        try:
            await asyncio.wait_for(listener.subscribed.wait(), TIMEOUT)
        except asyncio.TimeoutError:
            failures.append(f"bob was not subscribed to alice's track within {TIMEOUT:.0f} s")
            return

        log("alice", f"playing {len(speech) / RATE:.2f} s in real time (10 ms frames, {QUEUE_MS} ms queue)")
        STAGE[0] = "playing the audio"
        t = time.monotonic()
        n = len(speech) // FRAME * FRAME
        for i in range(0, n, FRAME):
            frame = rtc.AudioFrame(speech[i:i + FRAME].tobytes(), RATE, 1, FRAME)
            await asyncio.wait_for(source.capture_frame(frame), TIMEOUT)
        await asyncio.wait_for(source.wait_for_playout(), TIMEOUT)
        log("alice", f"done playing after {time.monotonic() - t:.2f} s")
        await asyncio.sleep(TAIL)
        STAGE[0] = "summarizing"
        listener.report()  # the last, partial second
        summarize(speech[:n], listener, failures)
    finally:
        for who, room in (("bob", bob), ("alice", alice)):
            try:
                if room.isconnected():
                    await asyncio.wait_for(room.disconnect(), TIMEOUT)
                    log(who, "left")
            except Exception as e:  # noqa: BLE001 - best-effort cleanup
                log(who, f"disconnect failed: {e!r}")
        if listener.task is not None:
            listener.task.cancel()


def summarize(sent: np.ndarray, listener: Listener, failures: list[str]) -> None:
    got = listener.audio()
    env_sent, env_got = envelope(sent), envelope(got)
    audible = float(np.sum(env_got > 32768 * 10 ** (AUDIBLE_DBFS / 20))) * FRAME / RATE
    log("demo", "-- summary")
    log("demo", f"sent     {len(sent) / RATE:5.2f} s, level {level_dbfs(sent):6.1f} dBFS, "
        f"dominant {dominant_hz(sent):4.0f} Hz")
    if not len(got):
        log("demo", "received nothing")
    else:
        log("demo", f"received {len(got) / RATE:5.2f} s in {listener.frames} frames, {audible:.2f} s of it above "
            f"{AUDIBLE_DBFS:.0f} dBFS; level {level_dbfs(got):6.1f} dBFS (over the audible part "
            f"{level_dbfs(got[np.repeat(env_got > 32768 * 10 ** (AUDIBLE_DBFS / 20), FRAME)]):.1f}), "
            f"dominant {dominant_hz(got):4.0f} Hz")
    corr, shift = best_correlation(env_sent, env_got) if len(env_got) >= 100 else (float("nan"), 0)
    if len(env_got) >= 100:
        log("demo", f"loudness envelopes (10 ms blocks) correlate at {corr:.3f}; the speech starts "
            f"{shift * 10} ms into bob's stream")
    if listener.error:
        failures.append(listener.error)
    if audible < MIN_AUDIBLE_S:
        failures.append(f"bob received {audible:.2f} s of audio above {AUDIBLE_DBFS:.0f} dBFS "
                        f"(want at least {MIN_AUDIBLE_S:.0f} s)")
    elif not corr >= MIN_ENVELOPE_CORR:
        failures.append(f"what bob received does not follow what alice sent "
                        f"(envelope correlation {corr:.3f} < {MIN_ENVELOPE_CORR})")


def main() -> int:
    env = {k: os.environ.get(k, "").strip() for k in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")}
    missing = [k for k, v in env.items() if not v]
    if missing:
        print(f"audio.py: set {', '.join(missing)} (scripts/livekit-server.sh env prints them "
              f"for the local server)", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message=".*HMAC key.*")  # the dev secret is short
    failures: list[str] = []
    try:
        asyncio.run(asyncio.wait_for(
            scenario(env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"], failures),
            TOTAL_TIMEOUT))
    except Exception as e:  # noqa: BLE001 - report any failure as a failed run
        if not isinstance(e, (rtc.ConnectError, asyncio.TimeoutError)):
            traceback.print_exc()
        failures.append(f"the demo stopped while {STAGE[0]}: {type(e).__name__}: {e}".rstrip(": "))
    if failures:
        log("demo", "FAILED:")
        for f in failures:
            print(f"  - {f}", flush=True)
        return 1
    log("demo", "audio arrived and follows what was sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
