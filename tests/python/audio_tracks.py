"""Sending and receiving a tone through the SDK, for the room audio tests.

``ToneSender`` feeds a phase-continuous sine to an ``rtc.AudioSource`` in
10 ms frames from a background task; the source's queue paces it in real
time (``capture_frame`` returns once the queue has room). ``Recorder`` reads
an ``rtc.AudioStream`` in the background, keeping every frame with its
arrival time, and can wait for an amount of audio, for the tone, or for
silence. Used by test_room_audio*.py and the child ``audio_participant.py``;
the analysis itself is in ``audio_checks.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Optional

import numpy as np

from audio_checks import SILENCE_DBFS, ToneGenerator, analyze, level_dbfs, onset
from livekit import rtc

TONE_HZ = 440.0
AMPLITUDE = 0.3
RATE = 48000


def microphone() -> rtc.TrackPublishOptions:
    return rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)


class ToneSender:
    """A local audio track playing a sine, captured 10 ms at a time."""

    def __init__(
        self,
        freq: float = TONE_HZ,
        *,
        amplitude: float = AMPLITUDE,
        rate: int = RATE,
        channels: int = 1,
        queue_size_ms: int = 400,
        name: str = "tone",
    ):
        self.rate = rate
        self.channels = channels
        self.generator = ToneGenerator(freq, rate, amplitude=amplitude, channels=channels)
        self.source = rtc.AudioSource(rate, channels, queue_size_ms=queue_size_ms)
        self.track = rtc.LocalAudioTrack.create_audio_track(name, self.source)
        self.frames_sent = 0
        self.error: Optional[BaseException] = None
        self._task: Optional[asyncio.Task] = None

    def start(self) -> "ToneSender":
        if self._task is None:
            self._task = asyncio.create_task(self._pump())
        return self

    async def _pump(self) -> None:
        n = self.rate // 100
        try:
            while True:
                data = self.generator.next(n)
                await self.source.capture_frame(rtc.AudioFrame(data.tobytes(), self.rate, self.channels, n))
                self.frames_sent += 1
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # reported by stop()
            self.error = e

    async def publish(self, lp: rtc.LocalParticipant, options: Optional[rtc.TrackPublishOptions] = None):
        """Start sending (if not yet) and publish the track as a microphone."""
        self.start()
        return await asyncio.wait_for(lp.publish_track(self.track, options or microphone()), 20)

    async def stop(self) -> None:
        """Stop capturing (whatever is queued still plays out)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.error is not None:
            raise AssertionError(f"capture_frame failed: {self.error!r}")

    async def aclose(self) -> None:
        await self.stop()
        await self.source.aclose()


