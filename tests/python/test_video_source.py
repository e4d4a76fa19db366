"""rtc.VideoSource, and rtc.VideoStream on a LOCAL video track.

Observed official behaviour these tests pin down:
* capture_frame accepts every buffer type; packed RGB is converted to I420 at
  capture, I420A loses its alpha, I422/I444 are kept as they are.
* A stream on the local track receives the captured frames at their own size
  (not the source's declared resolution), converted to the stream's `format`
  when one is given, with the rotation passed through.
* Until the first frame is captured, the source sends black I420 frames of the
  declared resolution at about 10 fps.
* VideoStream.aclose() returns once EOS has arrived. (A reader blocked in
  `async for` is NOT woken by EOS in SDK 1.2.0, so readers are cancelled.)

Official-library crashes (ours must work): a stream that has to convert a
captured NV12 frame hits `unreachable!()`, and one that converts a captured
I010 frame to I420 fails a plane-length assertion; both abort the process.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from conftest import describe, run_python, skip_on_official
from livekit import rtc
from livekit.rtc.video_frame import _get_plane_length

T = rtc.VideoBufferType
TIMEOUT = 10.0
W, H = 64, 48
GREY_RGB = 77  # -> BT.601 limited-range Y of about 82
GREY_Y = 100


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def expected_y(fmt: int) -> float:
    if fmt in (T.RGBA, T.ABGR, T.ARGB, T.BGRA, T.RGB24):
        return 16 + GREY_RGB * 219 / 255
    return GREY_Y


def uniform_frame(fmt: int, w: int = W, h: int = H) -> rtc.VideoFrame:
    """A uniform grey frame: RGB value GREY_RGB, or Y=GREY_Y with neutral chroma."""
    size = _get_plane_length(fmt, w, h)
    if fmt in (T.RGBA, T.ABGR, T.ARGB, T.BGRA, T.RGB24):
        data = np.full(size, GREY_RGB, np.uint8)
        if fmt != T.RGB24:
            px = data.reshape(-1, 4)
            px[:, 0 if fmt in (T.ABGR, T.ARGB) else 3] = 255
        return rtc.VideoFrame(w, h, fmt, data.tobytes())
    if fmt == T.I010:
        data = np.full(size // 2, 512, np.uint16)
        data[: w * h] = GREY_Y * 4
        return rtc.VideoFrame(w, h, fmt, data.tobytes())
    data = np.full(size, 128, np.uint8)
    data[: w * h] = GREY_Y
    if fmt == T.I420A:
        data[-w * h :] = 255
    return rtc.VideoFrame(w, h, fmt, data.tobytes())


class VideoCollector:
    def __init__(self, stream: rtc.VideoStream) -> None:
        self.stream = stream
        self.events: list[rtc.VideoFrameEvent] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.stream:
            self.events.append(event)

    async def close(self) -> None:
        # aclose() awaits the stream's own task, which ends on EOS.
        await asyncio.wait_for(self.stream.aclose(), TIMEOUT)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def capture_and_collect(src_type, stream_format, n=4, declared=(W, H), size=(W, H), **capture_kw):
    source = rtc.VideoSource(*declared)
    track = rtc.LocalVideoTrack.create_video_track("video", source)
    kwargs = {} if stream_format is None else {"format": stream_format}
    collector = VideoCollector(rtc.VideoStream(track, **kwargs))
    await asyncio.sleep(0)
    frame = uniform_frame(src_type, *size)
    for _ in range(n):
        source.capture_frame(frame, **capture_kw)
        await asyncio.sleep(0.04)
    await asyncio.sleep(0.1)
    await collector.close()
    await source.aclose()
    return collector.events


def y_plane(frame: rtc.VideoFrame) -> np.ndarray:
    return np.frombuffer(frame.data, np.uint8)[: frame.width * frame.height]


# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", T.values(), ids=T.Name)
def test_capture_every_buffer_type(fmt):
    async def main():
        source = rtc.VideoSource(W, H)
        track = rtc.LocalVideoTrack.create_video_track("capture", source)
        for i in range(3):
            source.capture_frame(uniform_frame(fmt), timestamp_us=i * 33_333)
            await asyncio.sleep(0.01)
        assert track.kind == rtc.TrackKind.KIND_VIDEO
        await source.aclose()

    run(main())


STREAMABLE = [t for t in T.values() if t not in (T.NV12, T.I010)]


@pytest.mark.parametrize("src_type", STREAMABLE, ids=T.Name)
def test_i420_stream_gets_grey_frames(src_type):
    events = run(capture_and_collect(src_type, T.I420))
    assert len(events) >= 3, f"only {len(events)} frames"
    for ev in events:
        f = ev.frame
        assert (f.width, f.height, f.type) == (W, H, T.I420)
        assert len(f.data) == _get_plane_length(T.I420, W, H)
        y = y_plane(f).astype(int)
        assert np.abs(y - expected_y(src_type)).max() <= 2, f"Y={y.min()}..{y.max()}"
        chroma = np.frombuffer(f.data, np.uint8)[W * H :].astype(int)
        assert np.abs(chroma - 128).max() <= 2


def check_i420_stream(src_name: str) -> None:
    """Subprocess entry point for the types that crash the official library."""
    src_type = getattr(T, src_name)
    events = run(capture_and_collect(src_type, T.I420))
    assert len(events) >= 3, f"only {len(events)} frames"
    for ev in events:
        assert (ev.frame.width, ev.frame.height, ev.frame.type) == (W, H, T.I420)
        y = y_plane(ev.frame).astype(int)
        assert np.abs(y - GREY_Y).max() <= 2, f"Y={y.min()}..{y.max()}"


@skip_on_official("a stream converting a captured NV12/I010 frame panics and aborts the process")
@pytest.mark.parametrize("src_name", ["NV12", "I010"])
def test_i420_stream_from_nv12_and_i010_isolated(src_name):
    proc = run_python(f"import test_video_source as t; t.check_i420_stream({src_name!r}); print('ok')")
    assert proc.returncode == 0 and "ok" in proc.stdout, describe(proc)


@pytest.mark.parametrize(
    "src_type,out_type",
    [(T.I420, T.I420), (T.RGBA, T.I420), (T.BGRA, T.I420), (T.I420A, T.I420), (T.I444, T.I444), (T.I422, T.I422)],
    ids=lambda t: T.Name(t),
)
def test_stream_without_format_keeps_captured_layout(src_type, out_type):
    events = run(capture_and_collect(src_type, None))
    assert len(events) >= 3
    for ev in events:
        assert (ev.frame.width, ev.frame.height, ev.frame.type) == (W, H, out_type)
        assert np.abs(y_plane(ev.frame).astype(int) - expected_y(src_type)).max() <= 2


@pytest.mark.parametrize("out_type", [T.RGBA, T.BGRA], ids=T.Name)
def test_stream_converts_to_requested_rgb_format(out_type):
    events = run(capture_and_collect(T.I420, out_type))
    assert len(events) >= 3
    grey = (GREY_Y - 16) * 255 / 219
    for ev in events:
        f = ev.frame
        assert (f.width, f.height, f.type) == (W, H, out_type)
        px = np.frombuffer(f.data, np.uint8).reshape(H, W, 4).astype(int)
        assert np.abs(px[..., :3] - grey).max() <= 3
        assert np.all(px[..., 3] == 255)


def test_frames_keep_their_own_size():
    """A frame smaller than the declared resolution arrives at its own size."""
    events = run(capture_and_collect(T.RGBA, T.I420, declared=(640, 480), size=(80, 60)))
    assert len(events) >= 3
    assert {(ev.frame.width, ev.frame.height) for ev in events} == {(80, 60)}


def test_rotation_is_passed_through_and_timestamps_increase():
    events = run(
        capture_and_collect(T.I420, T.I420, rotation=rtc.VideoRotation.VIDEO_ROTATION_90)
    )
    assert len(events) >= 3
    assert {ev.rotation for ev in events} == {rtc.VideoRotation.VIDEO_ROTATION_90}
    stamps = [ev.timestamp_us for ev in events]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps


def test_black_frames_before_first_capture():
    async def main():
        source = rtc.VideoSource(W, H)
        track = rtc.LocalVideoTrack.create_video_track("idle", source)
        collector = VideoCollector(rtc.VideoStream(track, format=T.I420))
        await asyncio.sleep(0.45)
        await collector.close()
        await source.aclose()
        return collector.events

    events = run(main())
    assert 2 <= len(events) <= 8, f"{len(events)} idle frames in 450 ms (expected ~10 fps)"
    for ev in events:
        f = ev.frame
        assert (f.width, f.height, f.type) == (W, H, T.I420)
        assert y_plane(f).max() <= 16, "idle frames should be black"
        assert np.abs(np.frombuffer(f.data, np.uint8)[W * H :].astype(int) - 128).max() <= 1


def test_aclose_finishes_without_frames():
    async def main():
        source = rtc.VideoSource(W, H)
        track = rtc.LocalVideoTrack.create_video_track("close", source)
        stream = rtc.VideoStream(track)
        await asyncio.wait_for(stream.aclose(), TIMEOUT)
        await source.aclose()

    run(main())


def test_dropping_the_track_ends_its_streams():
    """EOS follows the drop of the track handle (reached through the SDK's handle)."""

    async def main():
        source = rtc.VideoSource(W, H)
        track = rtc.LocalVideoTrack.create_video_track("drop", source)
        stream = rtc.VideoStream(track)
        source.capture_frame(uniform_frame(T.I420))
        await asyncio.sleep(0.05)
        track._ffi_handle.dispose()
        await asyncio.wait_for(asyncio.shield(stream._task), TIMEOUT)
        await asyncio.wait_for(stream.aclose(), TIMEOUT)
        await source.aclose()

    run(main())


def check_zero_resolution_source() -> None:
    """VideoSource(0, 0): the size comes from the first captured frame."""
    events = run(capture_and_collect(T.RGBA, T.I420, declared=(0, 0), size=(W, H)))
    assert len(events) >= 3, f"only {len(events)} frames"
    assert {(ev.frame.width, ev.frame.height) for ev in events} == {(W, H)}


@skip_on_official("VideoSource(0, 0) aborts the process (WebRTC 'Check failed: width > 0' making idle frames)")
def test_zero_resolution_source_isolated():
    proc = run_python("import test_video_source as t; t.check_zero_resolution_source(); print('ok')")
    assert proc.returncode == 0 and "ok" in proc.stdout, describe(proc)
