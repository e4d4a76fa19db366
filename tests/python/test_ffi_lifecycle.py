"""Handle bookkeeping and process lifecycle.

* Many requests in a loop must not leak: every response buffer and every owned
  frame buffer the SDK drops must really be freed (RSS stays flat).
* Handle ids are never 0 and never reused while alive, and dropping any owned
  handle succeeds (the SDK asserts on it).
* A process that used the library exits cleanly: the SDK's atexit hook calls
  livekit_ffi_dispose() with live sources/tracks/streams, and nothing may panic
  or print a Python error on the way out.
"""

from __future__ import annotations

import gc
import time

from conftest import Remixer, describe, run_python, sine, to_frame
from livekit import rtc

T = rtc.VideoBufferType


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def growth_mb(step, warmup: int, iterations: int) -> float:
    for _ in range(warmup):
        step()
    gc.collect()
    before = rss_mb()
    for _ in range(iterations):
        step()
    gc.collect()
    return rss_mb() - before


def test_10k_remix_calls_do_not_leak():
    remix = Remixer()
    frame = to_frame(sine([1000, 440], 48000, 480, channels=2), 48000, 2)  # 1920 bytes

    def step():
        out = remix(frame, 48000, 2)
        assert out.samples_per_channel == 480

    start = time.monotonic()
    grown = growth_mb(step, 1000, 10_000)
    assert grown < 6, f"RSS grew {grown:.1f} MB over 10k calls (~19 MB would be a full leak)"
    assert time.monotonic() - start < 30


def test_video_convert_does_not_leak():
    frame = rtc.VideoFrame(64, 64, T.RGBA, bytes(64 * 64 * 4))

    def step():
        assert len(frame.convert(T.I420).data) == 64 * 64 * 3 // 2

    grown = growth_mb(step, 200, 3000)
    assert grown < 6, f"RSS grew {grown:.1f} MB over 3000 conversions (~18 MB would be a full leak)"


def test_creating_and_dropping_objects_does_not_leak():
    def step():
        resampler = rtc.AudioResampler(48000, 16000, quality=rtc.AudioResamplerQuality.HIGH)
        resampler.push(rtc.AudioFrame.create(48000, 1, 480))
        apm = rtc.AudioProcessingModule(noise_suppression=True)
        apm.process_stream(rtc.AudioFrame.create(48000, 1, 480))
        resampler._ffi_handle.dispose()
        apm._ffi_handle.dispose()

    grown = growth_mb(step, 50, 500)
    assert grown < 15, f"RSS grew {grown:.1f} MB over 500 resampler+APM lifetimes"


def test_handle_ids_are_nonzero_unique_and_droppable():
    objects = [
        rtc.AudioResampler(48000, 16000),
        rtc.AudioProcessingModule(),
        rtc.VideoSource(16, 16),
    ]
    remixers = [Remixer() for _ in range(3)]
    handles = [o._ffi_handle for o in objects] + [r.handle for r in remixers]
    ids = [h.handle for h in handles]
    assert all(i > 0 for i in ids), ids
    assert len(set(ids)) == len(ids), ids
    for h in handles:
        h.dispose()  # FfiHandle.dispose asserts that the library dropped it
        assert h.disposed


CLEAN_EXIT_SNIPPET = """
import asyncio
from livekit import rtc
from conftest import Remixer, sine, split_frames

async def main():
    source = rtc.AudioSource(48000, 1, queue_size_ms=100)
    track = rtc.LocalAudioTrack.create_audio_track("a", source)
    stream = rtc.AudioStream(track, sample_rate=16000)
    for frame in split_frames(sine(440, 48000, 4800), 48000):
        await source.capture_frame(frame)
    vsource = rtc.VideoSource(32, 32)
    vtrack = rtc.LocalVideoTrack.create_video_track("v", vsource)
    vstream = rtc.VideoStream(vtrack)
    vsource.capture_frame(rtc.VideoFrame(32, 32, rtc.VideoBufferType.RGBA, bytes(32 * 32 * 4)))
    resampler = rtc.AudioResampler(48000, 16000)
    resampler.push(rtc.AudioFrame.create(48000, 1, 480))
    apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=True)
    apm.process_stream(rtc.AudioFrame.create(48000, 1, 480))
    remix = Remixer()
    frame = rtc.AudioFrame.create(48000, 1, 480)
    for _ in range(10_000):
        remix(frame, 16000, 1)
    await asyncio.sleep(0.05)
    # Leave everything alive: the atexit hook has to dispose with live handles.
    globals().update(locals())

asyncio.run(main())
print("done")
"""


def _assert_clean(proc) -> None:
    assert proc.returncode == 0, describe(proc)
    assert "done" in proc.stdout, describe(proc)
    err = proc.stderr.lower()
    for bad in ("panic", "exception ignored", "traceback", "assertionerror", "fatal"):
        assert bad not in err, f"{bad!r} in stderr\n{describe(proc)}"


def test_process_exits_cleanly_with_live_objects():
    start = time.monotonic()
    proc = run_python(CLEAN_EXIT_SNIPPET, timeout=60)
    _assert_clean(proc)
    assert time.monotonic() - start < 30, "exit (dispose) took too long"


def test_process_exits_cleanly_after_closing_everything():
    proc = run_python(
        """
        import asyncio
        from livekit import rtc

        async def main():
            source = rtc.AudioSource(48000, 2, queue_size_ms=0)
            track = rtc.LocalAudioTrack.create_audio_track("a", source)
            stream = rtc.AudioStream(track, sample_rate=48000, num_channels=2)
            await source.capture_frame(rtc.AudioFrame.create(48000, 2, 480))
            await stream.aclose()
            await source.aclose()

        asyncio.run(main())
        print("done")
        """
    )
    _assert_clean(proc)


def test_repeated_short_lived_processes():
    """Start-up plus dispose, several times: no intermittent crash at exit."""
    for _ in range(3):
        proc = run_python(
            """
            from livekit import rtc
            out = rtc.VideoFrame(8, 8, rtc.VideoBufferType.RGBA, bytes(256)).convert(rtc.VideoBufferType.I420)
            assert len(out.data) == 96
            print("done")
            """
        )
        _assert_clean(proc)