class Recorder:
    """Reads an AudioStream in the background; every frame is kept with its
    arrival time (``time.monotonic()``)."""

    def __init__(self, stream: rtc.AudioStream):
        self.stream = stream
        self.frames: list[rtc.AudioFrame] = []
        self.arrivals: list[float] = []
        self.ended_at: Optional[float] = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    def of(cls, track: rtc.Track, **stream_kwargs) -> "Recorder":
        return cls(rtc.AudioStream(track, **stream_kwargs))

    async def _read(self) -> None:
        try:
            async for event in self.stream:
                self.frames.append(event.frame)
                self.arrivals.append(time.monotonic())
                self._changed.set()
        finally:
            self.ended_at = time.monotonic()
            self._changed.set()

    # -- what was received --------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def rate(self) -> int:
        return self.frames[-1].sample_rate if self.frames else 0

    @property
    def channels(self) -> int:
        return self.frames[-1].num_channels if self.frames else 0

    def formats(self, since: int = 0) -> set[tuple[int, int, int]]:
        """{(sample_rate, num_channels, samples_per_channel)} of the frames."""
        return {(f.sample_rate, f.num_channels, f.samples_per_channel) for f in self.frames[since:]}

    def mark(self) -> int:
        """An index to pass as ``since``: only frames received from now on."""
        return len(self.frames)

    def samples(self, since: int = 0, until: Optional[int] = None) -> np.ndarray:
        chunks = [np.frombuffer(f.data, dtype=np.int16) for f in self.frames[since:until]]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    def seconds(self, since: int = 0) -> float:
        return sum(f.samples_per_channel / f.sample_rate for f in self.frames[since:])

    def analyze(self, since: int = 0, **kwargs) -> dict:
        return analyze(self.samples(since), self.rate, self.channels, **kwargs)

    def tail_level(self, ms: int = 100) -> float:
        """dBFS of the last ``ms`` milliseconds received."""
        if not self.frames:
            return -180.0
        n = self.rate * self.channels * ms // 1000
        return level_dbfs(self.samples(max(0, len(self.frames) - ms // 5))[-n:])

    def onset_time(self, since: int = 0) -> Optional[float]:
        """Arrival time of the frame where the tone starts (from ``since``)."""
        for i in range(since, len(self.frames)):
            f = self.frames[i]
            if level_dbfs(np.frombuffer(f.data, dtype=np.int16)) >= SILENCE_DBFS:
                return self.arrivals[i]
        return None

    def quiet_for(self, seconds: float) -> bool:
        """No frame has arrived for ``seconds`` (or none at all yet)."""
        last = self.arrivals[-1] if self.arrivals else 0.0
        return time.monotonic() - last >= seconds

    # -- waiting ------------------------------------------------------------

    async def wait_until(self, cond: Callable[[], object], *, timeout: float, what: str) -> float:
        """Until ``cond()`` holds (checked at each frame); returns the time it did."""
        deadline = time.monotonic() + timeout
        while not cond():
            if self.ended and not cond():
                raise AssertionError(f"audio stream ended before: {what} ({self.describe()})")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not within {timeout} s: {what} ({self.describe()})")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))
            except asyncio.TimeoutError:
                pass
        return time.monotonic()

    async def record(self, seconds: float, *, since: Optional[int] = None, timeout: float = 15.0) -> int:
        """Wait for ``seconds`` of audio from ``since`` (default: now); returns ``since``."""
        start = self.mark() if since is None else since
        await self.wait_until(lambda: self.seconds(start) >= seconds, timeout=timeout + seconds,
                              what=f"{seconds} s of audio")
        return start

    async def wait_for_tone(self, seconds: float, *, since: int = 0, timeout: float = 15.0) -> None:
        """Until the tone has started and ``seconds`` more have been received."""

        def enough() -> bool:
            if not self.frames:
                return False
            x = self.samples(since)
            start = onset(x[:: self.channels], self.rate)
            return start is not None and (len(x) // self.channels - start) / self.rate >= seconds

        await self.wait_until(enough, timeout=timeout + seconds, what=f"the tone, then {seconds} s of it")

    async def wait_for_silence(self, *, ms: int = 100, timeout: float = 5.0) -> float:
        """Until the last ``ms`` received are below SILENCE_DBFS; returns the time."""
        since = self.mark()
        return await self.wait_until(
            lambda: self.seconds(since) >= ms / 1000 and self.tail_level(ms) < SILENCE_DBFS,
            timeout=timeout, what=f"{ms} ms of silence")

    async def wait_ended(self, timeout: float = 10.0) -> float:
        await self.wait_until(lambda: self.ended, timeout=timeout, what="end of the stream")
        return self.ended_at  # type: ignore[return-value]

    def describe(self) -> str:
        return (f"{len(self.frames)} frames, {self.seconds():.2f} s, formats {sorted(self.formats())}, "
                f"last 100 ms at {self.tail_level():.1f} dBFS, ended={self.ended}")

    async def aclose(self) -> None:
        if not self._task.done():
            await asyncio.wait_for(self.stream.aclose(), 10)
        await asyncio.gather(self._task, return_exceptions=True)
