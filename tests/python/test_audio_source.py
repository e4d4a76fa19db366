"""rtc.AudioSource, and rtc.AudioStream on a LOCAL track.

AudioStream on a local track works on the official library too: the sink is
attached to the local track, so what the source captures comes straight back,
remixed/resampled to the stream's format, in 10 ms frames (or frame_size_ms).

Observed official behaviour these tests pin down:
* queue_size_ms=0: every capture must be exactly 10 ms, is delivered to the
  sinks at once (capture completes immediately), and nothing else is sent -
  no silence when idle.
* queue_size_ms>0: a 10 ms pump drains the queue and sends silence when it is
  empty; capture completes immediately while the queue holds at most
  queue_size_ms, otherwise when the pump has drained it back to that level.
* A frame whose rate or channel count differs from the source's is an error
  ("sample_rate and num_channels don't match").
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from conftest import (
    channel,
    estimate_frequency,
    from_frame,
    level_db,
    sine,
    split_frames,
    to_frame,
)
from livekit import rtc

TIMEOUT = 10.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Collector:
    """Reads an AudioStream in the background, keeping every frame."""

    def __init__(self, stream: rtc.AudioStream) -> None:
        self.stream = stream
        self.frames: list[rtc.AudioFrame] = []
        self.ended = False
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.stream:
            self.frames.append(event.frame)
        self.ended = True

    def samples(self, start: int = 0) -> np.ndarray:
        chunks = [from_frame(f) for f in self.frames[start:]]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    async def close(self) -> None:
        """aclose() returns only once the stream's EOS event has arrived."""
        await asyncio.wait_for(self.stream.aclose(), TIMEOUT)
        await asyncio.wait_for(self._task, TIMEOUT)
        assert self.ended


async def capture_all(source: rtc.AudioSource, samples: np.ndarray, rate: int, channels: int = 1):
    for frame in split_frames(samples, rate, channels):
        await asyncio.wait_for(source.capture_frame(frame), TIMEOUT)


# --------------------------------------------------------------------------
# Capture pacing and the queue
# --------------------------------------------------------------------------


def _timed_captures(queue_size_ms: int, frames: int = 50) -> tuple[float, rtc.AudioSource]:
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=queue_size_ms)
        start = time.monotonic()
        await capture_all(source, sine(440, 48000, 480 * frames), 48000)
        elapsed = time.monotonic() - start
        queued = source.queued_duration
        t0 = time.monotonic()
        await asyncio.wait_for(source.wait_for_playout(), TIMEOUT)
        playout = time.monotonic() - t0
        await source.aclose()
        return elapsed, queued, playout

    return run(main())


def test_queue_0_captures_immediately():
    elapsed, _, _ = _timed_captures(0)
    assert elapsed < 0.25, f"50 direct captures took {elapsed:.3f}s"


def test_queue_100_paces_captures():
    """500 ms of audio into a 100 ms queue: capture must wait for ~400 ms of playout."""
    elapsed, queued, playout = _timed_captures(100)
    assert 0.3 <= elapsed <= 0.8, f"captures took {elapsed:.3f}s"
    assert queued <= 0.15
    assert 0.03 <= playout <= 0.4, f"wait_for_playout took {playout:.3f}s"


def test_queue_1000_absorbs_half_a_second():
    elapsed, queued, playout = _timed_captures(1000)
    assert elapsed < 0.25, f"captures into a 1 s queue took {elapsed:.3f}s"
    assert 0.3 <= queued <= 0.55
    assert 0.3 <= playout <= 0.8, f"wait_for_playout took {playout:.3f}s"


@pytest.mark.parametrize("queue_size_ms", [0, 100, 1000])
@pytest.mark.parametrize("rate,channels", [(16000, 1), (48000, 2)], ids=["wrong-rate", "wrong-channels"])
def test_mismatched_frame_raises(queue_size_ms, rate, channels):
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=queue_size_ms)
        frame = rtc.AudioFrame.create(rate, channels, rate // 100)
        with pytest.raises(Exception):
            await asyncio.wait_for(source.capture_frame(frame), TIMEOUT)
        # The source still works afterwards.
        await asyncio.wait_for(source.capture_frame(rtc.AudioFrame.create(48000, 1, 480)), TIMEOUT)
        await source.aclose()

    run(main())


@pytest.mark.parametrize("samples", [960, 100])
def test_queue_0_requires_10ms_frames(samples):
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=0)
        with pytest.raises(Exception):
            await asyncio.wait_for(source.capture_frame(rtc.AudioFrame.create(48000, 1, samples)), TIMEOUT)
        await source.aclose()

    run(main())


@pytest.mark.parametrize("samples", [960, 100, 4800])
def test_queued_source_accepts_any_frame_length(samples):
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=1000)
        await asyncio.wait_for(source.capture_frame(rtc.AudioFrame.create(48000, 1, samples)), TIMEOUT)
        await source.aclose()

    run(main())


def test_clear_queue_discards_pending_audio():
    """After clear_queue the stream goes silent at once, and playout is immediate."""

    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=1000)
        track = rtc.LocalAudioTrack.create_audio_track("clear", source)
        collector = Collector(rtc.AudioStream(track, sample_rate=48000, num_channels=1))
        await capture_all(source, sine(1000, 48000, 24000), 48000)  # 500 ms queued
        source.clear_queue()
        assert source.queued_duration == 0.0
        t0 = time.monotonic()
        await asyncio.wait_for(source.wait_for_playout(), 1.0)
        assert time.monotonic() - t0 < 0.05
        await asyncio.sleep(0.3)
        await collector.close()
        audible = np.count_nonzero(np.abs(collector.samples()) > 100)
        # At most a few pump ticks of tone got out before the clear.
        assert audible < 48000 * 0.1, f"{audible / 48:.0f} ms of tone played after clear_queue"
        assert len(collector.frames) >= 20, "the pump should keep sending (silent) frames"

    run(main())


