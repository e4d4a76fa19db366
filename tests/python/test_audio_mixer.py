"""rtc.AudioMixer: pure Python over AudioFrame, but it exercises frame buffers.

Two streams of constant-valued frames must mix to their sum, clipped to int16.
"""

from __future__ import annotations

import asyncio

import numpy as np

from conftest import from_frame
from livekit import rtc

RATE = 48000


async def constant_stream(value: int, frames: int, channels: int = 1):
    samples = np.full(RATE // 100 * channels, value, np.int16)
    for _ in range(frames):
        yield rtc.AudioFrame(samples.tobytes(), RATE, channels, RATE // 100)
        await asyncio.sleep(0)


async def mix(values: list[int], frames: int, channels: int = 1, blocksize: int = 480) -> list[rtc.AudioFrame]:
    mixer = rtc.AudioMixer(RATE, channels, blocksize=blocksize, stream_timeout_ms=200)
    for value in values:
        mixer.add_stream(constant_stream(value, frames, channels))
    mixer.end_input()
    out = []
    async for frame in mixer:
        out.append(frame)
    await mixer.aclose()
    return out


def test_two_constant_streams_sum():
    out = asyncio.run(asyncio.wait_for(mix([1000, 2500], frames=10), 20))
    assert len(out) == 10
    for frame in out:
        assert (frame.sample_rate, frame.num_channels, frame.samples_per_channel) == (RATE, 1, 480)
        assert np.all(from_frame(frame) == 3500)


def test_mix_clips_to_int16():
    out = asyncio.run(asyncio.wait_for(mix([30000, 20000, -1000], frames=3), 20))
    data = np.concatenate([from_frame(f) for f in out])
    assert len(data) == 3 * 480
    assert np.all(data == 32767)


def test_stereo_mix_with_larger_blocks():
    out = asyncio.run(asyncio.wait_for(mix([-700, 200], frames=8, channels=2, blocksize=960), 20))
    data = np.concatenate([from_frame(f) for f in out])
    assert all(f.samples_per_channel == 960 and f.num_channels == 2 for f in out)
    assert len(data) == 8 * 480 * 2
    assert np.all(data == -500)


def test_mixing_frames_from_local_audio_streams():
    """Frames delivered by the library (AudioStream on local tracks) mix to their sum."""

    async def from_track(value: int, frames: int):
        source = rtc.AudioSource(RATE, 1, queue_size_ms=0)
        track = rtc.LocalAudioTrack.create_audio_track(f"mix-{value}", source)
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        samples = np.full(480, value, np.int16)
        for _ in range(frames):
            await source.capture_frame(rtc.AudioFrame(samples.tobytes(), RATE, 1, 480))
        received = 0
        async for event in stream:
            yield event.frame
            received += 1
            if received == frames:
                break
        await stream.aclose()
        await source.aclose()

    async def main():
        mixer = rtc.AudioMixer(RATE, 1, blocksize=480, stream_timeout_ms=500)
        mixer.add_stream(from_track(1000, 10))
        mixer.add_stream(from_track(-3000, 10))
        mixer.end_input()
        out = [frame async for frame in mixer]
        await mixer.aclose()
        return out

    out = asyncio.run(asyncio.wait_for(main(), 20))
    data = np.concatenate([from_frame(f) for f in out])
    assert len(data) == 10 * 480
    assert np.all(data == -2000)