# --------------------------------------------------------------------------
# AudioStream on a local track
# --------------------------------------------------------------------------


@pytest.mark.parametrize("queue_size_ms", [0, 100])
@pytest.mark.parametrize(
    "out_rate,out_channels,frame_size_ms",
    [(16000, 1, None), (16000, 1, 20), (48000, 2, None), (24000, 1, 30)],
    ids=["16k-mono", "16k-mono-20ms", "48k-stereo", "24k-mono-30ms"],
)
def test_local_stream_returns_captured_sine(queue_size_ms, out_rate, out_channels, frame_size_ms):
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=queue_size_ms)
        track = rtc.LocalAudioTrack.create_audio_track("sine", source)
        kwargs = {"frame_size_ms": frame_size_ms} if frame_size_ms else {}
        collector = Collector(
            rtc.AudioStream(track, sample_rate=out_rate, num_channels=out_channels, **kwargs)
        )
        tone = sine(1000, 48000, 48000 // 2)  # 500 ms
        await capture_all(source, tone, 48000)
        await asyncio.wait_for(source.wait_for_playout(), TIMEOUT)
        await asyncio.sleep(0.1)
        await collector.close()
        await source.aclose()
        return collector

    collector = run(main())
    frames = collector.frames
    assert frames, "no audio came back from the local track"
    per_frame = out_rate * (frame_size_ms or 10) // 1000
    for f in frames:
        assert (f.sample_rate, f.num_channels, f.samples_per_channel) == (out_rate, out_channels, per_frame)

    out = collector.samples()
    mono = channel(out, 0, out_channels)
    if out_channels == 2:
        assert np.array_equal(channel(out, 1, 2), mono), "mono source should be duplicated"
    loud = np.flatnonzero(np.abs(mono) > 1000)
    assert len(loud) > 0
    start, end = loud[0], loud[-1]
    # ~500 ms of tone arrived, contiguous.
    assert abs((end - start) / out_rate - 0.5) < 0.03, f"{(end - start) / out_rate:.3f}s of tone"
    tone_out = mono[start + out_rate // 20 : end - out_rate // 20]
    assert estimate_frequency(tone_out, out_rate) == pytest.approx(1000, abs=5)
    assert level_db(tone_out) == pytest.approx(level_db(sine(1000, 48000, 4800)), abs=1.0)


def test_direct_source_sends_nothing_when_idle():
    """queue_size_ms=0 has no pump: the stream gets exactly the captured frames."""

    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=0)
        track = rtc.LocalAudioTrack.create_audio_track("direct", source)
        collector = Collector(rtc.AudioStream(track, sample_rate=16000, num_channels=1))
        await capture_all(source, sine(440, 48000, 480 * 50), 48000)
        await asyncio.sleep(0.3)
        await collector.close()
        return collector

    collector = run(main())
    assert len(collector.frames) == 50
    assert len(collector.samples()) == 50 * 160


def test_queued_source_sends_silence_when_idle():
    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=100)
        track = rtc.LocalAudioTrack.create_audio_track("idle", source)
        collector = Collector(rtc.AudioStream(track, sample_rate=48000, num_channels=1))
        await capture_all(source, sine(440, 48000, 480 * 5), 48000)
        await asyncio.wait_for(source.wait_for_playout(), TIMEOUT)
        await asyncio.sleep(0.05)
        mark = len(collector.frames)
        await asyncio.sleep(0.3)
        await collector.close()
        return collector, mark

    collector, mark = run(main())
    idle = collector.frames[mark:]
    assert len(idle) >= 15, f"only {len(idle)} frames in 300 ms of idle"
    assert not np.any(collector.samples(mark)), "idle frames should be silent"


def test_stereo_source_to_mono_stream_averages():
    async def main():
        source = rtc.AudioSource(48000, 2, queue_size_ms=0)
        track = rtc.LocalAudioTrack.create_audio_track("stereo", source)
        collector = Collector(rtc.AudioStream(track, sample_rate=48000, num_channels=1))
        stereo = np.empty(960, np.int16)
        stereo[0::2], stereo[1::2] = 1000, 3000
        for _ in range(5):
            await asyncio.wait_for(source.capture_frame(to_frame(stereo, 48000, 2)), TIMEOUT)
        await asyncio.sleep(0.1)
        await collector.close()
        return collector

    out = run(main()).samples()
    assert len(out) == 5 * 480
    assert np.all(np.abs(out[480:].astype(int) - 2000) <= 2)


def test_aclose_ends_iteration():
    async def main():
        source = rtc.AudioSource(48000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("close", source)
        stream = rtc.AudioStream(track, sample_rate=48000)
        await asyncio.wait_for(stream.aclose(), TIMEOUT)
        # After EOS, iteration stops instead of blocking.
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(stream.__anext__(), TIMEOUT)

    run(main())


def test_dropping_the_track_ends_its_streams():
    """Dropping a track handle sends EOS on every stream made from it.

    The SDK only drops a track handle when the Python object is collected (and
    an AudioStream keeps its track alive), so this reaches for the handle.
    """

    async def main():
        source = rtc.AudioSource(48000, 1, queue_size_ms=0)
        track = rtc.LocalAudioTrack.create_audio_track("drop", source)
        collector = Collector(rtc.AudioStream(track, sample_rate=48000))
        await source.capture_frame(rtc.AudioFrame.create(48000, 1, 480))
        track._ffi_handle.dispose()
        await asyncio.wait_for(collector._task, TIMEOUT)
        assert collector.ended
        await asyncio.wait_for(collector.stream.aclose(), TIMEOUT)

    run(main())
